# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which workloads a task acts on: the selection options, the objects they name or match,
and running one call per object in threads."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from concurrent.futures import ThreadPoolExecutor

from ansible_collections.golive.core.plugins.module_utils.common.errors import GoliveError, InvalidInput, NotFound
from ansible_collections.golive.core.plugins.module_utils.common.paths import resource_path

KINDS = {"Deployment": ("apps/v1", "deployments"), "StatefulSet": ("apps/v1", "statefulsets")}
MAX_WORKERS = 16


def selection_spec():
    """The options that select workloads (doc fragment ``k8s_selection``)."""
    return dict(
        workloads=dict(type="list", elements="dict", options=dict(
            kind=dict(type="str", default="Deployment", choices=list(KINDS)),
            namespace=dict(type="str", required=True), name=dict(type="str", required=True))),
        label_selector=dict(type="str"),
        namespaces=dict(type="list", elements="str", default=[]),
        kinds=dict(type="list", elements="str", default=["Deployment"], choices=list(KINDS)),
    )


def match_labels(obj):
    """The ``matchLabels`` of a workload's selector (``{}`` when it has none)."""
    return ((obj.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}


def selector_of(obj):
    """A workload's ``matchLabels`` as a ``labelSelector`` query value (``""`` when it has none)."""
    return ",".join("%s=%s" % kv for kv in sorted(match_labels(obj).items()))


def ref(obj):
    return "%s %s/%s" % (obj.get("kind"), obj["metadata"].get("namespace"), obj["metadata"]["name"])


def parallel(func, items, workers=MAX_WORKERS):
    """``[(item, value, error)]`` of ``func(item)`` for every item, in order, run in threads."""
    items = list(items)
    if not items:
        return []
    if len(items) == 1:
        workers = 1

    def call(item):
        try:
            return item, func(item), None
        except GoliveError as exc:
            return item, None, exc

    if workers == 1:
        return [call(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(workers, len(items))) as pool:
        return list(pool.map(call, items))


def workload_path(kind, namespace=None, name=None):
    group_version, plural = KINDS[kind]
    return resource_path(group_version, plural, namespace, name)


def with_kind(obj, like):
    """``obj`` with its ``kind`` (a LIST's items have none)."""
    obj = dict(obj)
    obj.setdefault("kind", like.get("kind", "Deployment"))
    return obj


def select(kube, workloads=None, label_selector=None, namespaces=None, kinds=None, workers=MAX_WORKERS):
    """The workload objects named, or matching ``label_selector`` in ``namespaces`` (all when empty)."""
    found = []
    if workloads:
        for item in workloads:
            if item.get("kind", "Deployment") not in KINDS:
                raise InvalidInput("select", "workload %s" % item.get("name"),
                                   "kind must be one of %s" % ", ".join(sorted(KINDS)))
        answers = parallel(lambda w: kube.get(workload_path(w.get("kind", "Deployment"), w["namespace"], w["name"])),
                           workloads, workers)
        missing = ["%s %s/%s" % (w.get("kind", "Deployment"), w["namespace"], w["name"])
                   for w, obj, err in answers if isinstance(err, NotFound)]
        if missing:
            raise NotFound("find", "workloads to roll", "%s do not exist" % ", ".join(missing))
        for item, obj, err in answers:
            if err is not None:
                raise err
            found.append(with_kind(obj, item))
    if label_selector:
        for kind in kinds or ["Deployment"]:
            for namespace in namespaces or [None]:
                for obj in kube.list(workload_path(kind, namespace), label_selector=label_selector):
                    found.append(with_kind(obj, {"kind": kind}))
    unique = dict((ref(obj), obj) for obj in found)
    if not unique:
        raise NotFound("find", "workloads to roll", "nothing matches %s" % (
            "selector %r in %s" % (label_selector, ", ".join(namespaces or ["every namespace"]))
            if label_selector else "the given names"))
    return [unique[key] for key in sorted(unique)]

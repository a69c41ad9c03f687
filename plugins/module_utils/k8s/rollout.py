# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Roll many Deployments/StatefulSets at once, under one deadline, and undo it.

select (names, or a label selector across namespaces) -> plan (pure: the new pod
template of each workload) -> apply (in parallel; server dry-run in check mode) -> wait
(one deadline for all; one LIST per namespace and kind per poll) -> on timeout, diagnose
each workload that is not there from its Pods and Events. The previous template,
revision, images and replicas of every workload are returned as ``undo`` (and written
ahead to the ledger by the caller), and ``state: undone`` puts them back.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json
import re
import time

from ansible_collections.golive.core.plugins.module_utils.common.errors import (
    Conflict,
    GoliveError,
    InvalidInput,
    NotFound,
    Timeout,
)
from ansible_collections.golive.core.plugins.module_utils.common.journal import NoJournal
from ansible_collections.golive.core.plugins.module_utils.k8s import images as imageref
from ansible_collections.golive.core.plugins.module_utils.common.paths import resource_path
from ansible_collections.golive.core.plugins.module_utils.k8s.diagnose import diagnose, readiness, timeout_message
from ansible_collections.golive.core.plugins.module_utils.k8s.select import (
    MAX_WORKERS,
    parallel,
    ref,
    select,
    selector_of,
    with_kind,
    workload_path,
)

REVISION = "deployment.kubernetes.io/revision"
CHANGE_CAUSE = "kubernetes.io/change-cause"
# Labels and annotations the controllers add to a template copy; never part of a comparison.
_CONTROLLER_LABELS = ("pod-template-hash", "controller-revision-hash")
MASK = "********"
# Literal env values under these names are never copied into results, diffs or the ledger.
_SECRET_ENV = re.compile(r"pass|secret|token|key|credential|auth|private|dsn|_url$|_uri$", re.I)


# -- pure planning ------------------------------------------------------------------------

def merge(base, patch):
    """Strategic-merge-like: dicts merge recursively, lists of named dicts merge by name,
    other values (and other lists) are replaced; ``None`` deletes a key."""
    if isinstance(base, dict) and isinstance(patch, dict):
        out = dict(base)
        for key, value in patch.items():
            if value is None:
                out.pop(key, None)
            elif key in out:
                out[key] = merge(out[key], value)
            else:
                out[key] = copy.deepcopy(value)
        return out
    if isinstance(base, list) and isinstance(patch, list) and all(
            isinstance(x, dict) and "name" in x for x in list(base) + list(patch)):
        out = [copy.deepcopy(x) for x in base]
        index = dict((x["name"], i) for i, x in enumerate(out))
        for item in patch:
            if item["name"] in index:
                out[index[item["name"]]] = merge(out[index[item["name"]]], item)
            else:
                out.append(copy.deepcopy(item))
        return out
    return copy.deepcopy(patch)


def comparable(template):
    """A template without what controllers add, for comparing desired with live."""
    template = copy.deepcopy(template or {})
    labels = (template.get("metadata") or {}).get("labels") or {}
    for key in _CONTROLLER_LABELS:
        labels.pop(key, None)
    meta = template.get("metadata") or {}
    for key in ("creationTimestamp",):
        meta.pop(key, None)
    return template


def containers_of(template):
    spec = (template or {}).get("spec") or {}
    return [c for key in ("initContainers", "containers") for c in spec.get(key) or []]


def images_of(template):
    return dict((c["name"], c.get("image")) for c in containers_of(template))


def set_images(template, images):
    template = copy.deepcopy(template)
    for container in containers_of(template):
        if container["name"] in images:
            container["image"] = images[container["name"]]
    return template


def plan(objects, images=None, template_patch=None, targets=None):
    """Per workload: its template now and the one it must have, and whether they differ.

    ``targets`` maps a workload ref to the exact template to return to (undo); otherwise
    ``images`` (container name -> image) and ``template_patch`` shape the new template.
    Raises ``InvalidInput`` when an image names a container no selected workload has.
    """
    images = images or {}
    if images:
        known = set()
        for obj in objects:
            known.update(images_of(obj["spec"]["template"]))
        unknown = sorted(set(images) - known)
        if unknown:
            raise InvalidInput("plan", "the rollout", "no selected workload has a container named %s (they have: %s)"
                               % (", ".join(unknown), ", ".join(sorted(known)) or "none"))
    steps = []
    for obj in objects:
        current = comparable(obj["spec"]["template"])
        if targets is not None:
            if ref(obj) not in targets:
                raise NotFound("undo", ref(obj), "no recorded template to return to")
            desired = comparable(targets[ref(obj)])
        else:
            desired = set_images(merge(current, template_patch) if template_patch else current, images)
        steps.append({"ref": ref(obj), "object": obj, "before": current, "after": desired,
                      "changed": desired != current})
    return steps


def mask_template(template):
    """``(template, masked)``: literal env values of secret-looking names replaced, and which."""
    template = copy.deepcopy(template)
    masked = []
    for container in containers_of(template):
        for item in container.get("env") or []:
            if "value" in item and item.get("value") not in (None, "") and _SECRET_ENV.search(item.get("name", "")):
                item["value"] = MASK
                masked.append("%s/%s" % (container["name"], item["name"]))
    return template, masked


def unmask(recorded, source):
    """``recorded`` with each masked env value taken from ``source`` (same container and name)."""
    values = dict(((c["name"], e.get("name")), e.get("value")) for c in containers_of(source) for e in c.get("env") or [])
    template = copy.deepcopy(recorded)
    for container in containers_of(template):
        for item in container.get("env") or []:
            if item.get("value") == MASK:
                item["value"] = values.get((container["name"], item.get("name")))
    return template


def record_of(obj):
    """What a rollback needs of a workload: template, revision, images, replicas. Literal
    secret-looking env values are masked (``masked``); an undo takes them back from the
    revision's ReplicaSet."""
    template, masked = mask_template(comparable(obj["spec"]["template"]))
    record = {"kind": obj["kind"], "namespace": obj["metadata"]["namespace"], "name": obj["metadata"]["name"],
              "revision": (obj["metadata"].get("annotations") or {}).get(REVISION),
              "replicas": (obj.get("spec") or {}).get("replicas"),
              "images": images_of(obj["spec"]["template"]),
              "template": template}
    if masked:
        record["masked"] = masked
    return record


# -- talking to the API server -------------------------------------------------------------

class Rollout:
    def __init__(self, kube, workers=MAX_WORKERS, poll=0.25):
        self.kube = kube
        self.workers = workers
        self.poll = poll

    def _path(self, kind, namespace=None, name=None):
        return workload_path(kind, namespace, name)

    def select(self, workloads=None, label_selector=None, namespaces=None, kinds=None):
        """The workload objects named, or matching ``label_selector`` (see ``select.select``)."""
        return select(self.kube, workloads, label_selector, namespaces, kinds, self.workers)

    def apply(self, steps, change_cause=None, dry_run=False):
        """PUT the new template of every changed workload (re-read and re-apply on 409)."""
        def one(step):
            obj = step["object"]
            for attempt in range(5):
                body = copy.deepcopy(obj)
                body["spec"]["template"] = step["after"]
                body.pop("status", None)
                if change_cause:
                    body["metadata"].setdefault("annotations", {})[CHANGE_CAUSE] = change_cause
                query = {"dryRun": "All"} if dry_run else None
                try:
                    return self.kube.request("PUT", self._path(obj["kind"], obj["metadata"]["namespace"],
                                                               obj["metadata"]["name"]),
                                             query=query, body=body, what="update %s" % step["ref"])
                except Conflict:
                    obj = with_kind(self.kube.get(self._path(obj["kind"], obj["metadata"]["namespace"],
                                                             obj["metadata"]["name"])), obj)
            raise Conflict("update", step["ref"], "it kept changing under us", retryable=False)

        answers = parallel(one, [s for s in steps if s["changed"]], self.workers)
        errors = ["%s: %s" % (step["ref"], err.cause) for step, answer, err in answers if err is not None]
        applied = dict((step["ref"], with_kind(obj, step["object"])) for step, obj, err in answers if err is None)
        return applied, errors

    def wait(self, objects, deadline):
        """Poll until every workload has rolled out; return ``(done, pending)`` refs->objects."""
        groups = {}
        for obj in objects:
            groups.setdefault((obj["kind"], obj["metadata"]["namespace"]), set()).add(obj["metadata"]["name"])
        latest = dict((ref(o), o) for o in objects)
        pending = set(latest)
        delay = self.poll
        while True:
            for (kind, namespace), names in groups.items():
                if not any("%s %s/%s" % (kind, namespace, n) in pending for n in names):
                    continue
                items = self.kube.get(self._path(kind, namespace))
                for item in (items or {}).get("items") or []:
                    key = "%s %s/%s" % (kind, namespace, item["metadata"]["name"])
                    if key in pending:
                        item = with_kind(item, {"kind": kind})
                        latest[key] = item
                        if readiness(item)[0]:
                            pending.discard(key)
            if not pending or deadline.remaining() <= 0:
                return latest, pending
            time.sleep(min(delay, max(deadline.remaining(), 0.01)))
            delay = min(1.0, delay * 1.2)

    def diagnose(self, obj, max_pods=5):
        """Why a workload is not there (see ``diagnose.diagnose``)."""
        return diagnose(self.kube, obj, images_of(comparable(obj["spec"]["template"])), max_pods)

    def recorded_template(self, obj, recorded, warnings):
        """The template a recorded undo returns ``obj`` to, with masked values filled in."""
        if not recorded.get("masked"):
            return recorded["template"]
        if obj["kind"] == "Deployment" and str(recorded.get("revision") or "").isdigit():
            try:
                template = self.revision_template(obj, int(recorded["revision"]))[0]
            except NotFound:
                template = None
            if template is not None and mask_template(template)[0] == recorded["template"]:
                return template
        warnings.append("%s: the recorded template's masked values (%s) were taken from the live template" % (
            ref(obj), ", ".join(recorded["masked"])))
        return unmask(recorded["template"], obj["spec"]["template"])

    def revision_template(self, obj, revision=None):
        """The template of a Deployment's ``revision`` (default: the one before the current)."""
        if obj["kind"] != "Deployment":
            raise InvalidInput("undo", ref(obj), "a revision can only be chosen for Deployments; "
                                                 "pass the recorded template (the ledger) instead")
        owned = [rs for rs in self.kube.list(resource_path("apps/v1", "replicasets", obj["metadata"]["namespace"]),
                                             label_selector=selector_of(obj))
                 if any(o.get("uid") == obj["metadata"].get("uid")
                        for o in rs["metadata"].get("ownerReferences") or [])]
        by_revision = {}
        for rs in owned:
            value = (rs["metadata"].get("annotations") or {}).get(REVISION)
            if value and value.isdigit():
                by_revision[int(value)] = rs
        current = int((obj["metadata"].get("annotations") or {}).get(REVISION) or 0)
        if revision is None:
            older = [r for r in by_revision if r < current]
            if not older:
                raise NotFound("undo", ref(obj), "it has no revision before %d" % current)
            revision = max(older)
        if int(revision) not in by_revision:
            raise NotFound("undo", ref(obj), "revision %s is not in its history (%s)" % (
                revision, ", ".join(str(r) for r in sorted(by_revision)) or "empty"))
        return comparable(by_revision[int(revision)]["spec"]["template"]), int(revision)


def template_images(template):
    """``{container: image}`` a pod template patch sets (empty when it sets none)."""
    spec = ((template or {}).get("spec") or {}) if isinstance(template, dict) else {}
    found = {}
    for key in ("initContainers", "containers"):
        for container in spec.get(key) or []:
            if isinstance(container, dict) and "image" in container:
                found[container.get("name") or "?"] = container["image"]
    return found


def undo_workloads(undo):
    """The workloads a recorded undo names (``state: undone`` needs no other selection)."""
    return [dict((k, w.get(k)) for k in ("kind", "namespace", "name")) for w in (undo or {}).get("workloads") or []
            if w.get("namespace") and w.get("name")]


def roll(kube, workloads=None, label_selector=None, namespaces=None, kinds=None, images=None, template=None,
         state="present", undo=None, revision=None, change_cause=None, wait=True, timeout=300,
         check_mode=False, recorder=None, workers=MAX_WORKERS, image_policy=None):
    """Roll the selected workloads; return the module result (see ``k8s_rollout``)."""
    started = time.monotonic()
    journal = recorder or NoJournal()
    warnings = []
    if state != "undone":
        # Before anything is read or patched: an image that cannot be pulled, or that the
        # inventory's rules refuse, stops the rollout here.
        given = dict(images or {})
        given.update(template_images(template))
        warnings.extend(imageref.require_valid(given, image_policy))
    elif not workloads and not label_selector:
        workloads = undo_workloads(undo)
    if not workloads and not label_selector:
        raise InvalidInput("select", "the workloads to roll", "give workloads or label_selector%s" % (
            " (or, with state=undone, an undo that names its workloads)" if state == "undone" else ""))
    engine = Rollout(kube, workers=workers)
    objects = engine.select(workloads, label_selector, namespaces, kinds)
    targets = None
    if state == "undone":
        targets = {}
        recorded = dict(("%s %s/%s" % (w["kind"], w["namespace"], w["name"]), w) for w in (undo or {}).get(
            "workloads", [])) if undo else None
        for obj in objects:
            if recorded is not None and ref(obj) in recorded:
                targets[ref(obj)] = engine.recorded_template(obj, recorded[ref(obj)], warnings)
            elif recorded is None:
                targets[ref(obj)] = engine.revision_template(obj, revision)[0]
            else:
                raise NotFound("undo", ref(obj), "the recorded undo does not name it")
    elif not images and not template:
        raise InvalidInput("plan", "the rollout", "give images, template, or state=undone")
    steps = plan(objects, images, template, targets)
    changed = [s for s in steps if s["changed"]]
    undo_data = {"module": "golive.core.k8s_rollout", "state": "undone",
                 "workloads": [record_of(s["object"]) for s in changed]}
    result = {"changed": bool(changed), "workloads": [], "undo": undo_data, "warnings": warnings,
              "diff": [{"before_header": s["ref"], "after_header": s["ref"], "before": _text(mask_template(s["before"])[0]),
                        "after": _text(mask_template(s["after"])[0])} for s in changed]}
    inputs = {"state": state, "images": images, "template": template, "targets": sorted(targets or {}),
              "objects": [s["ref"] for s in steps], "revision": revision}
    before = dict((s["ref"], {"images": images_of(s["before"]), "revision": record_of(s["object"])["revision"],
                              "replicas": s["object"]["spec"].get("replicas")}) for s in steps)
    with journal.step(inputs, pending=bool(changed), objects=[s["ref"] for s in steps], undo=undo_data,
                      before=before) as outcome:
        outcome.update(changed=result["changed"], undo=undo_data)
        _apply_and_wait(kube, engine, steps, result, change_cause if changed else None, wait, check_mode, outcome,
                        started)
    return result


def _apply_and_wait(kube, engine, steps, result, change_cause, wait, check_mode, outcome, started):
    applied, errors = engine.apply(steps, change_cause=change_cause, dry_run=check_mode)
    latest = dict((s["ref"], applied.get(s["ref"], s["object"])) for s in steps)
    if errors:
        raise GoliveError("update", "%d workload(s)" % len(errors), "; ".join(errors), result=result)
    pending = set()
    if wait and not check_mode:
        latest, pending = engine.wait(list(latest.values()), kube.deadline)
    diagnoses = {}
    for key in sorted(pending):
        done, missing = readiness(latest[key])
        diag = engine.diagnose(latest[key])
        diag["missing"] = missing
        diagnoses[key] = diag
    for s in steps:
        obj = latest[s["ref"]]
        entry = {"workload": s["ref"], "changed": s["changed"], "images": images_of(s["after"]),
                 "revision": (obj["metadata"].get("annotations") or {}).get(REVISION),
                 "replicas": (obj.get("spec") or {}).get("replicas"),
                 "rolled_out": None if (check_mode or not wait) else s["ref"] not in pending}
        if s["ref"] in diagnoses:
            entry["diagnosis"] = diagnoses[s["ref"]]
        result["workloads"].append(entry)
    result["duration"] = round(time.monotonic() - started, 3)
    result["requests"] = kube.requests
    outcome["after"] = dict((w["workload"], {"images": w["images"], "revision": w["revision"]})
                            for w in result["workloads"]) or None
    if pending:
        raise Timeout("roll out", "%d workload(s)" % len(steps),
                      timeout_message(pending, diagnoses, int(kube.deadline.seconds)),
                      fix="The previous version keeps serving; undo with state=undone (the ledger holds the "
                          "previous templates)", result=result)


def _text(value):
    return json.dumps(value, indent=2, sort_keys=True) + "\n"

# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Server-side apply of manifests, with a dry run first so that check mode, diff and
idempotence all rest on what the API server itself would do.

For each object: GET the live object, ask the server for the applied result with
``dryRun=All``, and compare the two with server-managed fields stripped. Equal means
unchanged (nothing is sent for real); otherwise the same apply is sent without the dry
run. The ``undo`` list says how to reverse each change: delete what was created,
re-apply the previous state of what was updated.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible_collections.golive.core.plugins.module_utils.common.errors import InvalidInput, NotFound
from ansible_collections.golive.core.plugins.module_utils.common.journal import NoJournal
from ansible_collections.golive.core.plugins.module_utils.common.paths import resource_path

VOLATILE_METADATA = ("resourceVersion", "uid", "creationTimestamp", "generation", "managedFields", "selfLink")
VOLATILE_ANNOTATIONS = ("kubectl.kubernetes.io/last-applied-configuration", "deployment.kubernetes.io/revision")
MASK = "********"


class Discovery:
    """Kind -> resource lookups from the API's discovery documents, one request per group version."""

    def __init__(self, kube):
        self.kube = kube
        self._cache = {}

    def resource(self, api_version, kind):
        if api_version not in self._cache:
            path = "/api/%s" % api_version if "/" not in api_version else "/apis/%s" % api_version
            try:
                doc = self.kube.request("GET", path, what="discovery of %s" % api_version) or {}
            except NotFound:
                raise InvalidInput("apply", "a %s of %s" % (kind, api_version),
                                   "the API server does not serve %s (is its CRD installed?)" % api_version)
            self._cache[api_version] = dict((r["kind"], r) for r in doc.get("resources") or [] if "/" not in r["name"])
        found = self._cache[api_version].get(kind)
        if found is None:
            raise InvalidInput("apply", "a %s of %s" % (kind, api_version),
                               "the API server has no kind %s in %s" % (kind, api_version))
        return found["name"], bool(found.get("namespaced"))


def describe(obj):
    meta = obj.get("metadata") or {}
    name = "%s/%s" % (meta["namespace"], meta.get("name")) if meta.get("namespace") else meta.get("name")
    return "%s %s" % (obj.get("kind"), name)


def normalize(obj):
    """The object without what the server manages, for comparing intent with state."""
    if obj is None:
        return None
    out = copy.deepcopy(obj)
    out.pop("status", None)
    meta = out.get("metadata") or {}
    for key in VOLATILE_METADATA:
        meta.pop(key, None)
    annotations = meta.get("annotations") or {}
    for key in VOLATILE_ANNOTATIONS:
        annotations.pop(key, None)
    if "annotations" in meta and not annotations:
        meta.pop("annotations")
    return out


def mask_secret(obj):
    """A copy of ``obj`` with Secret values replaced, for diffs and the ledger."""
    if obj is None or obj.get("kind") != "Secret":
        return obj
    out = copy.deepcopy(obj)
    for field in ("data", "stringData"):
        if isinstance(out.get(field), dict):
            out[field] = dict((k, MASK) for k in out[field])
    return out


def secret_values(manifests):
    """Every value held by a Secret manifest, so the entry point can mask them in its output."""
    values = set()
    for manifest in flatten(manifests):
        if isinstance(manifest, dict) and manifest.get("kind") == "Secret":
            for field in ("data", "stringData"):
                for value in (manifest.get(field) or {}).values():
                    if isinstance(value, str) and value:
                        values.add(value)
    return values


def _validate(manifest, default_namespace):
    if not isinstance(manifest, dict) or not manifest.get("apiVersion") or not manifest.get("kind"):
        raise InvalidInput("apply", "a manifest", "every manifest needs apiVersion and kind")
    if not (manifest.get("metadata") or {}).get("name"):
        raise InvalidInput("apply", "a %s manifest" % manifest.get("kind"), "metadata.name is missing")
    manifest = copy.deepcopy(manifest)
    if default_namespace and not manifest["metadata"].get("namespace"):
        manifest["metadata"]["namespace"] = default_namespace
    return manifest


def flatten(manifests):
    """Expand ``kind: List`` documents (as kubectl does) and drop empty documents."""
    out = []
    for manifest in manifests or []:
        if isinstance(manifest, dict) and manifest.get("kind") == "List" and "items" in manifest:
            out.extend(flatten(manifest.get("items")))
        elif manifest:
            out.append(manifest)
    return out


def apply_manifests(kube, manifests, default_namespace=None, state="present", field_manager="golive.core",
                    force=True, check_mode=False, recorder=None):
    """Apply (or delete) every manifest in order, each dry-run first. Every manifest is
    validated before anything changes; the journal's step names them all before the first
    change, and its outcome holds the exact undo of what changed (of what changed before a
    failure, too)."""
    journal = recorder or NoJournal()
    discovery = Discovery(kube)
    checked = [_validate(raw, default_namespace) for raw in flatten(manifests) if raw is not None]
    results, diffs, undo = [], [], []
    named = [describe(m) for m in checked]
    with journal.step({"state": state, "objects": named}, objects=named) as outcome:
        outcome.update(changed=False, undo={"module": "golive.core.k8s_apply", "steps": undo})
        for manifest in checked:
            plural, namespaced = discovery.resource(manifest["apiVersion"], manifest["kind"])
            namespace = manifest["metadata"].get("namespace") if namespaced else None
            if namespaced and not namespace:
                raise InvalidInput("apply", describe(manifest), "a namespaced kind needs metadata.namespace or namespace")
            if not namespaced:
                manifest["metadata"].pop("namespace", None)
            path = resource_path(manifest["apiVersion"], plural, namespace, manifest["metadata"]["name"])
            live = kube.get(path, missing_ok=True)
            if state == "absent":
                entry, change, act = _delete(kube, path, manifest, live)
            else:
                entry, change, act = _apply(kube, path, manifest, live, field_manager, force)
            results.append(entry)
            if change is not None:
                if not check_mode:
                    act()
                diffs.append(change["diff"])
                undo.append(change["undo"])
                outcome["changed"] = True
        outcome["after"] = [r for r in results if r["action"] not in ("unchanged", "absent")]
    return {"changed": bool(undo), "results": results, "diff": diffs, "undo": undo}


def _apply(kube, path, manifest, live, field_manager, force):
    """``(entry, change, act)``: what applying ``manifest`` changes (from a server-side dry
    run) and the call that applies it."""
    query = {"fieldManager": field_manager, "dryRun": "All"}
    if force:
        query["force"] = "true"
    body = manifest  # the client serialises it (JSON is valid apply YAML)
    preview = kube.request("PATCH", path, query=query, body=body, content_type="application/apply-patch+yaml",
                           what="apply %s (dry run)" % describe(manifest))
    before, after = normalize(live), normalize(preview)
    entry = {"kind": manifest["kind"], "namespace": manifest["metadata"].get("namespace"),
             "name": manifest["metadata"]["name"]}
    if before == after:
        entry["action"] = "unchanged"
        return entry, None, None
    entry["action"] = "created" if live is None else "updated"
    real = dict((k, v) for k, v in query.items() if k != "dryRun")

    def act():
        kube.request("PATCH", path, query=real, body=body, content_type="application/apply-patch+yaml",
                     what="apply %s" % describe(manifest))

    diff = {"before_header": describe(manifest), "after_header": describe(manifest),
            "before": mask_secret(before) or {}, "after": mask_secret(after)}
    if live is None:
        undo = {"action": "delete", "path": path, "object": describe(manifest)}
    else:
        undo = {"action": "apply", "path": path, "object": describe(manifest), "manifest": mask_secret(before),
                "secret_values_masked": manifest["kind"] == "Secret"}
    return entry, {"diff": diff, "undo": undo}, act


def _delete(kube, path, manifest, live):
    entry = {"kind": manifest["kind"], "namespace": manifest["metadata"].get("namespace"),
             "name": manifest["metadata"]["name"]}
    if live is None:
        entry["action"] = "absent"
        return entry, None, None
    entry["action"] = "deleted"
    kube.request("DELETE", path, query={"dryRun": "All"}, what="delete %s (dry run)" % describe(manifest))

    def act():
        kube.request("DELETE", path, what="delete %s" % describe(manifest))

    before = normalize(live)
    return entry, {"diff": {"before_header": describe(manifest), "before": mask_secret(before), "after": {}},
                   "undo": {"action": "apply", "path": path, "object": describe(manifest),
                            "manifest": mask_secret(before), "secret_values_masked": manifest["kind"] == "Secret"}}, act

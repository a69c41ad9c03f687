"""API semantics over the store: create/update/patch/delete with resourceVersion checks,
generation, status subresource rules, finalizers, defaults and CRD registration."""

from __future__ import annotations

import copy
import datetime as dt
import json
import random
import re
import uuid

import yaml

from . import managed, validation
from . import patch as patching
from .errors import ApiError, already_exists, conflict, invalid, not_found, now_iso, precondition_failed
from .resources import Registry, Resource, VIRTUAL
from .store import Entry, Store
from .tokens import Tokens

NAME_RE = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")

PATCH_TYPES = {
    "application/merge-patch+json": "merge",
    "application/json-patch+json": "json",
    "application/strategic-merge-patch+json": "strategic",
    "application/apply-patch+yaml": "apply",
    "application/apply-patch+cbor": "apply",
}


def _rand(n: int = 5) -> str:
    return "".join(random.choices("bcdfghjklmnpqrstvwxz2456789", k=n))


def drop_nulls(value):
    if isinstance(value, dict):
        return {k: drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [drop_nulls(v) for v in value]
    return value


def _copy(entry: Entry) -> dict:
    """A private mutable copy of a stored object (decoded from its cached JSON)."""
    return json.loads(entry.raw)


class Cluster:
    def __init__(self, registry: Registry | None = None, store: Store | None = None) -> None:
        self.registry = registry or Registry()
        self.store = store or Store()
        self.tokens = Tokens(self.store)  # ServiceAccount tokens (lab/k8s/tokens.py)
        self.ip_counter = 10
        # Server-side apply: the last configuration each field manager applied, per object uid.
        self.applied: dict[tuple[str, str], dict] = {}

    # -- reads ---------------------------------------------------------------------------
    def get_entry(self, res: Resource, namespace: str, name: str) -> Entry:
        entry = self.store.get(res.key, namespace if res.namespaced else "", name)
        if entry is None:
            raise not_found(res, name)
        return entry

    def get(self, res: Resource, namespace: str, name: str) -> dict | None:
        entry = self.store.get(res.key, namespace if res.namespaced else "", name)
        return None if entry is None else entry.obj

    def get_copy(self, res: Resource, namespace: str, name: str) -> dict | None:
        entry = self.store.get(res.key, namespace if res.namespaced else "", name)
        return None if entry is None else _copy(entry)

    def kind(self, kind: str) -> Resource:
        res = self.registry.find_kind(kind)
        if res is None:
            raise KeyError(kind)
        return res

    # -- create --------------------------------------------------------------------------
    def create(self, res: Resource, namespace: str | None, body: dict, dry_run: bool = False,
               manager: str | None = None, applied: dict | None = None) -> dict:
        if res.plural in VIRTUAL:
            raise ApiError(405, "virtual resource")
        if not isinstance(body, dict):
            raise ApiError(400, "the body of the request was in an unknown format")
        obj = drop_nulls(body)
        meta = obj.setdefault("metadata", {})
        if meta is None:
            meta = obj["metadata"] = {}
        if not meta.get("name"):
            if meta.get("generateName"):
                meta["name"] = meta["generateName"] + _rand()
            else:
                raise invalid(res, "", "name or generateName is required", "metadata.name")
        name = meta["name"]
        if not NAME_RE.match(name) and res.kind not in ("Node",) and ":" not in name:
            raise invalid(res, name, "a lowercase RFC 1123 subdomain must consist of lower case "
                          "alphanumeric characters, '-' or '.'", "metadata.name")
        if res.namespaced:
            ns = namespace or meta.get("namespace") or "default"
            if meta.get("namespace") and namespace and meta["namespace"] != namespace:
                raise ApiError(400, "the namespace of the provided object does not match the "
                                    "namespace sent on the request")
            meta["namespace"] = ns
            ns_obj = self.store.get(("", "namespaces"), "", ns)
            if ns_obj is None:
                raise ApiError(404, f'namespaces "{ns}" not found',
                               details={"name": ns, "kind": "namespaces"})
            if ns_obj.obj["metadata"].get("deletionTimestamp"):
                raise ApiError(403, f'{res.plural} "{name}" is forbidden: unable to create new content '
                                    f'in namespace {ns} because it is being terminated', "Forbidden")
        else:
            meta.pop("namespace", None)
            ns = ""
        obj["apiVersion"] = res.api_version
        obj["kind"] = res.kind
        with self.store.lock:
            if self.store.get(res.key, ns, name) is not None:
                raise already_exists(res, name)
            meta["uid"] = str(uuid.uuid4())
            meta["creationTimestamp"] = now_iso()
            for k in ("resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds",
                      "managedFields", "selfLink"):
                meta.pop(k, None)
            if (res.has_status or res.crd) and not (res.kind == "Pod" and not res.group):
                meta["generation"] = 1  # v1.30 Pods carry no generation
            if res.has_status and not res.crd and res.kind not in ("Node", "Namespace", "Pod"):
                # Status is not set through the main resource (controllers and scenarios
                # use the status subresource or the preload path).
                obj.pop("status", None)
            self._defaults(res, obj)
            if res.kind == "Pod" and not res.group and not res.crd:
                self._admit_pod(obj, ns, name)
            if not res.crd:
                _initial_status(res, obj)
            self._validate(res, obj)
            validation.on_write(res, obj, None)
            if applied is not None:
                managed.after_apply(res, obj, [], applied, manager)
            elif manager:
                managed.after_update(res, obj, None, manager)
            if dry_run:
                meta["resourceVersion"] = str(self.store.rv)
                return obj
            entry = self.store.put(res.key, obj, "ADDED")
            self._after_write(res, entry.obj, None)
            return entry.obj

    def preload(self, res: Resource, body: dict) -> dict:
        """Create keeping the given status (scenario loading)."""
        status = body.get("status")
        with self.store.lock:  # controllers must not slip in between create and status
            obj = self.create(res, body.get("metadata", {}).get("namespace"), body)
            if status is not None and res.has_status:
                fresh = _copy(self.get_entry(res, obj["metadata"].get("namespace", ""), obj["metadata"]["name"]))
                fresh["status"] = status
                obj = self.update(res, fresh["metadata"].get("namespace", ""), fresh["metadata"]["name"],
                                  fresh, subresource="status")
        return obj

    # -- update --------------------------------------------------------------------------
    def update(self, res: Resource, namespace: str, name: str, body: dict, dry_run: bool = False,
               subresource: str | None = None, check_rv: bool = True, manager: str | None = None,
               fields_set: bool = False) -> dict:
        if not isinstance(body, dict):
            raise ApiError(400, "the body of the request was in an unknown format")
        with self.store.lock:
            entry = self.get_entry(res, namespace, name)
            old = entry.obj
            new = drop_nulls(body)
            meta = new.get("metadata") or {}
            new["metadata"] = meta
            if meta.get("name") and meta["name"] != name:
                raise ApiError(400, f'the name of the object ({meta["name"]}) does not match the name '
                                    f'on the URL ({name})')
            if check_rv and meta.get("resourceVersion") and meta["resourceVersion"] != old["metadata"]["resourceVersion"]:
                raise conflict(res, name)
            if subresource == "status":
                merged = copy.deepcopy(old)
                if "status" in new:
                    merged["status"] = new["status"]
                else:
                    merged.pop("status", None)
                new = merged
            else:
                if res.has_status:  # status changes only through the status subresource
                    if "status" in old:
                        new["status"] = copy.deepcopy(old["status"])
                    else:
                        new.pop("status", None)
                for k in ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds",
                          "namespace", "generation"):
                    if k in old["metadata"]:
                        meta[k] = old["metadata"][k]
                    else:
                        meta.pop(k, None)
                meta["name"] = name
                new["apiVersion"] = old.get("apiVersion", res.api_version)
                new["kind"] = res.kind
                if res.kind == "Service" and not res.group and isinstance(new.get("spec"), dict):
                    # An update that leaves the cluster IP out keeps the allocated one.
                    for key in ("clusterIP", "clusterIPs"):
                        if key in (old.get("spec") or {}) and not new["spec"].get(key):
                            new["spec"][key] = copy.deepcopy(old["spec"][key])
                self._defaults(res, new, update=True)
                self._validate(res, new)
                validation.on_write(res, new, old)
                if "generation" in old["metadata"] and self._spec_changed(old, new):
                    meta["generation"] = old["metadata"]["generation"] + 1
            new["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"]
            if fields_set and subresource is None:
                pass  # an apply: its field ownership is already written
            elif manager and subresource is None:
                managed.after_update(res, new, old, manager)
            else:
                managed.keep(new, old)
            if _without_fields(new) == _without_fields(old):
                return old
            if dry_run:
                return new
            if new["metadata"].get("deletionTimestamp") and not new["metadata"].get("finalizers"):
                final = self.store.remove(res.key, namespace if res.namespaced else "", name)
                self._after_delete(res, final.obj)
                return final.obj
            entry = self.store.put(res.key, new, "MODIFIED", old)
            self._after_write(res, entry.obj, old)
            return entry.obj

    @staticmethod
    def _spec_changed(old: dict, new: dict) -> bool:
        skip = ("metadata", "status", "apiVersion", "kind")
        return {k: v for k, v in old.items() if k not in skip} != {k: v for k, v in new.items() if k not in skip}

    def patch(self, res: Resource, namespace: str, name: str, ptype: str, body, dry_run: bool = False,
              subresource: str | None = None, field_manager: str = "", force: bool = False) -> tuple[dict, bool]:
        """Apply a patch; returns (object, created)."""
        with self.store.lock:
            entry = self.store.get(res.key, namespace if res.namespaced else "", name)
            if entry is None:
                if ptype == "apply" and subresource is None:
                    obj = patching.strategic_merge({}, body)
                    obj.setdefault("metadata", {})["name"] = name
                    created = self.create(res, namespace, obj, dry_run=dry_run, manager=field_manager,
                                          applied=body)
                    if not dry_run:
                        self.applied[(created["metadata"]["uid"], field_manager)] = copy.deepcopy(body)
                    return created, True
                raise not_found(res, name)
            current = _copy(entry)
            fields = None
            if ptype == "apply" and isinstance(body, dict) and subresource is None:
                fields = managed.on_apply(res, name, current, body, field_manager, force)
            if ptype == "apply" and isinstance(body, dict):
                # Fields this manager applied before and no longer applies are removed.
                previous = self.applied.get((entry.obj["metadata"]["uid"], field_manager))
                if previous is not None:
                    current = patching.remove_unapplied(current, previous, body)
                if not dry_run:
                    self.applied[(entry.obj["metadata"]["uid"], field_manager)] = copy.deepcopy(body)
            if ptype == "merge":
                if not isinstance(body, dict):
                    raise ApiError(400, "merge patch must be a JSON object")
                new = patching.merge_patch(current, body)
            elif ptype == "json":
                if not isinstance(body, list):
                    raise ApiError(400, "json patch must be a JSON array")
                new = patching.json_patch(current, body)
            elif ptype in ("strategic", "apply"):
                if not isinstance(body, dict):
                    raise ApiError(400, "strategic merge patch must be a JSON object")
                if ptype == "strategic" and res.crd:
                    raise ApiError(415, "strategic merge patch is not supported for custom resources",
                                   "UnsupportedMediaType")
                if ptype == "apply":
                    body = copy.deepcopy(body)
                    (body.get("metadata") or {}).pop("resourceVersion", None)
                new = patching.strategic_merge(current, body)
            else:
                raise ApiError(415, f"unsupported patch type {ptype}", "UnsupportedMediaType")
            if not isinstance(new, dict):
                raise ApiError(422, "patch produced an invalid object", "Invalid")
            rv_in_patch = (body.get("metadata") or {}).get("resourceVersion") if isinstance(body, dict) else None
            if ptype == "json":
                rv_in_patch = new.get("metadata", {}).get("resourceVersion")
                if rv_in_patch == entry.obj["metadata"]["resourceVersion"]:
                    rv_in_patch = None
            if rv_in_patch and rv_in_patch != entry.obj["metadata"]["resourceVersion"]:
                raise conflict(res, name)
            new.setdefault("metadata", {})["resourceVersion"] = entry.obj["metadata"]["resourceVersion"]
            if fields is not None:
                managed.after_apply(res, new, fields, body, field_manager)
            return self.update(res, namespace, name, new, dry_run=dry_run, subresource=subresource,
                               manager=None if fields is not None else field_manager,
                               fields_set=fields is not None), False

    # -- delete --------------------------------------------------------------------------
    def delete(self, res: Resource, namespace: str, name: str, propagation: str | None = None,
               dry_run: bool = False, preconditions: dict | None = None, grace: int | None = None) -> dict:
        with self.store.lock:
            entry = self.get_entry(res, namespace, name)
            obj = entry.obj
            pre = preconditions or {}
            if pre.get("uid") and pre["uid"] != obj["metadata"].get("uid"):
                raise precondition_failed(res, name, "UID", pre["uid"], obj["metadata"].get("uid"))
            if pre.get("resourceVersion") and pre["resourceVersion"] != obj["metadata"]["resourceVersion"]:
                raise precondition_failed(res, name, "ResourceVersion", pre["resourceVersion"],
                                          obj["metadata"]["resourceVersion"])
            if dry_run:
                return obj
            if res.kind == "Namespace" and name in SYSTEM_NAMESPACES:
                raise ApiError(403, f'namespaces "{name}" is forbidden: this namespace may not be deleted',
                               "Forbidden")
            uid = obj["metadata"]["uid"]
            if propagation == "Orphan":
                self._orphan(uid)
            finalizers = list(obj["metadata"].get("finalizers") or [])
            if propagation == "Foreground" and self.store.dependents(uid):
                finalizers.append("foregroundDeletion")
            if res.kind == "Namespace":
                new = _copy(entry)
                if not new["metadata"].get("deletionTimestamp"):
                    new["metadata"]["deletionTimestamp"] = now_iso()
                    new["metadata"]["deletionGracePeriodSeconds"] = 0
                    new.setdefault("status", {})["phase"] = "Terminating"
                    entry = self.store.put(res.key, new, "MODIFIED", obj)
                    self._after_write(res, entry.obj, obj)
                return entry.obj
            graceful = self._grace(res, obj, grace)
            if graceful:
                # A Pod on a node ends gracefully: it is Terminating (deletionTimestamp in the
                # future) until its kubelet has stopped it, within the grace period.
                if obj["metadata"].get("deletionTimestamp"):
                    return obj
                new = _copy(entry)
                new["metadata"]["deletionTimestamp"] = _later_iso(graceful)
                new["metadata"]["deletionGracePeriodSeconds"] = graceful
                if finalizers:
                    new["metadata"]["finalizers"] = finalizers
                entry = self.store.put(res.key, new, "MODIFIED", obj)
                self._after_write(res, entry.obj, obj)
                return entry.obj
            if finalizers:
                if obj["metadata"].get("deletionTimestamp"):
                    return obj
                new = _copy(entry)
                new["metadata"]["deletionTimestamp"] = now_iso()
                new["metadata"]["deletionGracePeriodSeconds"] = 0
                new["metadata"]["finalizers"] = finalizers
                entry = self.store.put(res.key, new, "MODIFIED", obj)
                self._after_write(res, entry.obj, obj)
                return entry.obj
            final = self.store.remove(res.key, namespace if res.namespaced else "", name)
            self._after_delete(res, final.obj)
            return final.obj

    @staticmethod
    def _grace(res: Resource, obj: dict, grace: int | None) -> int:
        """The grace period a deletion of ``obj`` gets (0: removed at once). Only Pods have
        one: bound to a node and not yet ended, as the Pod strategy decides."""
        if res.kind != "Pod" or res.group:
            return 0
        spec, status = obj.get("spec") or {}, obj.get("status") or {}
        if not spec.get("nodeName") or status.get("phase") in ("Succeeded", "Failed"):
            return 0
        if grace is None:
            grace = spec.get("terminationGracePeriodSeconds", 30)
        return max(int(grace or 0), 0)

    def _orphan(self, uid: str) -> None:
        for key, ns, dname in self.store.dependents(uid):
            dres = self.registry.by_key(key)
            dep = self.store.get(key, ns, dname)
            if dres is None or dep is None:
                continue
            new = _copy(dep)
            new["metadata"]["ownerReferences"] = [o for o in new["metadata"].get("ownerReferences") or []
                                                  if o.get("uid") != uid]
            if not new["metadata"]["ownerReferences"]:
                del new["metadata"]["ownerReferences"]
            self.store.put(key, new, "MODIFIED", dep.obj)

    # -- hooks ---------------------------------------------------------------------------
    def _after_write(self, res: Resource, obj: dict, old: dict | None) -> None:
        if res.kind == "CustomResourceDefinition" and res.group == "apiextensions.k8s.io":
            self._register_crd(obj, old)

    def _after_delete(self, res: Resource, obj: dict) -> None:
        uid = obj["metadata"].get("uid")
        for key in [k for k in self.applied if k[0] == uid]:
            del self.applied[key]
        if res.kind == "CustomResourceDefinition" and res.group == "apiextensions.k8s.io":
            spec = obj.get("spec", {})
            plural = spec.get("names", {}).get("plural")
            self.registry.remove_crd(spec.get("group", ""), plural)
            self.store.drop_bucket((spec.get("group", ""), plural))

    def _register_crd(self, obj: dict, old: dict | None) -> None:
        spec = obj.get("spec", {})
        names = spec.get("names", {})
        group = spec.get("group", "")
        for version in spec.get("versions") or []:
            if not version.get("served", True):
                continue
            subs = version.get("subresources") or {}
            scale = subs.get("scale") or {}
            res = Resource(
                group=group, version=version["name"], kind=names.get("kind", ""),
                plural=names.get("plural", ""), namespaced=spec.get("scope", "Namespaced") == "Namespaced",
                short_names=list(names.get("shortNames") or []), singular=names.get("singular", ""),
                categories=list(names.get("categories") or []),
                subresources=tuple(s for s in ("status", "scale") if s in subs), crd=True,
                scale_spec_path=scale.get("specReplicasPath", ".spec.replicas"),
                scale_status_path=scale.get("statusReplicasPath", ".status.replicas"),
                scale_selector_path=scale.get("labelSelectorPath", ""),
            )
            self.registry.add(res)
        # Mark the CRD established, as the apiextensions controller does.
        status = obj.get("status") or {}
        conds = {c.get("type") for c in status.get("conditions") or [] if c.get("status") == "True"}
        if not {"Established", "NamesAccepted"} <= conds:
            new = copy.deepcopy(obj)
            ts = now_iso()
            new["status"] = {
                "acceptedNames": names,
                "conditions": [
                    {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts",
                     "message": "no conflicts found", "lastTransitionTime": ts},
                    {"type": "Established", "status": "True", "reason": "InitialNamesAccepted",
                     "message": "the initial names have been accepted", "lastTransitionTime": ts},
                ],
                "storedVersions": [v["name"] for v in spec.get("versions") or [] if v.get("storage")],
            }
            res = self.registry.get("apiextensions.k8s.io", "v1", "customresourcedefinitions")
            self.store.put(res.key, new, "MODIFIED", obj)

    def _defaults(self, res: Resource, obj: dict, update: bool = False) -> None:
        kind, spec = res.kind, obj.get("spec")
        meta = obj["metadata"]
        if kind == "Namespace" and res.group == "" and not res.crd:
            meta.setdefault("labels", {})["kubernetes.io/metadata.name"] = meta["name"]
            obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
            obj.setdefault("status", {}).setdefault("phase", "Active")
        if kind == "Lease" and res.group == "coordination.k8s.io" and isinstance(spec, dict):
            for key in ("acquireTime", "renewTime"):
                if spec.get(key):
                    spec[key] = _micro_time(spec[key], res, meta.get("name", ""), key)
        if res.crd or res.group not in ("", "apps", "batch"):
            return
        if kind in ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet") and isinstance(spec, dict):
            if kind != "DaemonSet":
                spec.setdefault("replicas", 1)
            spec.setdefault("revisionHistoryLimit", 10)
            if kind == "Deployment":
                spec.setdefault("progressDeadlineSeconds", 600)
                strategy = spec.setdefault("strategy", {"type": "RollingUpdate"})
                if strategy.get("type", "RollingUpdate") == "RollingUpdate":
                    strategy.setdefault("type", "RollingUpdate")
                    strategy.setdefault("rollingUpdate", {"maxSurge": "25%", "maxUnavailable": "25%"})
            if kind == "StatefulSet":
                spec.setdefault("podManagementPolicy", "OrderedReady")
                spec.setdefault("updateStrategy", {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}})
            if kind == "DaemonSet":
                spec.setdefault("updateStrategy", {"type": "RollingUpdate", "rollingUpdate": {
                    "maxUnavailable": 1, "maxSurge": 0}})
            if kind == "ReplicaSet":
                spec.pop("revisionHistoryLimit", None)
            self._pod_defaults((spec.get("template") or {}).get("spec"))
        elif kind == "Pod" and isinstance(spec, dict):
            self._pod_defaults(spec)
        elif kind == "Job" and isinstance(spec, dict):
            if not update and not spec.get("selector") and not spec.get("manualSelector"):
                uid = meta["uid"]
                spec["selector"] = {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
                tmeta = spec.setdefault("template", {}).setdefault("metadata", {})
                tmeta.setdefault("labels", {}).update({
                    "batch.kubernetes.io/controller-uid": uid, "controller-uid": uid,
                    "batch.kubernetes.io/job-name": meta["name"], "job-name": meta["name"]})
            spec.setdefault("parallelism", 1)
            spec.setdefault("completions", 1)
            spec.setdefault("backoffLimit", 6)
            self._pod_defaults((spec.get("template") or {}).get("spec"))
        elif kind == "CronJob" and isinstance(spec, dict):
            spec.setdefault("suspend", False)
            spec.setdefault("concurrencyPolicy", "Allow")
            spec.setdefault("successfulJobsHistoryLimit", 3)
            spec.setdefault("failedJobsHistoryLimit", 1)
        elif kind == "Service" and isinstance(spec, dict):
            spec.setdefault("type", "ClusterIP")
            spec.setdefault("sessionAffinity", "None")
            for port in spec.get("ports") or []:
                port.setdefault("protocol", "TCP")
                if "port" in port:
                    port.setdefault("targetPort", port["port"])
            if "clusterIP" not in spec and spec.get("type") != "ExternalName":
                self.ip_counter += 1
                spec["clusterIP"] = f"10.96.{self.ip_counter // 250}.{self.ip_counter % 250 + 1}"
            if spec.get("clusterIP"):
                spec.setdefault("clusterIPs", [spec["clusterIP"]])
            if not update and spec.get("type") == "LoadBalancer":
                obj.setdefault("status", {}).setdefault("loadBalancer", {})
        elif kind == "Secret":
            obj.setdefault("type", "Opaque")
            string_data = obj.pop("stringData", None)
            if isinstance(string_data, dict):
                import base64
                data = obj.setdefault("data", {})
                for k, v in string_data.items():
                    data[k] = base64.b64encode(str(v).encode()).decode()

    def _admit_pod(self, obj: dict, ns: str, name: str) -> None:
        """The ServiceAccount admission plugin: a Pod runs as a ServiceAccount that exists
        (``default`` when none is named; the lab creates it with the namespace)."""
        spec = obj.get("spec")
        if not isinstance(spec, dict):
            return
        account = spec.get("serviceAccountName") or spec.get("serviceAccount") or "default"
        spec["serviceAccountName"] = spec["serviceAccount"] = account
        if account != "default" and self.store.get(("", "serviceaccounts"), ns, account) is None:
            raise ApiError(403, f'pods "{name}" is forbidden: error looking up service account {ns}/{account}: '
                                f'serviceaccount "{account}" not found', "Forbidden",
                           details={"name": name, "kind": "pods"})
        _pod_admission_defaults(spec)

    @staticmethod
    def _pod_defaults(spec) -> None:
        if not isinstance(spec, dict):
            return
        _omit_empty(spec)
        spec.setdefault("restartPolicy", "Always")
        spec.setdefault("dnsPolicy", "ClusterFirst")
        spec.setdefault("terminationGracePeriodSeconds", 30)
        spec.setdefault("schedulerName", "default-scheduler")
        for c in (spec.get("containers") or []) + (spec.get("initContainers") or []):
            if isinstance(c, dict):
                c.setdefault("terminationMessagePath", "/dev/termination-log")
                c.setdefault("terminationMessagePolicy", "File")
                if "imagePullPolicy" not in c:
                    image = str(c.get("image", ""))
                    c["imagePullPolicy"] = "Always" if image.endswith(":latest") or ":" not in image.split("/")[-1] \
                        and "@" not in image else "IfNotPresent"
                for port in c.get("ports") or []:
                    if isinstance(port, dict):
                        port.setdefault("protocol", "TCP")

    def _validate(self, res: Resource, obj: dict) -> None:
        name = obj["metadata"]["name"]
        for key in (obj["metadata"].get("labels") or {}):
            if not isinstance(key, str) or not key:
                raise invalid(res, name, "label keys must be non-empty strings", "metadata.labels")
        if res.kind in ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet") and not res.crd:
            spec = obj.get("spec") or {}
            from .selectors import selector_from_match
            selector = spec.get("selector")
            if not selector:
                raise invalid(res, name, "Required value", "spec.selector")
            labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
            if not selector_from_match(selector)(labels):
                raise invalid(res, name, "`selector` does not match template `labels`",
                              "spec.template.metadata.labels")
            containers = ((spec.get("template") or {}).get("spec") or {}).get("containers")
            if not containers:
                raise invalid(res, name, "Required value", "spec.template.spec.containers")
        if res.kind in ("ConfigMap", "Secret") and not res.crd:
            # As the API server: the data of one object may not exceed 1 MiB.
            size = sum(len(k) + len(v if isinstance(v, (str, bytes)) else str(v))
                       for key in ("data", "binaryData", "stringData") for k, v in (obj.get(key) or {}).items())
            if size > 1048576:
                raise invalid(res, name, "Too long: must have at most 1048576 bytes", "[]")
        if res.kind == "Pod" and not res.crd and not (obj.get("spec") or {}).get("containers"):
            raise invalid(res, name, "Required value", "spec.containers")


def parse_body(data: bytes, content_type: str):
    if not data:
        return None
    if "protobuf" in content_type:
        from .protobuf import decode_object
        return decode_object(data)
    if "cbor" in content_type:
        raise ApiError(415, f'the body of the request was in an unknown format - accepted media types '
                            f'include: application/json, application/yaml', "UnsupportedMediaType")
    try:
        if "yaml" in content_type:
            return yaml.safe_load(data)
        return json.loads(data)
    except (ValueError, yaml.YAMLError) as exc:
        raise ApiError(400, f"couldn't decode the request body: {exc}")


# What a real API server's create answers as an object's status, before any controller
# has run (the registry strategies' PrepareForCreate): a client reading it right after a
# create sees the same shape as on a cluster.
INITIAL_STATUS = {
    ("apps", "Deployment"): {},
    ("apps", "ReplicaSet"): {"replicas": 0},
    ("apps", "StatefulSet"): {"replicas": 0, "availableReplicas": 0},
    ("apps", "DaemonSet"): {"currentNumberScheduled": 0, "numberMisscheduled": 0, "desiredNumberScheduled": 0,
                            "numberReady": 0},
    ("batch", "Job"): {},
    ("batch", "CronJob"): {},
    ("", "Service"): {"loadBalancer": {}},
    ("networking.k8s.io", "Ingress"): {"loadBalancer": {}},
}


def _qos_class(spec: dict) -> str:
    containers = [c for key in ("initContainers", "containers") for c in (spec or {}).get(key) or []]
    resources = [c.get("resources") or {} for c in containers]
    if not any(r.get("requests") or r.get("limits") for r in resources):
        return "BestEffort"
    guaranteed = all((r.get("limits") or {}).get(k) and (r.get("requests") or {}).get(k, (r.get("limits") or {})[k])
                     == (r.get("limits") or {})[k] for r in resources for k in ("cpu", "memory"))
    return "Guaranteed" if guaranteed else "Burstable"


EMPTY_OMITTED = ("env", "envFrom", "ports", "volumeMounts", "command", "args")
EMPTY_OMITTED_SPEC = ("nodeSelector", "tolerations", "volumes", "imagePullSecrets", "initContainers")
ACCOUNT_MOUNT = "/var/run/secrets/kubernetes.io/serviceaccount"


def _pod_admission_defaults(spec: dict) -> None:
    """What a created Pod gets from defaulting and admission on a real API server: requests
    from limits where a container sets only limits, the not-ready/unreachable tolerations
    (300 s), priority 0, and the ``kube-api-access-*`` projected volume mounted in each
    container (unless the token is not to be mounted)."""
    for container in (spec.get("initContainers") or []) + (spec.get("containers") or []):
        if not isinstance(container, dict):
            continue
        resources = container.get("resources")
        if isinstance(resources, dict) and resources.get("limits"):
            requests = resources.setdefault("requests", {})
            for key, value in resources["limits"].items():
                requests.setdefault(key, value)
    tolerations = spec.setdefault("tolerations", [])
    for key in ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"):
        if not any(t.get("key") == key and t.get("effect") in (None, "", "NoExecute") for t in tolerations
                   if isinstance(t, dict)):
            tolerations.append({"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300})
    spec.setdefault("priority", 0)
    spec.setdefault("preemptionPolicy", "PreemptLowerPriority")
    spec.setdefault("enableServiceLinks", True)
    if spec.get("automountServiceAccountToken") is False:
        return
    containers = [c for c in (spec.get("initContainers") or []) + (spec.get("containers") or []) if isinstance(c, dict)]
    if any(m.get("mountPath") == ACCOUNT_MOUNT for c in containers for m in c.get("volumeMounts") or []):
        return
    volume = "kube-api-access-" + _rand()
    spec.setdefault("volumes", []).append({"name": volume, "projected": {"defaultMode": 420, "sources": [
        {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
        {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
        {"downwardAPI": {"items": [{"path": "namespace",
                                    "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}}]}})
    for container in containers:
        container.setdefault("volumeMounts", []).append({"name": volume, "readOnly": True,
                                                         "mountPath": ACCOUNT_MOUNT})


def _omit_empty(spec) -> None:
    """Empty lists and maps are not written (the API's ``omitempty``)."""
    if not isinstance(spec, dict):
        return
    for key in EMPTY_OMITTED_SPEC:
        if spec.get(key) in ([], {}):
            spec.pop(key)
    for container in (spec.get("initContainers") or []) + (spec.get("containers") or []):
        if isinstance(container, dict):
            for key in EMPTY_OMITTED:
                if container.get(key) in ([], {}):
                    container.pop(key)


def _later_iso(seconds: int) -> str:
    return (dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _without_fields(obj: dict) -> dict:
    meta = dict(obj.get("metadata") or {})
    meta.pop("managedFields", None)
    return dict(obj, metadata=meta)


def _micro_time(value, res, name: str, key: str) -> str:
    """A MicroTime as the API server writes it back: UTC with six fractional digits."""
    text = str(value).strip()
    try:
        parsed = dt.datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
    except ValueError:
        raise ApiError(400, f'{res.kind} in version "{res.version}" cannot be handled as a {res.kind}: '
                            f'parsing time "{text}" as "2006-01-02T15:04:05.000000Z07:00": cannot parse',
                       "BadRequest")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.timezone.utc)
    return parsed.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _initial_status(res, obj: dict) -> None:
    if res.kind == "Pod" and res.group == "":
        status = obj.setdefault("status", {})
        status.setdefault("phase", "Pending")
        status.setdefault("qosClass", _qos_class(obj.get("spec")))
        return
    initial = INITIAL_STATUS.get((res.group, res.kind))
    if initial is not None and "status" not in obj:
        obj["status"] = copy.deepcopy(initial)


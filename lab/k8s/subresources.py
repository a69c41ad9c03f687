"""Subresources (scale, eviction with PDBs, log) and the authorization reviews
(SelfSubjectAccessReview, SelfSubjectRulesReview, SelfSubjectReview)."""

from __future__ import annotations

import json

from .cluster import PATCH_TYPES, parse_body
from .errors import ApiError, now_iso, parse_bool as _bool
from .errors import dumps as _dumps
from .resources import Resource, VIRTUAL
from .selectors import selector_to_string


class SubresourceMixin:
    # -- subresources --------------------------------------------------------------------
    def _scale(self, method, res: Resource, namespace, name, body, dry_run) -> None:
        cl = self.server.cluster
        entry = cl.get_entry(res, namespace, name)
        scale = scale_of(res, entry.obj)
        if method == "GET":
            return self._json(200, scale)
        if method == "PUT":
            new_scale = parse_body(body, self.headers.get("Content-Type", ""))
        elif method == "PATCH":
            ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip()
            ptype = PATCH_TYPES.get(ctype)
            from . import patch as patching
            doc = parse_body(body, ctype)
            if ptype == "json":
                new_scale = patching.json_patch(scale, doc)
            elif ptype in ("merge", "strategic", "apply"):
                new_scale = patching.merge_patch(scale, doc)
            else:
                raise ApiError(415, "unsupported patch type", "UnsupportedMediaType")
        else:
            raise ApiError(405, "the server does not allow this method on the requested resource")
        rv = (new_scale.get("metadata") or {}).get("resourceVersion")
        if rv and rv != entry.obj["metadata"]["resourceVersion"]:
            from .errors import conflict
            raise conflict(res, name)
        replicas = (new_scale.get("spec") or {}).get("replicas")
        if not isinstance(replicas, int) or replicas < 0:
            from .errors import invalid
            raise invalid(res, name, "must be greater than or equal to 0", "spec.replicas")
        obj = json.loads(entry.raw)
        _set_path(obj, res.scale_spec_path if res.crd else ".spec.replicas", replicas)
        result = cl.update(res, namespace, name, obj, dry_run=dry_run)
        self._json(200, scale_of(res, result))

    def _evict(self, res, namespace: str, name: str, dry_run: bool) -> None:
        """The eviction subresource: refused with 429 while a matching PodDisruptionBudget
        allows no disruption, else the Pod is deleted (and the budget charged at once)."""
        from .selectors import selector_from_match
        cl = self.server.cluster
        pdb_res = cl.registry.get("policy", "v1", "poddisruptionbudgets")
        with cl.store.lock:
            pod = cl.get_entry(res, namespace, name).obj
            labels = pod["metadata"].get("labels") or {}
            ready = any(c.get("type") == "Ready" and c.get("status") == "True"
                        for c in (pod.get("status") or {}).get("conditions") or [])
            budgets = [e.obj for e in cl.store.list(pdb_res.key, namespace)
                       if selector_from_match((e.obj.get("spec") or {}).get("selector"))(labels)]
            if len(budgets) > 1:
                raise ApiError(500, "This pod has more than one PodDisruptionBudget, which the eviction "
                                    "subresource does not support.")
            if budgets and ready and (budgets[0].get("status") or {}).get("disruptionsAllowed", 0) < 1:
                raise ApiError(429, "Cannot evict pod as it would violate the pod's disruption budget.",
                               details={"causes": [{"reason": "DisruptionBudget", "message":
                                                    f"The disruption budget {budgets[0]['metadata']['name']} "
                                                    f"needs {budgets[0].get('status', {}).get('desiredHealthy', 0)} "
                                                    f"healthy pods and has "
                                                    f"{budgets[0].get('status', {}).get('currentHealthy', 0)} "
                                                    f"currently"}]})
            if not dry_run:
                if budgets and ready:
                    pdb = json.loads(_dumps(budgets[0]))
                    pdb["status"]["disruptionsAllowed"] -= 1
                    cl.update(pdb_res, namespace, pdb["metadata"]["name"], pdb, subresource="status")
                cl.delete(res, namespace, name)
        self._json(201, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201})

    def _log(self, res, namespace, name, query) -> None:
        pod = self.server.cluster.get_entry(res, namespace, name).obj
        container = query.get("container") or ((pod.get("spec") or {}).get("containers") or [{}])[0].get("name")
        text = f"{now_iso()} lab: pod {namespace}/{name} container {container} is running\n"
        self._send(200, text.encode(), "text/plain")

    # -- reviews and authorization -------------------------------------------------------
    def _authorize(self, method, query, res: Resource, namespace, name, sub) -> None:
        policy = self.server.policy
        if not policy.enforce or res.plural in VIRTUAL:
            return
        verb = {"GET": "get", "HEAD": "get", "POST": "create", "PUT": "update", "PATCH": "patch",
                "DELETE": "delete"}[method]
        if name is None:
            verb = {"get": "watch" if _bool(query.get("watch")) else "list",
                    "delete": "deletecollection"}.get(verb, verb)
        allowed, reason = policy.decide(verb, res.group, res.plural, sub or "", namespace or "", name or "")
        if not allowed:
            who = f'User "lab-admin" cannot {verb} resource "{res.plural}{"/" + sub if sub else ""}" ' \
                  f'in API group "{res.group}"'
            where = f' in the namespace "{namespace}"' if namespace else " at the cluster scope"
            raise ApiError(403, f'{res.plural} "{name or ""}" is forbidden: {who}{where}: {reason}',
                           details={"name": name or "", "group": res.group, "kind": res.plural})

    def _review(self, res: Resource, body: dict) -> None:
        policy = self.server.policy
        spec = body.get("spec") or {}
        out = {"kind": res.kind, "apiVersion": res.api_version,
               "metadata": {"creationTimestamp": None}, "spec": spec}
        if res.plural == "selfsubjectaccessreviews":
            ra, nra = spec.get("resourceAttributes"), spec.get("nonResourceAttributes")
            if ra:
                allowed, reason = policy.decide(ra.get("verb", ""), ra.get("group", ""), ra.get("resource", ""),
                                                ra.get("subresource", ""), ra.get("namespace", ""),
                                                ra.get("name", ""))
            elif nra:
                allowed, reason = policy.decide(nra.get("verb", ""), "", "", path=nra.get("path", "/"))
            else:
                raise ApiError(422, "exactly one of nonResourceAttributes or resourceAttributes must be specified",
                               "Invalid")
            out["status"] = {"allowed": allowed, "reason": reason}
            if not allowed:
                out["status"]["denied"] = True
        elif res.plural == "selfsubjectrulesreviews":
            rr, nr = policy.rules_for(spec.get("namespace", ""))
            out["status"] = {"resourceRules": rr, "nonResourceRules": nr, "incomplete": False}
        else:
            user = getattr(self, "user", "lab-admin")
            groups = ["system:masters", "system:authenticated"] if user == "lab-admin" else [
                "system:serviceaccounts", "system:serviceaccounts:%s" % user.split(":")[2], "system:authenticated"]
            out["status"] = {"userInfo": {"username": user, "groups": groups}}
        self._json(201, out)


def _set_path(obj: dict, path: str, value) -> None:
    parts = [p for p in path.split(".") if p]
    cur = obj
    for p in parts[:-1]:
        cur = cur.setdefault(p, {})
    cur[parts[-1]] = value


def _get_path(obj: dict, path: str):
    cur = obj
    for p in [p for p in path.split(".") if p]:
        if not isinstance(cur, dict):
            return None
        cur = cur.get(p)
    return cur


def scale_of(res: Resource, obj: dict) -> dict:
    meta = obj["metadata"]
    if res.crd:
        replicas = _get_path(obj, res.scale_spec_path) or 0
        status_replicas = _get_path(obj, res.scale_status_path) or 0
        selector = _get_path(obj, res.scale_selector_path) if res.scale_selector_path else ""
    else:
        replicas = (obj.get("spec") or {}).get("replicas", 0)
        status_replicas = (obj.get("status") or {}).get("replicas", 0)
        selector = selector_to_string((obj.get("spec") or {}).get("selector"))
    status = {"replicas": status_replicas}
    if selector:
        status["selector"] = selector
    return {"kind": "Scale", "apiVersion": "autoscaling/v1",
            "metadata": {"name": meta["name"], "namespace": meta.get("namespace"), "uid": meta["uid"],
                         "resourceVersion": meta["resourceVersion"],
                         "creationTimestamp": meta["creationTimestamp"]},
            "spec": {"replicas": replicas}, "status": status}

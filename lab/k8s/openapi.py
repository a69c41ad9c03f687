"""OpenAPI documents: the operations of each kind (so kubectl finds the server-side field
validation and dry-run support) and its schema from the official client's models
(``lab/k8s/schemas.py``, so ``kubectl explain`` answers); custom resources keep open schemas.
kubectl computes strategic merge patches from its built-in types."""

from __future__ import annotations

import hashlib

from .resources import Registry, VIRTUAL
from .schemas import kind_schemas

_PARAMS = [
    {"name": "dryRun", "in": "query", "schema": {"type": "string", "uniqueItems": True}},
    {"name": "fieldManager", "in": "query", "schema": {"type": "string", "uniqueItems": True}},
    {"name": "fieldValidation", "in": "query", "schema": {"type": "string", "uniqueItems": True}},
    {"name": "force", "in": "query", "schema": {"type": "boolean", "uniqueItems": True}},
]


def _gv_path(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


def v3_root(registry: Registry) -> dict:
    paths = {}
    for group, versions in list(registry.group_versions.items()):
        for version in versions:
            p = _gv_path(group, version)
            digest = hashlib.sha256(repr(sorted(r.plural for r in registry.resources_in(group, version))).encode())
            paths[p] = {"serverRelativeURL": f"/openapi/v3/{p}?hash={digest.hexdigest()[:32].upper()}"}
    return {"paths": paths}


def _operations(res, gvk) -> dict:
    ext = {"x-kubernetes-group-version-kind": gvk}
    ok = {"200": {"description": "OK"}}
    def op(action, params=()):
        return {"operationId": f"{action}{res.kind}", "parameters": list(params), "responses": ok,
                "x-kubernetes-action": action, **ext}
    return {
        "item": {"get": op("get"), "put": op("put", _PARAMS), "patch": op("patch", _PARAMS),
                 "delete": op("delete", _PARAMS[:1])},
        "collection": {"get": op("list"), "post": op("post", _PARAMS)},
    }


def v3_document(registry: Registry, gv_path: str, git_version: str) -> dict | None:
    parts = gv_path.strip("/").split("/")
    if parts[0] == "api" and len(parts) == 2:
        group, version = "", parts[1]
    elif parts[0] == "apis" and len(parts) == 3:
        group, version = parts[1], parts[2]
    else:
        return None
    resources = registry.resources_in(group, version)
    if not resources:
        return None
    paths = {}
    schemas = {}
    for res in resources:
        gvk = {"group": group, "version": version, "kind": res.kind}
        ops = _operations(res, gvk)
        base = "/" + gv_path.strip("/")
        if res.plural in VIRTUAL:
            paths[f"{base}/{res.plural}"] = {"post": ops["collection"]["post"]}
            continue
        coll = f"{base}/namespaces/{{namespace}}/{res.plural}" if res.namespaced else f"{base}/{res.plural}"
        paths[coll] = ops["collection"]
        paths[coll + "/{name}"] = ops["item"]
        for sub in res.subresources:
            paths[f"{coll}/{{name}}/{sub}"] = {k: v for k, v in ops["item"].items() if k != "delete"}
        if res.crd or kind_schemas(group, version, res.kind, schemas) is None:
            schema_name = f"io.k8s.lab.{group or 'core'}.{version}.{res.kind}"
            schemas[schema_name] = {"type": "object", "x-kubernetes-preserve-unknown-fields": True,
                                    "description": f"{res.kind} ({res.api_version})",
                                    "x-kubernetes-group-version-kind": [gvk]}
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": git_version},
            "paths": paths, "components": {"schemas": schemas}}


def v2_document(registry: Registry, git_version: str) -> dict:
    paths = {}
    for group, versions in list(registry.group_versions.items()):
        for version in versions:
            doc = v3_document(registry, _gv_path(group, version), git_version) or {}
            for path, ops in doc.get("paths", {}).items():
                paths[path] = {m: {k: v for k, v in o.items() if k != "parameters"} |
                               {"parameters": [{"name": p["name"], "in": "query", "type": p["schema"]["type"],
                                                "uniqueItems": True} for p in o.get("parameters", [])]}
                               for m, o in ops.items()}
    return {"swagger": "2.0", "info": {"title": "Kubernetes", "version": git_version}, "paths": paths,
            "definitions": {}}

"""Discovery (API groups, resource lists) and the OpenAPI documents."""

from __future__ import annotations

import base64
import hashlib

from .errors import ApiError


class DiscoveryMixin:
    # -- discovery -----------------------------------------------------------------------
    def _groups(self) -> list[str]:
        return [g for g in self.server.cluster.registry.group_versions if g]

    def _group(self, group: str) -> dict:
        versions = self.server.cluster.registry.group_versions[group]
        gvs = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
        return {"name": group, "versions": gvs, "preferredVersion": gvs[0]}

    def _resource_list(self, group: str, version: str) -> dict:
        out = []
        for res in sorted(self.server.cluster.registry.resources_in(group, version), key=lambda r: r.plural):
            item = {"name": res.plural, "singularName": res.singular, "namespaced": res.namespaced,
                    "kind": res.kind, "verbs": res.verbs,
                    "storageVersionHash": base64.b64encode(hashlib.sha256(
                        f"{res.group}/{res.version}/{res.kind}".encode()).digest()[:8]).decode()}
            if res.short_names:
                item["shortNames"] = res.short_names
            if res.categories:
                item["categories"] = res.categories
            out.append(item)
            for sub in res.subresources:
                entry = {"name": f"{res.plural}/{sub}", "singularName": "", "namespaced": res.namespaced,
                         "kind": res.kind, "verbs": ["get", "patch", "update"]}
                if sub == "scale":
                    entry.update(group="autoscaling", version="v1", kind="Scale")
                elif sub == "log":
                    entry["verbs"] = ["get"]
                elif sub == "eviction":
                    entry.update(group="policy", version="v1", kind="Eviction", verbs=["create"])
                elif sub == "finalize":
                    entry["verbs"] = ["update"]
                out.append(entry)
        gv = f"{group}/{version}" if group else version
        return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": out}

    def _openapi(self, path: str) -> None:
        from .openapi import v2_document, v3_document, v3_root
        registry = self.server.cluster.registry
        if path == "/openapi/v3":
            return self._json(200, v3_root(registry))
        if path.startswith("/openapi/v3/"):
            doc = v3_document(registry, path[len("/openapi/v3/"):], self.server.config.git_version)
            if doc is None:
                raise ApiError(404, "the server could not find the requested resource")
            return self._json(200, doc)
        if path == "/openapi/v2":
            return self._json(200, v2_document(registry, self.server.config.git_version))
        raise ApiError(404, "the server could not find the requested resource")

"""Namespaces (defaults, deletion) and garbage collection (orphans, foreground deletion)."""

from __future__ import annotations

import base64

from .common import ApiError, K_NS


class Lifecycle:
    HANDLERS = {"ns": "_h_ns", "gc": "_h_gc", "foreground": "_h_foreground", "sa_token": "_h_sa_token"}
    WATCHES = {K_NS: lambda etype, ns, name: [("ns", name)],
               ("", "secrets"): lambda etype, ns, name: [] if etype == "DELETED" else [("sa-token", ns, name)],
               ("", "serviceaccounts"): lambda etype, ns, name: [] if etype == "DELETED" else [("sa-token", ns, "")]}

    # -- the token controller ------------------------------------------------------------
    def _h_sa_token(self, ns: str, name: str) -> None:
        """A ``kubernetes.io/service-account-token`` Secret gets its ServiceAccount's token,
        the cluster CA and the namespace (the legacy token controller); an empty name looks
        at every such Secret of the namespace (its ServiceAccount may have just appeared)."""
        secrets = [self.get(("", "secrets"), ns, name)] if name else [e.obj for e in self.store.list(("", "secrets"), ns)]
        for secret in secrets:
            if secret is None or secret.get("type") != "kubernetes.io/service-account-token":
                continue
            meta = secret["metadata"]
            annotations = meta.get("annotations") or {}
            account = self.get(("", "serviceaccounts"), ns, annotations.get("kubernetes.io/service-account.name", ""))
            if account is None or (secret.get("data") or {}).get("token"):
                continue
            new = dict(secret)
            new["metadata"] = dict(meta, annotations=dict(annotations, **{
                "kubernetes.io/service-account.uid": account["metadata"]["uid"]}))
            new["data"] = dict(secret.get("data") or {}, **{
                "token": base64.b64encode(self.cluster.tokens.legacy(account).encode()).decode(),
                "ca.crt": base64.b64encode(self.ca.cert_pem).decode(),
                "namespace": base64.b64encode(ns.encode()).decode()})
            try:
                self.cluster.update(self.res(("", "secrets")), ns, meta["name"], new)
            except ApiError:
                self.later(0.2, "sa-token", ns, meta["name"])

    # -- namespaces and garbage collection -----------------------------------------------
    def _h_ns(self, name: str) -> None:
        ns = self.get(K_NS, "", name)
        if ns is None:
            return
        if not ns["metadata"].get("deletionTimestamp"):
            if self.store.get(("", "serviceaccounts"), name, "default") is None:
                try:
                    self.create(("", "serviceaccounts"), name, {"metadata": {"name": "default"}})
                except ApiError:
                    pass
            if self.store.get(("", "configmaps"), name, "kube-root-ca.crt") is None:
                try:
                    self.create(("", "configmaps"), name, {
                        "metadata": {"name": "kube-root-ca.crt",
                                     "annotations": {"kubernetes.io/description": "Contains a CA bundle"}},
                        "data": {"ca.crt": self.ca.cert_pem.decode()}})
                except ApiError:
                    pass
            return
        # Terminating: remove everything in it, then the namespace itself.
        remaining = 0
        for key, bucket in list(self.store.buckets.items()):
            res = self.res(key)
            if res is None or not res.namespaced:
                continue
            for entry in self.store.list(key, name):
                meta = entry.obj["metadata"]
                with self.store.lock:
                    final = self.store.remove(key, name, meta["name"])
                    if final is not None:
                        self.cluster._after_delete(res, final.obj)
        if remaining == 0:
            with self.store.lock:
                final = self.store.remove(K_NS, "", name)
                if final is not None:
                    self.cluster._after_delete(self.res(K_NS), final.obj)

    def _h_gc(self, uid: str) -> None:
        for key, ns, name in self.store.dependents(uid):
            entry = self.store.get(key, ns, name)
            if entry is None:
                continue
            owners = [r for r in entry.obj["metadata"].get("ownerReferences") or []]
            if any(r.get("uid") in self.uids for r in owners):
                continue
            self.delete(key, ns, name)

    def _h_foreground(self, key, ns: str, name: str) -> None:
        obj = self.get(key, ns, name)
        if obj is None or not obj["metadata"].get("deletionTimestamp"):
            return
        if "foregroundDeletion" not in (obj["metadata"].get("finalizers") or []):
            return
        deps = self.store.dependents(obj["metadata"]["uid"])
        for dkey, dns, dname in deps:
            self.delete(dkey, dns, dname)
        if not self.store.dependents(obj["metadata"]["uid"]):
            obj["metadata"]["finalizers"] = [f for f in obj["metadata"]["finalizers"] if f != "foregroundDeletion"]
            self.update(key, obj)

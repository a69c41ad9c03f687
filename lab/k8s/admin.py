"""The lab's admin endpoints (`/_lab/...`, their own token): policy, config, faults,
scenarios, settling, compaction and stats."""

from __future__ import annotations

import time

from .cluster import parse_body
from .errors import ApiError
from .policy import Policy


class AdminMixin:
    # -- admin ---------------------------------------------------------------------------
    def _admin(self, method: str, path: str, query: dict, body: bytes) -> None:
        srv = self.server
        doc = parse_body(body, self.headers.get("Content-Type", "application/json")) or {}
        what = path[len("/_lab/"):] if path.startswith("/_lab/") else ""
        if what == "config":
            if method in ("POST", "PUT", "PATCH"):
                srv.config.update(doc)
            return self._json(200, srv.config.as_dict())
        if what == "faults":
            if method in ("POST", "PUT"):
                srv.faults.configure(doc)
            elif method == "DELETE":
                srv.faults.clear()
            return self._json(200, srv.faults.describe())
        if what == "policy":
            if method in ("POST", "PUT"):
                srv.policy = Policy(doc)
            elif method == "DELETE":
                srv.policy = Policy()
            return self._json(200, srv.policy.doc)
        if what == "scenario" and method == "POST" and srv.lab is not None:
            loaded = srv.lab.load_scenario(doc["name"])
            return self._json(200, {"loaded": loaded})
        if what == "settle" and srv.lab is not None:
            settled = srv.lab.controllers.wait_idle(float(doc.get("timeout", 30)))
            return self._json(200, {"settled": settled})
        if what == "compact" and method == "POST":
            return self._json(200, {"compacted": srv.cluster.store.compact()})
        if what == "stats":
            store = srv.cluster.store
            counts = {"/".join(k).strip("/"): len(b.items) for k, b in list(store.buckets.items()) if b.items}
            ctl = srv.lab.controllers if srv.lab is not None else None
            work = {}
            if ctl is not None:
                with ctl.cond:
                    work = {"queued": [list(map(str, k)) for k in ctl.queue],
                            "timers": [[round(t[0] - time.monotonic(), 3), t[2], list(map(str, t[3]))]
                                       for t in sorted(ctl.timers)[:50]],
                            "errors": ctl.errors}
            return self._json(200, {"resourceVersion": store.rv, "objects": counts,
                                    "requests": srv.requests_served, "controllers": work})
        raise ApiError(404, "unknown lab endpoint")

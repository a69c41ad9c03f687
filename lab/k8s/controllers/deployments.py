"""Deployments (ReplicaSets per pod-template hash, revisions, rolling and Recreate
strategies, progress) and ReplicaSets."""

from __future__ import annotations

import datetime as dt
import json
import random

from .common import (
    ALPHABET, ApiError, HASH_LABEL, K_DEPLOY, K_POD, K_RS, REVISION, is_ready, now_iso, owner_ref,
    parse_iso, scaled, set_condition, template_hash
)


class Deployments:
    HANDLERS = {"deploy": "_h_deploy", "rs": "_h_rs"}
    WATCHES = {K_DEPLOY: lambda etype, ns, name: [("deploy", ns, name)],
               K_RS: lambda etype, ns, name: [("rs", ns, name)]}

    # -- deployments ---------------------------------------------------------------------
    def _h_deploy(self, ns: str, name: str) -> None:
        d = self.get(K_DEPLOY, ns, name)
        if d is None or d["metadata"].get("deletionTimestamp"):
            return
        spec = d.get("spec") or {}
        desired = spec.get("replicas", 1)
        tpl = spec.get("template") or {}
        h = template_hash(tpl)
        rss = self.owned(d, K_RS)
        revs = [int((rs["metadata"].get("annotations") or {}).get(REVISION, "0") or 0) for rs in rss]
        max_rev = max(revs, default=0)
        new_rs = next((rs for rs in rss if (rs["metadata"].get("labels") or {}).get(HASH_LABEL) == h), None)
        if new_rs is None:
            new_rs = next((rs for rs in rss if template_hash((rs.get("spec") or {}).get("template")) == h), None)
        annotations = d["metadata"].get("annotations") or {}
        if new_rs is None and not spec.get("paused"):
            labels = dict((tpl.get("metadata") or {}).get("labels") or {})
            labels[HASH_LABEL] = h
            selector = json.loads(json.dumps(spec.get("selector") or {}))
            selector.setdefault("matchLabels", {})[HASH_LABEL] = h
            rs_tpl = json.loads(json.dumps(tpl))
            rs_tpl.setdefault("metadata", {})["labels"] = labels
            rs_ann = {REVISION: str(max_rev + 1), "deployment.kubernetes.io/desired-replicas": str(desired),
                      "deployment.kubernetes.io/max-replicas": str(desired + 1)}
            if "kubernetes.io/change-cause" in annotations:
                rs_ann["kubernetes.io/change-cause"] = annotations["kubernetes.io/change-cause"]
            old_active = any((rs.get("spec") or {}).get("replicas", 0) > 0 for rs in rss)
            try:
                new_rs = self.create(K_RS, ns, {
                    "metadata": {"name": f"{name}-{h}", "labels": labels, "annotations": rs_ann,
                                 "ownerReferences": [owner_ref(d)]},
                    "spec": {"replicas": 0 if old_active else desired,
                             "minReadySeconds": spec.get("minReadySeconds", 0),
                             "selector": selector, "template": rs_tpl}})
            except ApiError as exc:
                if exc.code != 409:
                    raise
                self.later(0.05, "deploy", ns, name)
                return
            if not old_active:
                self.event(d, "ScalingReplicaSet", f"Scaled up replica set {new_rs['metadata']['name']} to {desired}")
            rss = self.owned(d, K_RS)
            if not any(r["metadata"]["uid"] == new_rs["metadata"]["uid"] for r in rss):
                rss.append(new_rs)
            max_rev += 1
        elif new_rs is not None:
            rs_ann = dict(new_rs["metadata"].get("annotations") or {})
            cur = int(rs_ann.get(REVISION, "0") or 0)
            changed = False
            if cur < max_rev:  # an old template came back (rollout undo): it becomes the newest revision
                history = [x for x in rs_ann.get("deployment.kubernetes.io/revision-history", "").split(",") if x]
                history.append(str(cur))
                rs_ann["deployment.kubernetes.io/revision-history"] = ",".join(history)
                rs_ann[REVISION] = str(max_rev + 1)
                max_rev += 1
                changed = True
            if "kubernetes.io/change-cause" in annotations and \
                    rs_ann.get("kubernetes.io/change-cause") != annotations["kubernetes.io/change-cause"]:
                rs_ann["kubernetes.io/change-cause"] = annotations["kubernetes.io/change-cause"]
                changed = True
            if rs_ann.get("deployment.kubernetes.io/desired-replicas") != str(desired):
                rs_ann["deployment.kubernetes.io/desired-replicas"] = str(desired)
                rs_ann["deployment.kubernetes.io/max-replicas"] = str(desired + 1)
                changed = True
            if changed:
                obj = self.get(K_RS, ns, new_rs["metadata"]["name"])
                obj["metadata"]["annotations"] = rs_ann
                new_rs = self.update(K_RS, obj)
        new_uid = new_rs["metadata"]["uid"] if new_rs else None
        olds = [rs for rs in rss if rs["metadata"]["uid"] != new_uid]
        olds.sort(key=lambda rs: int((rs["metadata"].get("annotations") or {}).get(REVISION, "0") or 0))
        if not spec.get("paused"):
            new_rs = self._rollout(d, desired, new_rs, olds)
        # Revision history limit.
        limit = spec.get("revisionHistoryLimit", 10)
        idle = [rs for rs in reversed(olds) if (rs.get("spec") or {}).get("replicas", 0) == 0 and
                (rs.get("status") or {}).get("replicas", 0) == 0]  # newest first
        for rs in idle[limit:]:
            self.delete(K_RS, ns, rs["metadata"]["name"])
        # Revision annotation on the Deployment itself.
        if new_rs is not None:
            rev = (new_rs["metadata"].get("annotations") or {}).get(REVISION)
            if rev and annotations.get(REVISION) != rev:
                obj = self.get(K_DEPLOY, ns, name)
                obj["metadata"].setdefault("annotations", {})[REVISION] = rev
                d = self.update(K_DEPLOY, obj)
                d = json.loads(json.dumps(d))
        self._deploy_status(d, self.owned(d, K_RS), new_rs)

    def _scale_rs(self, d: dict, rs: dict, replicas: int) -> dict:
        obj = self.get(K_RS, rs["metadata"]["namespace"], rs["metadata"]["name"])
        if obj is None:
            return rs
        before = obj["spec"].get("replicas", 0)
        if before == replicas:
            return obj
        obj["spec"]["replicas"] = replicas
        result = self.update(K_RS, obj)
        self.event(d, "ScalingReplicaSet", f"Scaled {'up' if replicas > before else 'down'} replica set "
                                           f"{obj['metadata']['name']} from {before} to {replicas}")
        return result

    def _rollout(self, d: dict, desired: int, new_rs: dict | None, olds: list[dict]) -> dict | None:
        """One step of the RollingUpdate / Recreate strategies (the deployment controller's arithmetic)."""
        spec_of = lambda rs: (rs.get("spec") or {}).get("replicas", 0)  # noqa: E731
        avail_of = lambda rs: (rs.get("status") or {}).get("availableReplicas", 0)  # noqa: E731
        strategy = (d.get("spec") or {}).get("strategy") or {}
        if strategy.get("type") == "Recreate":
            for rs in olds:
                if spec_of(rs):
                    self._scale_rs(d, rs, 0)
            if any((rs.get("status") or {}).get("replicas", 0) for rs in olds):
                return new_rs
            if new_rs is not None and spec_of(new_rs) != desired:
                new_rs = self._scale_rs(d, new_rs, desired)
            return new_rs
        rolling = strategy.get("rollingUpdate") or {}
        surge = scaled(rolling.get("maxSurge", "25%"), desired, True)
        unavailable = scaled(rolling.get("maxUnavailable", "25%"), desired, False)
        if surge == 0 and unavailable == 0:
            unavailable = 1
        # Scale the new ReplicaSet up within maxSurge (or down to the desired count).
        if new_rs is not None:
            current = spec_of(new_rs)
            if current > desired:
                new_rs = self._scale_rs(d, new_rs, desired)
            elif current < desired:
                total = spec_of(new_rs) + sum(spec_of(rs) for rs in olds)
                room = desired + surge - total
                if room > 0:
                    new_rs = self._scale_rs(d, new_rs, current + min(room, desired - current))
        # Scale old ReplicaSets down while keeping desired - maxUnavailable available.
        if not any(spec_of(rs) for rs in olds):
            return new_rs
        all_pods = sum(spec_of(rs) for rs in olds) + (spec_of(new_rs) if new_rs else 0)
        min_available = desired - unavailable
        new_unavailable = (spec_of(new_rs) - avail_of(new_rs)) if new_rs else 0
        budget = all_pods - min_available - new_unavailable
        if budget <= 0:
            return new_rs
        want = {rs["metadata"]["uid"]: spec_of(rs) for rs in olds}
        for rs in olds:  # unhealthy old Pods go first
            if budget <= 0:
                break
            bad = spec_of(rs) - avail_of(rs)
            if bad > 0:
                cut = min(bad, budget)
                want[rs["metadata"]["uid"]] -= cut
                budget -= cut
        available = sum(min(avail_of(rs), want[rs["metadata"]["uid"]]) for rs in olds) + \
            (avail_of(new_rs) if new_rs else 0)
        room = min(available - min_available, budget)
        for rs in olds:  # oldest first
            if room <= 0:
                break
            cut = min(want[rs["metadata"]["uid"]], room)
            want[rs["metadata"]["uid"]] -= cut
            room -= cut
        for rs in olds:
            if want[rs["metadata"]["uid"]] != spec_of(rs):
                self._scale_rs(d, rs, want[rs["metadata"]["uid"]])
        return new_rs

    def _deploy_status(self, d: dict, rss: list[dict], new_rs: dict | None) -> None:
        spec = d.get("spec") or {}
        shown = (d.get("status") or {}).get("conditions") or []
        if not spec.get("paused") and any(c.get("type") == "Progressing" and c.get("reason") == "DeploymentPaused"
                                          for c in shown):
            # Resumed: said at once, as the real controller does, before the rollout goes on.
            resumed = dict(d.get("status") or {})
            resumed["conditions"] = set_condition(shown, "Progressing", "Unknown", "DeploymentResumed",
                                                  "Deployment is resumed", True)
            self.set_status(K_DEPLOY, d, resumed)
            d = self.get(K_DEPLOY, d["metadata"].get("namespace", ""), d["metadata"]["name"]) or d
        desired = spec.get("replicas", 1)
        st = lambda rs, k: (rs.get("status") or {}).get(k, 0)  # noqa: E731
        total = sum(st(rs, "replicas") for rs in rss)
        ready = sum(st(rs, "readyReplicas") for rs in rss)
        available = sum(st(rs, "availableReplicas") for rs in rss)
        new_uid = (new_rs or {}).get("metadata", {}).get("uid")
        updated = next((st(rs, "replicas") for rs in rss if rs["metadata"]["uid"] == new_uid), 0)
        status = dict(d.get("status") or {})
        strategy = spec.get("strategy") or {}
        max_unavailable = 0
        if strategy.get("type", "RollingUpdate") == "RollingUpdate":
            max_unavailable = scaled((strategy.get("rollingUpdate") or {}).get("maxUnavailable", "25%"),
                                     desired, False)
        conds = status.get("conditions") or []
        if available >= desired - max_unavailable:
            conds = set_condition(conds, "Available", "True", "MinimumReplicasAvailable",
                                  "Deployment has minimum availability.", True)
        else:
            conds = set_condition(conds, "Available", "False", "MinimumReplicasUnavailable",
                                  "Deployment does not have minimum availability.", True)
        complete = updated == desired and total == desired and available >= desired and \
            ((new_rs or {}).get("status") or {}).get("observedGeneration", -1) >= \
            (new_rs or {}).get("metadata", {}).get("generation", 0)
        rs_name = (new_rs or {}).get("metadata", {}).get("name", "")
        prev = next((c for c in conds if c.get("type") == "Progressing"), None)
        deadline = spec.get("progressDeadlineSeconds", 600)
        if spec.get("paused"):
            # A paused Deployment makes no progress and has no deadline: the real controller
            # says so with an Unknown Progressing condition.
            conds = set_condition(conds, "Progressing", "Unknown", "DeploymentPaused", "Deployment is paused", True)
        elif complete:
            conds = set_condition(conds, "Progressing", "True", "NewReplicaSetAvailable",
                                  f'ReplicaSet "{rs_name}" has successfully progressed.', True)
        elif prev is not None and prev.get("reason") == "ProgressDeadlineExceeded":
            pass
        else:
            progressed = (status.get("updatedReplicas", 0), status.get("availableReplicas", 0),
                          status.get("replicas", 0)) != (updated, available, total)
            if prev is None or progressed or prev.get("reason") != "ReplicaSetUpdated":
                conds = set_condition(conds, "Progressing", "True", "ReplicaSetUpdated",
                                      f'ReplicaSet "{rs_name}" is progressing.', True)
                if progressed and prev is not None and prev.get("reason") == "ReplicaSetUpdated":
                    for c in conds:
                        if c["type"] == "Progressing":
                            c["lastUpdateTime"] = now_iso()
                self.later(deadline + 0.5, "deploy", d["metadata"].get("namespace", ""), d["metadata"]["name"],
                           periodic=True)
            elif prev is not None and prev.get("lastUpdateTime") and \
                    (dt.datetime.now(dt.timezone.utc) - parse_iso(prev["lastUpdateTime"])).total_seconds() > deadline:
                conds = set_condition(conds, "Progressing", "False", "ProgressDeadlineExceeded",
                                      f'ReplicaSet "{rs_name}" has timed out progressing.', True)
        failure = next((c for rs in rss for c in (rs.get("status") or {}).get("conditions") or []
                        if c.get("type") == "ReplicaFailure" and c.get("status") == "True"), None)
        if failure is not None:
            conds = set_condition(conds, "ReplicaFailure", "True", "FailedCreate", failure.get("message", ""), True)
        else:
            conds = [c for c in conds if c.get("type") != "ReplicaFailure"]
        status.update(observedGeneration=d["metadata"].get("generation", 1), replicas=total,
                      updatedReplicas=updated, readyReplicas=ready, availableReplicas=available,
                      conditions=conds)
        unavailable = max(0, desired - available) if total or desired else 0
        if unavailable:
            status["unavailableReplicas"] = unavailable
        else:
            status.pop("unavailableReplicas", None)
        for k in ("replicas", "updatedReplicas", "readyReplicas", "availableReplicas"):
            if status[k] == 0:
                status.pop(k)
        # Keep lastUpdateTime stable if nothing else changed.
        old = d.get("status") or {}
        if {k: v for k, v in status.items() if k != "conditions"} == \
                {k: v for k, v in old.items() if k != "conditions"} and \
                [(c.get("type"), c.get("status"), c.get("reason")) for c in status["conditions"]] == \
                [(c.get("type"), c.get("status"), c.get("reason")) for c in old.get("conditions") or []]:
            return
        self.set_status(K_DEPLOY, d, status)

    # -- replica sets --------------------------------------------------------------------
    def _h_rs(self, ns: str, name: str) -> None:
        rs = self.get(K_RS, ns, name)
        if rs is None or rs["metadata"].get("deletionTimestamp"):
            return
        spec = rs.get("spec") or {}
        want = spec.get("replicas", 1)
        pods = [p for p in self.owned(rs, K_POD) if not p["metadata"].get("deletionTimestamp")]
        pods = [p for p in pods if (p.get("status") or {}).get("phase") not in ("Failed", "Succeeded")]
        if len(pods) < want:
            for _ in range(want - len(pods)):
                try:
                    self.new_pod(rs, spec.get("template") or {}, f"{name}-{''.join(random.choices(ALPHABET, k=5))}")
                except ApiError as exc:
                    # As the ReplicaSet controller: an Event, a ReplicaFailure condition, and
                    # another try later (the cause may be fixed meanwhile).
                    self._replica_failure(rs, pods, f"{exc.message}")
                    return
            return
        if len(pods) > want:
            victims = sorted(pods, key=lambda p: (is_ready(p), p["metadata"]["creationTimestamp"]))
            victims = victims[:len(pods) - want]
            for p in victims:
                self.delete(K_POD, ns, p["metadata"]["name"])
            return
        ready = sum(1 for p in pods if is_ready(p))
        available, wait = ready, None
        min_ready = spec.get("minReadySeconds", 0) or 0
        if min_ready:  # available = Ready for at least minReadySeconds
            now = dt.datetime.now(dt.timezone.utc)
            available = 0
            for p in pods:
                since = next((c.get("lastTransitionTime") for c in (p.get("status") or {}).get("conditions") or []
                              if c.get("type") == "Ready" and c.get("status") == "True"), None)
                if since is None:
                    continue
                age = (now - parse_iso(since)).total_seconds()
                if age >= min_ready:
                    available += 1
                else:
                    wait = min(wait or min_ready, min_ready - age)
            if wait is not None:
                self.later(wait + 0.1, "rs", ns, name)
        self.set_status(K_RS, rs, self._rs_status(rs, pods, ready, available))

    @staticmethod
    def _rs_status(rs: dict, pods: list, ready: int, available: int, failure: str | None = None) -> dict:
        status = {"replicas": len(pods), "fullyLabeledReplicas": len(pods), "readyReplicas": ready,
                  "availableReplicas": available, "observedGeneration": rs["metadata"].get("generation", 1)}
        for k in ("readyReplicas", "availableReplicas", "fullyLabeledReplicas"):
            if status[k] == 0:
                status.pop(k)
        if failure:
            status["conditions"] = set_condition((rs.get("status") or {}).get("conditions") or [], "ReplicaFailure",
                                                 "True", "FailedCreate", failure)
        return status

    def _replica_failure(self, rs: dict, pods: list, message: str) -> None:
        meta = rs["metadata"]
        old = next((c for c in (rs.get("status") or {}).get("conditions") or []
                    if c.get("type") == "ReplicaFailure"), {})
        if old.get("message") != message:
            self.event(rs, "FailedCreate", f"Error creating: {message}", "Warning", component="replicaset-controller")
        ready = sum(1 for p in pods if is_ready(p))
        self.set_status(K_RS, rs, self._rs_status(rs, pods, ready, ready, failure=message))
        self.later(5.0, "rs", meta["namespace"], meta["name"])

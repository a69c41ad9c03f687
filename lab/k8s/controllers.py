"""Controllers: what turns the store into a cluster.

One worker thread reconciles keys queued by store events and by timers: Deployments
(ReplicaSets per pod-template hash, revisions, rolling replacement), ReplicaSets,
a simulated kubelet (scheduling, Pod readiness after `controller_delay`), StatefulSets,
DaemonSets, Jobs, CronJobs, Service endpoints, PVC binding, PodDisruptionBudgets,
cert-manager Issuers and Certificates, namespace deletion and garbage collection.

Lab annotations (prefix `lab.golive.io/`) steer the simulation:
  ready: "false"          on a Pod (template): containers start but never become Ready
  unready-nodes: "a,b"    on a DaemonSet: its Pods on those nodes never become Ready
  fail: "true"            on a Job's Pod template: Pods fail
  not-after-offset: "-1h" on a Certificate: issue with this lifetime (may be negative)
"""

from __future__ import annotations

import base64
import collections
import datetime as dt
import hashlib
import heapq
import json
import math
import random
import re
import threading
import time
import traceback

from .cluster import Cluster, _copy
from .errors import ApiError, now_iso, parse_iso
from .selectors import selector_from_match

LAB = "lab.golive.io/"
REVISION = "deployment.kubernetes.io/revision"
HASH_LABEL = "pod-template-hash"
ALPHABET = "bcdfghjklmnpqrstvwxz2456789"

K_DEPLOY = ("apps", "deployments")
K_RS = ("apps", "replicasets")
K_STS = ("apps", "statefulsets")
K_DS = ("apps", "daemonsets")
K_POD = ("", "pods")
K_SVC = ("", "services")
K_EP = ("", "endpoints")
K_EPS = ("discovery.k8s.io", "endpointslices")
K_NODE = ("", "nodes")
K_NS = ("", "namespaces")
K_JOB = ("batch", "jobs")
K_CJ = ("batch", "cronjobs")
K_PVC = ("", "persistentvolumeclaims")
K_SC = ("storage.k8s.io", "storageclasses")
K_PDB = ("policy", "poddisruptionbudgets")
K_SECRET = ("", "secrets")
K_EVENT = ("", "events")
K_ING = ("networking.k8s.io", "ingresses")
K_CR = ("apps", "controllerrevisions")
K_CERT = ("cert-manager.io", "certificates")
K_ISSUER = ("cert-manager.io", "issuers")
K_CISSUER = ("cert-manager.io", "clusterissuers")

OWNER_KINDS = {"ReplicaSet": "rs", "Deployment": "deploy", "StatefulSet": "sts", "DaemonSet": "ds",
               "Job": "job", "CronJob": "cj"}


def _prune(value):
    """Drop nulls and empty maps/lists, so equal templates hash alike however a client spelled them."""
    if isinstance(value, dict):
        out = {k: _prune(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v not in (None, {}, [])}
    if isinstance(value, list):
        return [_prune(v) for v in value]
    return value


def template_hash(template: dict) -> str:
    tpl = _prune(json.loads(json.dumps(template or {})))
    labels = (tpl.get("metadata") or {}).get("labels") or {}
    labels.pop(HASH_LABEL, None)
    digest = hashlib.sha256(json.dumps(tpl, sort_keys=True, separators=(",", ":")).encode()).digest()
    n = int.from_bytes(digest[:8], "big")
    out = []
    for _ in range(10):
        n, r = divmod(n, len(ALPHABET))
        out.append(ALPHABET[r])
    return "".join(out)


def owner_ref(obj: dict) -> dict:
    return {"apiVersion": obj["apiVersion"], "kind": obj["kind"], "name": obj["metadata"]["name"],
            "uid": obj["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}


def controller_of(obj: dict) -> dict | None:
    for ref in obj.get("metadata", {}).get("ownerReferences") or []:
        if ref.get("controller"):
            return ref
    return None


def is_ready(pod: dict) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions") or [])


def go_duration(text: str | None) -> float | None:
    """Seconds in a Go duration string such as `2160h`, `1h30m`, `-1h`, `90s`."""
    if not text:
        return None
    sign = -1 if text.startswith("-") else 1
    total = 0.0
    for value, unit in re.findall(r"([\d.]+)(ms|h|m|s)", text):
        total += float(value) * {"h": 3600, "m": 60, "s": 1, "ms": 0.001}[unit]
    return sign * total


def scaled(value, total: int, round_up: bool) -> int:
    if value is None:
        return 0
    if isinstance(value, str) and value.endswith("%"):
        raw = float(value[:-1]) * total / 100
        return math.ceil(raw) if round_up else math.floor(raw)
    return int(value)


def set_condition(conds: list, ctype: str, status: str, reason: str, message: str,
                  with_update: bool = False) -> list:
    now = now_iso()
    out = [dict(c) for c in conds]
    for c in out:
        if c.get("type") == ctype:
            if c.get("status") != status:
                c["lastTransitionTime"] = now
            if with_update and (c.get("status") != status or c.get("reason") != reason):
                c["lastUpdateTime"] = now
            c.update(status=status, reason=reason, message=message)
            return out
    new = {"type": ctype, "status": status, "reason": reason, "message": message, "lastTransitionTime": now}
    if with_update:
        new["lastUpdateTime"] = now
    out.append(new)
    return out


# -- cron ---------------------------------------------------------------------------------
_CRON_ALIASES = {"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
                 "@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *",
                 "@hourly": "0 * * * *"}


def _cron_field(text: str, lo: int, hi: int) -> set[int]:
    out: set[int] = set()
    for part in text.split(","):
        step = 1
        if "/" in part:
            part, s = part.split("/")
            step = int(s)
        if part in ("*", "?"):
            a, b = lo, hi
        elif "-" in part:
            a, b = (int(x) for x in part.split("-"))
        else:
            a = b = int(part)
            if step != 1:
                b = hi
        out.update(range(a, b + 1, step))
    return out


def cron_times(schedule: str, after: dt.datetime, until: dt.datetime, limit: int = 50) -> list[dt.datetime]:
    """Schedule times in (after, until], newest last (at most `limit`, the most recent ones)."""
    expr = _CRON_ALIASES.get(schedule.strip(), schedule.strip())
    fields = expr.split()
    if len(fields) != 5:
        return []
    minutes, hours, dom, months, dow = (
        _cron_field(fields[0], 0, 59), _cron_field(fields[1], 0, 23), _cron_field(fields[2], 1, 31),
        _cron_field(fields[3], 1, 12), {d % 7 for d in _cron_field(fields[4], 0, 7)})
    dom_any, dow_any = fields[2] in ("*", "?"), fields[4] in ("*", "?")
    found: list[dt.datetime] = []
    t = until.replace(second=0, microsecond=0)
    floor = max(after, until - dt.timedelta(days=35))
    while t > floor and len(found) < limit:
        if t.minute in minutes and t.hour in hours and t.month in months:
            day_ok_dom, day_ok_dow = t.day in dom, ((t.weekday() + 1) % 7) in dow
            if dom_any and dow_any:
                day_ok = True
            elif dom_any:
                day_ok = day_ok_dow
            elif dow_any:
                day_ok = day_ok_dom
            else:
                day_ok = day_ok_dom or day_ok_dow
            if day_ok:
                found.append(t)
            t -= dt.timedelta(minutes=1)
        elif t.hour not in hours or t.month not in months:
            t = t.replace(minute=0) - dt.timedelta(minutes=1)
        else:
            t -= dt.timedelta(minutes=1)
    return list(reversed(found))


def iso(t: dt.datetime) -> str:
    return t.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class Controllers:
    def __init__(self, cluster: Cluster, config, ca) -> None:
        self.cluster = cluster
        self.config = config
        self.ca = ca
        self.store = cluster.store
        self.cond = threading.Condition()
        self.queue: collections.OrderedDict = collections.OrderedDict()
        self.timers: list = []
        self.timer_items: dict = {}
        self.busy = False
        self.running = False
        self.thread: threading.Thread | None = None
        self.uids: dict[str, tuple] = {}
        self.ip = 0
        self.node_rr = 0
        self.errors = 0
        self.store.listeners.append(self._on_event)

    # -- queueing ------------------------------------------------------------------------
    def enqueue(self, *item) -> None:
        with self.cond:
            self.queue[item] = None
            self.cond.notify()

    def later(self, delay: float, *item, periodic: bool = False) -> None:
        """Queue `item` after `delay` seconds (once: an earlier pending timer for it wins).
        Periodic timers (re-checks far in the future) do not count as pending work."""
        when = time.monotonic() + max(delay, 0)
        with self.cond:
            if item in self.timer_items and self.timer_items[item] <= when:
                return
            self.timer_items[item] = when
            heapq.heappush(self.timers, (when, random.random(), periodic, item))
            self.cond.notify()

    def _on_event(self, etype: str, key: tuple, obj: dict, old: dict | None) -> None:
        meta = obj.get("metadata", {})
        ns, name, uid = meta.get("namespace", ""), meta["name"], meta.get("uid")
        if etype == "DELETED":
            self.uids.pop(uid, None)
            self.enqueue("gc", uid)
        elif uid:
            self.uids[uid] = (key, ns, name)
        if meta.get("deletionTimestamp") and "foregroundDeletion" in (meta.get("finalizers") or []):
            self.enqueue("foreground", key, ns, name)
        for ref in meta.get("ownerReferences") or []:
            kind = OWNER_KINDS.get(ref.get("kind"))
            if kind and ref.get("controller"):
                self.enqueue(kind, ns, ref["name"])
            if etype == "DELETED" and ref.get("uid") in self.uids:
                okey, ons, oname = self.uids[ref["uid"]]
                self.enqueue("foreground", okey, ons, oname)
        if key == K_DEPLOY:
            self.enqueue("deploy", ns, name)
        elif key == K_RS:
            self.enqueue("rs", ns, name)
        elif key == K_POD:
            if etype != "DELETED":
                self.enqueue("kubelet", ns, name)
            self.enqueue("pods-changed", ns)
        elif key == K_SVC:
            self.enqueue("endpoints", ns, name)
        elif key == K_STS:
            self.enqueue("sts", ns, name)
        elif key == K_DS:
            self.enqueue("ds", ns, name)
        elif key == K_NODE:
            self.enqueue("all-ds")
        elif key == K_JOB:
            self.enqueue("job", ns, name)
        elif key == K_CJ:
            self.enqueue("cj", ns, name)
        elif key == K_NS:
            self.enqueue("ns", name)
        elif key == K_PVC:
            self.enqueue("pvc", ns, name)
        elif key == K_SC:
            self.enqueue("all-pvc")
        elif key == K_PDB:
            self.enqueue("pdb", ns, name)
        elif key == K_ING:
            self.enqueue("ingress", ns, name)
        elif key == K_CERT:
            self.enqueue("cert", ns, name)
        elif key in (K_ISSUER, K_CISSUER):
            self.enqueue("issuer", key, ns, name)
        elif key == K_SECRET and etype == "DELETED":
            self.enqueue("certs-in", ns)

    # -- the worker ----------------------------------------------------------------------
    def start(self) -> None:
        self.running = True
        self.thread = threading.Thread(target=self._run, name="lab-k8s-controllers", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        with self.cond:
            self.running = False
            self.cond.notify_all()
        if self.thread is not None:
            self.thread.join(5)

    def _next(self):
        with self.cond:
            while self.running:
                now = time.monotonic()
                while self.timers and self.timers[0][0] <= now:
                    when, _, _, item = heapq.heappop(self.timers)
                    if self.timer_items.get(item) == when:
                        del self.timer_items[item]
                    self.queue[item] = None
                if self.queue:
                    item, _ = self.queue.popitem(last=False)
                    self.busy = True
                    return item
                self.busy = False
                self.cond.notify_all()
                wait = self.timers[0][0] - now if self.timers else 1.0
                self.cond.wait(min(max(wait, 0.005), 1.0))
            return None

    def _run(self) -> None:
        while True:
            item = self._next()
            if item is None:
                return
            try:
                getattr(self, "_h_" + item[0].replace("-", "_"))(*item[1:])
            except ApiError as exc:
                if exc.code in (409, 404):
                    self.later(0.05, *item)
                else:
                    self.errors += 1
            except Exception:  # noqa: BLE001 - a controller error must not stop the others
                self.errors += 1
                traceback.print_exc()

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """True once nothing is queued and no one-shot timer is pending."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while time.monotonic() < deadline:
                pending = any(not periodic for _, _, periodic, _ in self.timers)
                if not self.queue and not self.busy and not pending:
                    return True
                self.cond.wait(0.05)
        return False

    # -- helpers -------------------------------------------------------------------------
    def res(self, key):
        return self.cluster.registry.by_key(key)

    def get(self, key, ns, name) -> dict | None:
        entry = self.store.get(key, ns, name)
        return None if entry is None else _copy(entry)

    def owned(self, owner: dict, key) -> list[dict]:
        uid = owner["metadata"]["uid"]
        out = []
        for dkey, ns, name in self.store.dependents(uid):
            if dkey == key:
                entry = self.store.get(dkey, ns, name)
                if entry is not None:
                    ref = controller_of(entry.obj)
                    if ref and ref.get("uid") == uid:
                        out.append(entry.obj)
        return sorted(out, key=lambda o: o["metadata"]["name"])

    def set_status(self, key, obj: dict, status: dict) -> None:
        if obj.get("status") == status:
            return
        new = dict(obj)
        new["status"] = status
        meta = obj["metadata"]
        self.cluster.update(self.res(key), meta.get("namespace", ""), meta["name"], new, subresource="status")

    def update(self, key, obj: dict) -> dict:
        meta = obj["metadata"]
        return self.cluster.update(self.res(key), meta.get("namespace", ""), meta["name"], obj)

    def create(self, key, ns, obj: dict) -> dict:
        return self.cluster.create(self.res(key), ns, obj)

    def delete(self, key, ns, name) -> None:
        try:
            self.cluster.delete(self.res(key), ns, name, propagation="Background")
        except ApiError as exc:
            if exc.code != 404:
                raise

    def event(self, obj: dict, reason: str, message: str, etype: str = "Normal",
              component: str = "lab-controller-manager") -> None:
        meta = obj["metadata"]
        ns = meta.get("namespace") or "default"
        now = now_iso()
        try:
            self.create(K_EVENT, ns, {
                "metadata": {"name": f"{meta['name']}.{random.getrandbits(64):016x}", "namespace": ns},
                "involvedObject": {"kind": obj["kind"], "namespace": meta.get("namespace", ""),
                                   "name": meta["name"], "uid": meta["uid"], "apiVersion": obj["apiVersion"],
                                   "resourceVersion": meta.get("resourceVersion")},
                "reason": reason, "message": message, "type": etype, "count": 1,
                "firstTimestamp": now, "lastTimestamp": now,
                "source": {"component": component},
                "reportingComponent": component, "reportingInstance": "lab"})
        except ApiError:
            pass

    def new_pod(self, owner: dict, template: dict, name: str, extra_labels: dict | None = None,
                node: str | None = None, extra_annotations: dict | None = None) -> dict:
        tmeta = template.get("metadata") or {}
        labels = dict(tmeta.get("labels") or {})
        labels.update(extra_labels or {})
        annotations = dict(tmeta.get("annotations") or {})
        annotations.update(extra_annotations or {})
        pod = {"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": name, "namespace": owner["metadata"]["namespace"], "labels": labels,
                            "ownerReferences": [owner_ref(owner)]},
               "spec": json.loads(json.dumps(template.get("spec") or {}))}
        if annotations:
            pod["metadata"]["annotations"] = annotations
        if node:
            pod["spec"]["nodeName"] = node
        return self.create(K_POD, owner["metadata"]["namespace"], pod)

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
        if complete:
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
                self.new_pod(rs, spec.get("template") or {}, f"{name}-{''.join(random.choices(ALPHABET, k=5))}")
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
        status = {"replicas": len(pods), "fullyLabeledReplicas": len(pods), "readyReplicas": ready,
                  "availableReplicas": available, "observedGeneration": rs["metadata"].get("generation", 1)}
        for k in ("readyReplicas", "availableReplicas", "fullyLabeledReplicas"):
            if status[k] == 0:
                status.pop(k)
        self.set_status(K_RS, rs, status)

    # -- the simulated kubelet and scheduler ---------------------------------------------
    def _pick_node(self, pod: dict) -> str:
        nodes = [e.obj for e in self.store.list(K_NODE)]
        spec = pod.get("spec") or {}
        selector = spec.get("nodeSelector") or {}
        fit = [n for n in nodes if not (n.get("spec") or {}).get("unschedulable")
               and all((n["metadata"].get("labels") or {}).get(k) == v for k, v in selector.items())
               and tolerates(spec, n)]
        pool = fit or nodes
        if not pool:
            return "lab-node-1"
        self.node_rr += 1
        return pool[self.node_rr % len(pool)]["metadata"]["name"]

    def _h_kubelet(self, ns: str, name: str) -> None:
        pod = self.get(K_POD, ns, name)
        if pod is None or pod["metadata"].get("deletionTimestamp"):
            return
        status = pod.get("status") or {}
        if status.get("phase"):
            return
        spec = pod.get("spec") or {}
        if not spec.get("nodeName"):
            pod["spec"]["nodeName"] = self._pick_node(pod)
            pod = self.update(K_POD, pod)
            pod = json.loads(json.dumps(pod))
        self.ip += 1
        node = self.get(K_NODE, "", pod["spec"]["nodeName"]) or {}
        host_ip = next((a["address"] for a in (node.get("status") or {}).get("addresses") or []
                        if a.get("type") == "InternalIP"), "192.168.49.2")
        ip = f"10.244.{self.ip // 250 % 250}.{self.ip % 250 + 2}"
        now = now_iso()
        pending = {"phase": "Pending", "hostIP": host_ip, "hostIPs": [{"ip": host_ip}],
                   "podIP": ip, "podIPs": [{"ip": ip}], "startTime": now, "qosClass": "BestEffort",
                   "conditions": [{"type": "PodScheduled", "status": "True", "lastTransitionTime": now}],
                   "containerStatuses": [{"name": c.get("name"), "image": c.get("image"), "imageID": "",
                                          "ready": False, "started": False, "restartCount": 0,
                                          "state": {"waiting": {"reason": "ContainerCreating"}}}
                                         for c in spec.get("containers") or []]}
        self.set_status(K_POD, pod, pending)
        self.event(pod, "Scheduled", f"Successfully assigned {ns}/{name} to {pod['spec']['nodeName']}",
                   component="default-scheduler")
        self.later(self.config.controller_delay, "pod-start", ns, name, pod["metadata"]["uid"])

    def _h_pod_start(self, ns: str, name: str, uid: str) -> None:
        pod = self.get(K_POD, ns, name)
        if pod is None or pod["metadata"]["uid"] != uid or pod["metadata"].get("deletionTimestamp"):
            return
        status = dict(pod.get("status") or {})
        if status.get("phase") != "Pending":
            return
        ann = pod["metadata"].get("annotations") or {}
        owner = controller_of(pod) or {}
        now = now_iso()
        containers = (pod.get("spec") or {}).get("containers") or []

        def image_id(image: str) -> str:
            if "@sha256:" in image:
                return image
            return f"{image.split(':')[0]}@sha256:{hashlib.sha256(image.encode()).hexdigest()}"

        if owner.get("kind") == "Job" or (pod.get("spec") or {}).get("restartPolicy") in ("Never", "OnFailure") \
                and owner.get("kind") != "ReplicaSet":
            failed = ann.get(LAB + "fail") == "true"
            status["phase"] = "Failed" if failed else "Succeeded"
            status["conditions"] = [
                {"type": "PodScheduled", "status": "True", "lastTransitionTime": now},
                {"type": "Initialized", "status": "True", "lastTransitionTime": now},
                {"type": "Ready", "status": "False", "reason": "PodCompleted", "lastTransitionTime": now},
                {"type": "ContainersReady", "status": "False", "reason": "PodCompleted", "lastTransitionTime": now}]
            status["containerStatuses"] = [
                {"name": c.get("name"), "image": c.get("image"), "imageID": image_id(c.get("image", "")),
                 "ready": False, "started": False, "restartCount": 0,
                 "containerID": f"containerd://{hashlib.sha256((uid + str(c.get('name'))).encode()).hexdigest()}",
                 "state": {"terminated": {"exitCode": 1 if failed else 0,
                                          "reason": "Error" if failed else "Completed",
                                          "startedAt": now, "finishedAt": now}}} for c in containers]
            self.set_status(K_POD, pod, status)
            return
        ready = ann.get(LAB + "ready", "true") != "false"
        flag = "True" if ready else "False"
        status["phase"] = "Running"
        status["conditions"] = [
            {"type": "PodReadyToStartContainers", "status": "True", "lastTransitionTime": now},
            {"type": "Initialized", "status": "True", "lastTransitionTime": now},
            {"type": "Ready", "status": flag, "lastTransitionTime": now,
             **({} if ready else {"reason": "ContainersNotReady",
                                  "message": "containers with unready status: [" +
                                             " ".join(c.get("name", "") for c in containers) + "]"})},
            {"type": "ContainersReady", "status": flag, "lastTransitionTime": now},
            {"type": "PodScheduled", "status": "True", "lastTransitionTime": now}]
        status["containerStatuses"] = [
            {"name": c.get("name"), "image": c.get("image"), "imageID": image_id(c.get("image", "")),
             "ready": ready, "started": True, "restartCount": 0,
             "containerID": f"containerd://{hashlib.sha256((uid + str(c.get('name'))).encode()).hexdigest()}",
             "state": {"running": {"startedAt": now}}} for c in containers]
        self.set_status(K_POD, pod, status)
        for c in containers:
            self.event(pod, "Started", f"Started container {c.get('name')}", component="kubelet")
        if not ready:
            self.event(pod, "Unhealthy", "Readiness probe failed: HTTP probe failed with statuscode: 503", "Warning",
                       component="kubelet")

    # -- services ------------------------------------------------------------------------
    def _h_pods_changed(self, ns: str) -> None:
        for entry in self.store.list(K_SVC, ns):
            self.enqueue("endpoints", ns, entry.obj["metadata"]["name"])
        for entry in self.store.list(K_PDB, ns):
            self.enqueue("pdb", ns, entry.obj["metadata"]["name"])

    def _h_endpoints(self, ns: str, name: str) -> None:
        svc = self.store.get(K_SVC, ns, name)
        slice_name = f"{name}-lab"
        if svc is None:
            self.delete(K_EP, ns, name)
            return
        svc = svc.obj
        spec = svc.get("spec") or {}
        if spec.get("type") == "LoadBalancer" and not ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress"):
            lb_ip = f"192.0.2.{int(hashlib.sha256((ns + name).encode()).hexdigest(), 16) % 200 + 10}"
            self.set_status(K_SVC, _copy(self.store.get(K_SVC, ns, name)),
                            {"loadBalancer": {"ingress": [{"ip": lb_ip, "ipMode": "VIP"}]}})
        selector = spec.get("selector")
        if not selector:
            return
        pods = [e.obj for e in self.store.list(K_POD, ns)
                if all((e.obj["metadata"].get("labels") or {}).get(k) == v for k, v in selector.items())
                and (e.obj.get("status") or {}).get("podIP")
                and (e.obj.get("status") or {}).get("phase") in ("Pending", "Running")
                and not e.obj["metadata"].get("deletionTimestamp")]
        pods.sort(key=lambda p: p["metadata"]["name"])

        def target_port(port: dict, pod: dict):
            tp = port.get("targetPort", port.get("port"))
            if isinstance(tp, str) and not tp.isdigit():
                for c in (pod.get("spec") or {}).get("containers") or []:
                    for cp in c.get("ports") or []:
                        if cp.get("name") == tp:
                            return cp.get("containerPort")
                return None
            return int(tp)

        ports = []
        for port in spec.get("ports") or []:
            resolved = next((target_port(port, p) for p in pods if target_port(port, p)), None)
            if resolved is None:
                tp = port.get("targetPort", port.get("port"))
                resolved = int(tp) if isinstance(tp, int) or str(tp).isdigit() else port.get("port")
            entry = {"port": resolved, "protocol": port.get("protocol", "TCP")}
            if port.get("name"):
                entry["name"] = port["name"]
            if port.get("appProtocol"):
                entry["appProtocol"] = port["appProtocol"]
            ports.append(entry)

        def address(p: dict) -> dict:
            return {"ip": p["status"]["podIP"], "nodeName": p["spec"].get("nodeName"),
                    "targetRef": {"kind": "Pod", "namespace": ns, "name": p["metadata"]["name"],
                                  "uid": p["metadata"]["uid"]}}

        ready = [address(p) for p in pods if is_ready(p)]
        not_ready = [address(p) for p in pods if not is_ready(p)]
        subset = {}
        if ready:
            subset["addresses"] = ready
        if not_ready:
            subset["notReadyAddresses"] = not_ready
        if subset:
            subset["ports"] = ports
        body = {"metadata": {"name": name, "namespace": ns, "labels": dict(svc["metadata"].get("labels") or {})}}
        if subset:
            body["subsets"] = [subset]
        self._put(K_EP, ns, name, body, ("subsets", "metadata.labels"))
        slice_body = {
            "metadata": {"name": slice_name, "namespace": ns,
                         "labels": {**(svc["metadata"].get("labels") or {}),
                                    "kubernetes.io/service-name": name,
                                    "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"},
                         "ownerReferences": [owner_ref(svc)]},
            "addressType": "IPv4",
            "endpoints": [{"addresses": [p["status"]["podIP"]],
                           "conditions": {"ready": is_ready(p), "serving": is_ready(p), "terminating": False},
                           "nodeName": p["spec"].get("nodeName"),
                           "targetRef": {"kind": "Pod", "namespace": ns, "name": p["metadata"]["name"],
                                         "uid": p["metadata"]["uid"]}} for p in pods],
            "ports": ports}
        self._put(K_EPS, ns, slice_name, slice_body, ("endpoints", "ports", "metadata.labels"))

    def _put(self, key, ns: str, name: str, body: dict, fields: tuple) -> None:
        current = self.get(key, ns, name)
        if current is None:
            self.create(key, ns, body)
            return
        changed = False
        for f in fields:
            if "." in f:
                a, b = f.split(".")
                if current.get(a, {}).get(b) != body.get(a, {}).get(b):
                    current.setdefault(a, {})[b] = body.get(a, {}).get(b)
                    changed = True
            elif current.get(f) != body.get(f):
                if f in body:
                    current[f] = body[f]
                else:
                    current.pop(f, None)
                changed = True
        if changed:
            self.update(key, current)

    # -- stateful sets and daemon sets ---------------------------------------------------
    def _revisions(self, owner: dict, template: dict, rev_name: str, annotations: dict | None = None) -> None:
        """Keep a ControllerRevision per template (what `rollout history|undo` read), the current
        one holding the highest revision number; prune beyond revisionHistoryLimit."""
        ns = owner["metadata"]["namespace"]
        crs = self.owned(owner, K_CR)
        top = max((cr.get("revision", 0) for cr in crs), default=0)
        current = next((cr for cr in crs if cr["metadata"]["name"] == rev_name), None)
        if current is None:
            labels = dict(((owner.get("spec") or {}).get("selector") or {}).get("matchLabels") or {})
            labels["controller-revision-hash"] = rev_name.rsplit("-", 1)[-1]
            tpl = json.loads(json.dumps(template))
            tpl["$patch"] = "replace"
            meta = {"name": rev_name, "labels": labels, "ownerReferences": [owner_ref(owner)]}
            if annotations:
                meta["annotations"] = annotations
            try:
                self.create(K_CR, ns, {"metadata": meta, "data": {"spec": {"template": tpl}}, "revision": top + 1})
            except ApiError as exc:
                if exc.code != 409:
                    raise
        elif current.get("revision", 0) < top or (annotations and any(
                (current["metadata"].get("annotations") or {}).get(k) != v for k, v in annotations.items())):
            obj = self.get(K_CR, ns, rev_name)
            if current.get("revision", 0) < top:
                obj["revision"] = top + 1
            if annotations:
                obj["metadata"].setdefault("annotations", {}).update(annotations)
            self.update(K_CR, obj)
        limit = (owner.get("spec") or {}).get("revisionHistoryLimit", 10)
        old = sorted((cr for cr in crs if cr["metadata"]["name"] != rev_name), key=lambda cr: cr.get("revision", 0))
        for cr in old[:max(len(old) - limit, 0)]:
            self.delete(K_CR, ns, cr["metadata"]["name"])

    def _h_sts(self, ns: str, name: str) -> None:
        sts = self.get(K_STS, ns, name)
        if sts is None or sts["metadata"].get("deletionTimestamp"):
            return
        spec = sts.get("spec") or {}
        want = spec.get("replicas", 1)
        rev = f"{name}-{template_hash(spec.get('template'))}"
        self._revisions(sts, spec.get("template") or {}, rev)
        ordered = spec.get("podManagementPolicy", "OrderedReady") == "OrderedReady"
        pods = {}
        for p in self.owned(sts, K_POD):
            m = re.match(rf"^{re.escape(name)}-(\d+)$", p["metadata"]["name"])
            if m:
                pods[int(m.group(1))] = p
        for i in range(want):
            if i in pods:
                if ordered and not is_ready(pods[i]):
                    break
                continue
            for claim in spec.get("volumeClaimTemplates") or []:
                cname = f"{claim['metadata']['name']}-{name}-{i}"
                if self.store.get(K_PVC, ns, cname) is None:
                    self.create(K_PVC, ns, {"metadata": {"name": cname, "labels": dict(
                        ((spec.get("selector") or {}).get("matchLabels") or {}))},
                        "spec": json.loads(json.dumps(claim.get("spec") or {}))})
            tpl = spec.get("template") or {}
            self.new_pod(sts, tpl, f"{name}-{i}", {"controller-revision-hash": rev,
                                                   "statefulset.kubernetes.io/pod-name": f"{name}-{i}",
                                                   "apps.kubernetes.io/pod-index": str(i)})
            if ordered:
                break
        for i in sorted(pods, reverse=True):
            if i >= want:
                self.delete(K_POD, ns, pods[i]["metadata"]["name"])
                if ordered:
                    break
        live = [p for i, p in pods.items() if i < want]
        if len(live) == want and all(is_ready(p) for p in live):
            stale = [i for i, p in pods.items() if i < want and
                     (p["metadata"].get("labels") or {}).get("controller-revision-hash") != rev]
            if stale:
                self.delete(K_POD, ns, pods[max(stale)]["metadata"]["name"])
        current = [p for p in pods.values() if (p["metadata"].get("labels") or {}).get("controller-revision-hash") == rev]
        ready = sum(1 for p in pods.values() if is_ready(p))
        status = {"observedGeneration": sts["metadata"].get("generation", 1), "replicas": len(pods),
                  "readyReplicas": ready, "currentReplicas": len(current), "updatedReplicas": len(current),
                  "availableReplicas": ready, "currentRevision": rev, "updateRevision": rev, "collisionCount": 0}
        for k in ("readyReplicas", "currentReplicas", "updatedReplicas"):
            if status[k] == 0:
                status.pop(k)
        self.set_status(K_STS, sts, status)

    def _h_all_ds(self) -> None:
        for entry in self.store.list(K_DS):
            meta = entry.obj["metadata"]
            self.enqueue("ds", meta["namespace"], meta["name"])

    def _h_ds(self, ns: str, name: str) -> None:
        ds = self.get(K_DS, ns, name)
        if ds is None or ds["metadata"].get("deletionTimestamp"):
            return
        spec = ds.get("spec") or {}
        tpl = spec.get("template") or {}
        pod_spec = tpl.get("spec") or {}
        selector = pod_spec.get("nodeSelector") or {}
        nodes = [e.obj for e in self.store.list(K_NODE)
                 if all((e.obj["metadata"].get("labels") or {}).get(k) == v for k, v in selector.items())
                 and tolerates(pod_spec, e.obj)]
        node_names = {n["metadata"]["name"] for n in nodes}
        unready = {x.strip() for x in ((ds["metadata"].get("annotations") or {}).get(LAB + "unready-nodes") or "")
                   .split(",") if x.strip()}
        rev = template_hash(tpl)
        gen = str(ds["metadata"].get("generation", 1))
        self._revisions(ds, tpl, f"{name}-{rev}", {"deprecated.daemonset.template.generation": gen})
        if (ds["metadata"].get("annotations") or {}).get("deprecated.daemonset.template.generation") != gen:
            ds["metadata"].setdefault("annotations", {})["deprecated.daemonset.template.generation"] = gen
            ds = json.loads(json.dumps(self.update(K_DS, ds)))
        pods = self.owned(ds, K_POD)
        by_node: dict[str, list] = collections.defaultdict(list)
        for p in pods:
            by_node[(p.get("spec") or {}).get("nodeName", "")].append(p)
        for node in sorted(node_names):
            if not by_node.get(node):
                extra = {LAB + "ready": "false"} if node in unready else None
                self.new_pod(ds, tpl, f"{name}-{''.join(random.choices(ALPHABET, k=5))}",
                             {"controller-revision-hash": rev, "pod-template-generation":
                              str(ds["metadata"].get("generation", 1))}, node=node, extra_annotations=extra)
        for node, plist in by_node.items():
            if node not in node_names:
                for p in plist:
                    self.delete(K_POD, ns, p["metadata"]["name"])
            else:
                for p in plist[1:]:
                    self.delete(K_POD, ns, p["metadata"]["name"])
        # Rolling update: replace one stale pod at a time once all others are ready.
        stale = [p for p in pods if (p["metadata"].get("labels") or {}).get("controller-revision-hash") != rev
                 and p["spec"].get("nodeName") in node_names]
        if stale and all(is_ready(p) or p in stale for p in pods):
            self.delete(K_POD, ns, stale[0]["metadata"]["name"])
        scheduled = [p for p in pods if (p.get("spec") or {}).get("nodeName") in node_names]
        ready = sum(1 for p in scheduled if is_ready(p))
        updated = sum(1 for p in scheduled if (p["metadata"].get("labels") or {}).get("controller-revision-hash") == rev)
        status = {"currentNumberScheduled": len({p["spec"]["nodeName"] for p in scheduled}),
                  "desiredNumberScheduled": len(node_names), "numberMisscheduled": 0,
                  "numberReady": ready, "numberAvailable": ready, "updatedNumberScheduled": updated,
                  "observedGeneration": ds["metadata"].get("generation", 1)}
        if len(node_names) - ready:
            status["numberUnavailable"] = len(node_names) - ready
        if not ready:
            status.pop("numberAvailable")
        self.set_status(K_DS, ds, status)

    # -- jobs and cron jobs --------------------------------------------------------------
    def _h_job(self, ns: str, name: str) -> None:
        job = self.get(K_JOB, ns, name)
        if job is None or job["metadata"].get("deletionTimestamp"):
            return
        spec = job.get("spec") or {}
        status = dict(job.get("status") or {})
        conds = status.get("conditions") or []
        if any(c.get("type") in ("Complete", "Failed") and c.get("status") == "True" for c in conds):
            return
        if spec.get("suspend"):
            return
        pods = self.owned(job, K_POD)
        succeeded = sum(1 for p in pods if (p.get("status") or {}).get("phase") == "Succeeded")
        failed = sum(1 for p in pods if (p.get("status") or {}).get("phase") == "Failed")
        active = [p for p in pods if (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]
        completions = spec.get("completions", 1)
        parallelism = spec.get("parallelism", 1)
        status.setdefault("startTime", now_iso())
        now = now_iso()
        if succeeded >= completions:
            conds = set_condition(conds, "SuccessCriteriaMet", "True", "CompletionsReached",
                                  "Reached expected number of succeeded pods")
            conds = set_condition(conds, "Complete", "True", "CompletionsReached",
                                  "Reached expected number of succeeded pods")
            for c in conds:
                c.setdefault("lastProbeTime", now)
            status.update(conditions=conds, completionTime=now)
            status.pop("active", None)
        elif failed > spec.get("backoffLimit", 6):
            conds = set_condition(conds, "FailureTarget", "True", "BackoffLimitExceeded",
                                  "Job has reached the specified backoff limit")
            conds = set_condition(conds, "Failed", "True", "BackoffLimitExceeded",
                                  "Job has reached the specified backoff limit")
            status["conditions"] = conds
            status.pop("active", None)
        else:
            todo = min(parallelism, completions - succeeded) - len(active)
            for _ in range(max(todo, 0)):
                extra = {"job-name": name, "batch.kubernetes.io/job-name": name,
                         "controller-uid": job["metadata"]["uid"],
                         "batch.kubernetes.io/controller-uid": job["metadata"]["uid"]}
                tpl = json.loads(json.dumps(spec.get("template") or {}))
                tpl.setdefault("spec", {}).setdefault("restartPolicy", "Never")
                self.new_pod(job, tpl, f"{name}-{''.join(random.choices(ALPHABET, k=5))}", extra)
            status["active"] = max(len(active), min(parallelism, completions - succeeded))
        status["ready"] = sum(1 for p in active if is_ready(p))
        status["terminating"] = 0
        status["uncountedTerminatedPods"] = {}
        if succeeded:
            status["succeeded"] = succeeded
        if failed:
            status["failed"] = failed
        self.set_status(K_JOB, job, status)

    def _h_cj(self, ns: str, name: str) -> None:
        cj = self.get(K_CJ, ns, name)
        if cj is None or cj["metadata"].get("deletionTimestamp"):
            return
        spec = cj.get("spec") or {}
        status = dict(cj.get("status") or {})
        now = dt.datetime.now(dt.timezone.utc)
        jobs = self.owned(cj, K_JOB)
        if not spec.get("suspend"):
            since = parse_iso(status.get("lastScheduleTime") or cj["metadata"]["creationTimestamp"])
            times = cron_times(spec.get("schedule", ""), since, now, limit=1)
            if times:
                t = times[-1]
                job_name = f"{name}-{int(t.timestamp() // 60)}"
                if self.store.get(K_JOB, ns, job_name) is None:
                    tpl = json.loads(json.dumps(spec.get("jobTemplate") or {}))
                    meta = tpl.get("metadata") or {}
                    meta.update(name=job_name, ownerReferences=[owner_ref(cj)])
                    meta.setdefault("annotations", {})["batch.kubernetes.io/cronjob-scheduled-timestamp"] = iso(t)
                    self.create(K_JOB, ns, {"metadata": meta, "spec": tpl.get("spec") or {}})
                    self.event(cj, "SuccessfulCreate", f"Created job {job_name}")
                status["lastScheduleTime"] = iso(t)
                jobs = self.owned(cj, K_JOB)
            self.later(60 - now.second + 0.5, "cj", ns, name, periodic=True)
        done, failed, active = [], [], []
        for j in jobs:
            conds = {c.get("type") for c in (j.get("status") or {}).get("conditions") or [] if c.get("status") == "True"}
            (done if "Complete" in conds else failed if "Failed" in conds else active).append(j)
        if done:
            last = max((j.get("status") or {}).get("completionTime", "") for j in done)
            if last and last > status.get("lastSuccessfulTime", ""):
                status["lastSuccessfulTime"] = last
        if active:
            status["active"] = [{"kind": "Job", "namespace": ns, "name": j["metadata"]["name"],
                                 "uid": j["metadata"]["uid"], "apiVersion": "batch/v1",
                                 "resourceVersion": j["metadata"]["resourceVersion"]} for j in active]
        else:
            status.pop("active", None)
        for group, limit in ((done, spec.get("successfulJobsHistoryLimit", 3)),
                             (failed, spec.get("failedJobsHistoryLimit", 1))):
            group.sort(key=lambda j: j["metadata"]["creationTimestamp"])
            for j in group[:max(len(group) - limit, 0)]:
                self.delete(K_JOB, ns, j["metadata"]["name"])
        self.set_status(K_CJ, cj, status)

    # -- storage and disruption budgets --------------------------------------------------
    def _h_all_pvc(self) -> None:
        for entry in self.store.list(K_PVC):
            meta = entry.obj["metadata"]
            self.enqueue("pvc", meta["namespace"], meta["name"])

    def _h_pvc(self, ns: str, name: str) -> None:
        pvc = self.get(K_PVC, ns, name)
        if pvc is None or (pvc.get("status") or {}).get("phase") == "Bound":
            return
        spec = pvc.get("spec") or {}
        sc_name = spec.get("storageClassName")
        if sc_name is None:
            default = next((e.obj for e in self.store.list(K_SC) if (e.obj["metadata"].get("annotations") or {})
                            .get("storageclass.kubernetes.io/is-default-class") == "true"), None)
            if default is not None:
                pvc["spec"]["storageClassName"] = default["metadata"]["name"]
                pvc = json.loads(json.dumps(self.update(K_PVC, pvc)))
                sc_name = default["metadata"]["name"]
        if sc_name and self.store.get(K_SC, "", sc_name) is not None:
            if not pvc["spec"].get("volumeName"):
                pvc["spec"]["volumeName"] = f"pvc-{pvc['metadata']['uid']}"
                pvc["metadata"].setdefault("annotations", {})["pv.kubernetes.io/bind-completed"] = "yes"
                pvc = json.loads(json.dumps(self.update(K_PVC, pvc)))
            self.set_status(K_PVC, pvc, {"phase": "Bound", "accessModes": spec.get("accessModes") or ["ReadWriteOnce"],
                                         "capacity": {"storage": ((spec.get("resources") or {}).get("requests") or {})
                                                      .get("storage", "1Gi")}})
        else:
            self.set_status(K_PVC, pvc, {"phase": "Pending"})
            if (pvc.get("status") or {}).get("phase") != "Pending":
                self.event(pvc, "FailedBinding", "no persistent volumes available for this claim and no storage "
                                                 "class is set", "Warning")

    def _h_pdb(self, ns: str, name: str) -> None:
        pdb = self.get(K_PDB, ns, name)
        if pdb is None:
            return
        spec = pdb.get("spec") or {}
        match = selector_from_match(spec.get("selector"))
        pods = [e.obj for e in self.store.list(K_POD, ns) if match(e.obj["metadata"].get("labels") or {})
                and (e.obj.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]
        expected = len(pods)
        healthy = sum(1 for p in pods if is_ready(p))
        if "minAvailable" in spec:
            desired = scaled(spec["minAvailable"], expected, True)
        elif "maxUnavailable" in spec:
            desired = max(0, expected - scaled(spec["maxUnavailable"], expected, True))
        else:
            desired = expected
        allowed = max(0, healthy - desired)
        conds = set_condition((pdb.get("status") or {}).get("conditions") or [], "DisruptionAllowed",
                              "True" if allowed else "False",
                              "SufficientPods" if allowed else "InsufficientPods", "")
        for c in conds:
            c["observedGeneration"] = pdb["metadata"].get("generation", 1)
        self.set_status(K_PDB, pdb, {"observedGeneration": pdb["metadata"].get("generation", 1),
                                     "currentHealthy": healthy, "desiredHealthy": desired,
                                     "expectedPods": expected, "disruptionsAllowed": allowed,
                                     "conditions": conds})

    def _h_ingress(self, ns: str, name: str) -> None:
        ing = self.get(K_ING, ns, name)
        if ing is None:
            return
        cls_name = (ing.get("spec") or {}).get("ingressClassName")
        classes = [e.obj for e in self.store.list(("networking.k8s.io", "ingressclasses"))]
        cls = next((c for c in classes if c["metadata"]["name"] == cls_name), None) if cls_name else next(
            (c for c in classes if (c["metadata"].get("annotations") or {}).get(
                "ingressclass.kubernetes.io/is-default-class") == "true"), None)
        if cls is None:
            return
        # The controller's LoadBalancer Service (any in the cluster labelled for this class) gives the address.
        ip = None
        for entry in self.store.list(K_SVC):
            svc = entry.obj
            lbls = svc["metadata"].get("labels") or {}
            if (svc.get("spec") or {}).get("type") == "LoadBalancer" and \
                    lbls.get("app.kubernetes.io/name") in ("ingress-nginx", cls["metadata"]["name"]):
                ips = ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
                ip = ips[0].get("ip") if ips else None
        if ip is None:
            self.later(max(self.config.controller_delay, 1.0), "ingress", ns, name, periodic=True)
            return
        self.set_status(K_ING, ing, {"loadBalancer": {"ingress": [{"ip": ip}]}})

    # -- cert-manager --------------------------------------------------------------------
    def _h_issuer(self, key, ns: str, name: str) -> None:
        issuer = self.get(key, ns, name)
        if issuer is not None and not (issuer.get("status") or {}).get("conditions"):
            kind = "ACMEAccountRegistered" if "acme" in (issuer.get("spec") or {}) else "KeyPairVerified"
            self.set_status(key, issuer, {"conditions": [{
                "type": "Ready", "status": "True", "reason": kind, "message": "Signing CA verified",
                "lastTransitionTime": now_iso(), "observedGeneration": issuer["metadata"].get("generation", 1)}]})
        self._h_certs_in(None)

    def _h_certs_in(self, ns) -> None:
        res = self.res(K_CERT)
        if res is None:
            return
        for entry in self.store.list(K_CERT, ns):
            meta = entry.obj["metadata"]
            self.enqueue("cert", meta["namespace"], meta["name"])

    def _h_cert(self, ns: str, name: str) -> None:
        if self.res(K_CERT) is None:
            return
        cert = self.get(K_CERT, ns, name)
        if cert is None:
            return
        spec = cert.get("spec") or {}
        status = dict(cert.get("status") or {})
        ref = spec.get("issuerRef") or {}
        ikind = ref.get("kind", "Issuer")
        ikey = K_CISSUER if ikind == "ClusterIssuer" else K_ISSUER
        issuer = self.store.get(ikey, "" if ikind == "ClusterIssuer" else ns, ref.get("name", "")) \
            if self.res(ikey) else None
        issuer_ready = issuer is not None and any(
            c.get("type") == "Ready" and c.get("status") == "True"
            for c in (issuer.obj.get("status") or {}).get("conditions") or [])
        gen = cert["metadata"].get("generation", 1)
        if not issuer_ready:
            reason = "IssuerNotFound" if issuer is None else "IssuerNotReady"
            msg = f'Referenced "{ikind}" not found' if issuer is None else f'Issuer "{ref.get("name")}" is not Ready'
            status["conditions"] = set_condition(status.get("conditions") or [], "Ready", "False", reason, msg)
            for c in status["conditions"]:
                c["observedGeneration"] = gen
            self.set_status(K_CERT, cert, status)
            return
        secret_name = spec.get("secretName") or name
        secret = self.store.get(K_SECRET, ns, secret_name)
        dns = list(spec.get("dnsNames") or [])
        alt = ",".join(dns)
        ann = (secret.obj["metadata"].get("annotations") or {}) if secret else {}
        up_to_date = secret is not None and ann.get("cert-manager.io/certificate-name") == name and \
            ann.get("cert-manager.io/alt-names", "") == alt and \
            ann.get(LAB + "issued-generation") == str(gen) and status.get("notAfter")
        if not up_to_date:
            offset = go_duration((cert["metadata"].get("annotations") or {}).get(LAB + "not-after-offset"))
            lifetime = offset if offset is not None else (go_duration(spec.get("duration")) or
                                                          self.config.certificate_duration)
            now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
            not_after = now + dt.timedelta(seconds=lifetime)
            not_before = min(now, not_after - dt.timedelta(seconds=60)) - dt.timedelta(minutes=5)
            cn = spec.get("commonName") or (dns[0] if dns else name)
            crt, key = self.ca.issue(cn, dns, spec.get("ipAddresses") or [], not_before, not_after)
            data = {"tls.crt": base64.b64encode(crt).decode(), "tls.key": base64.b64encode(key).decode(),
                    "ca.crt": base64.b64encode(self.ca.cert_pem).decode()}
            annotations = {"cert-manager.io/certificate-name": name, "cert-manager.io/issuer-name": ref.get("name", ""),
                           "cert-manager.io/issuer-kind": ikind, "cert-manager.io/issuer-group": ref.get("group", "cert-manager.io"),
                           "cert-manager.io/common-name": cn, "cert-manager.io/alt-names": alt,
                           LAB + "issued-generation": str(gen)}
            body = {"metadata": {"name": secret_name, "namespace": ns, "annotations": annotations,
                                 "labels": {"controller.cert-manager.io/fao": "true"}},
                    "type": "kubernetes.io/tls", "data": data}
            current = self.get(K_SECRET, ns, secret_name)
            if current is None:
                self.create(K_SECRET, ns, body)
            else:
                current["metadata"].setdefault("annotations", {}).update(annotations)
                current["data"] = data
                current["type"] = "kubernetes.io/tls"
                self.update(K_SECRET, current)
            renew = go_duration(spec.get("renewBefore"))
            renewal = not_after - dt.timedelta(seconds=renew if renew else lifetime / 3 if lifetime > 0 else 0)
            status.update(notBefore=iso(not_before), notAfter=iso(not_after), renewalTime=iso(renewal),
                          revision=int(status.get("revision", 0)) + 1)
            self.event(cert, "Issuing", "The certificate has been successfully issued")
        expired = parse_iso(status["notAfter"]) <= dt.datetime.now(dt.timezone.utc)
        if expired:
            conds = set_condition(status.get("conditions") or [], "Ready", "False", "Expired",
                                  f"Certificate expired on {status['notAfter']}")
        else:
            conds = set_condition(status.get("conditions") or [], "Ready", "True", "Ready",
                                  "Certificate is up to date and has not expired")
        for c in conds:
            c["observedGeneration"] = gen
        status["conditions"] = conds
        self.set_status(K_CERT, cert, status)
        if not expired:
            left = (parse_iso(status["notAfter"]) - dt.datetime.now(dt.timezone.utc)).total_seconds()
            if left < 3600:
                self.later(left + 0.5, "cert", ns, name, periodic=True)


def tolerates(pod_spec: dict, node: dict) -> bool:
    tolerations = pod_spec.get("tolerations") or []
    for taint in (node.get("spec") or {}).get("taints") or []:
        if taint.get("effect") not in ("NoSchedule", "NoExecute"):
            continue
        ok = False
        for t in tolerations:
            if t.get("effect") and t.get("effect") != taint.get("effect"):
                continue
            if t.get("operator") == "Exists" and (not t.get("key") or t.get("key") == taint.get("key")):
                ok = True
            elif t.get("key") == taint.get("key") and t.get("value", "") == taint.get("value", ""):
                ok = True
        if not ok:
            return False
    return True

"""The controller engine: the queue and timers fed by store events, one worker thread,
and the helpers every controller family uses (get, owned objects, status, Events, Pods)."""

from __future__ import annotations

import collections
import heapq
import json
import random
import threading
import time
import traceback

from .common import ApiError, Cluster, K_EVENT, K_POD, OWNER_KINDS, _copy, controller_of, now_iso, owner_ref


class Engine:
    """The queue, the timers and the one worker thread; the families (mixins) add handlers.

    Each family class declares ``HANDLERS`` (queue item name -> method name) and
    ``WATCHES`` (resource key -> ``f(event type, namespace, name)`` returning the items to
    queue). ``Controllers`` combines them into one dispatch table.
    """

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
        self.runtime = None  # a PodRuntime runs Pods of the lab's images as processes
        self.handlers: dict = {}
        self.watches: dict = {}
        for family in reversed(type(self).__mro__):
            for item, method in (family.__dict__.get("HANDLERS") or {}).items():
                self.handlers[item.replace("_", "-")] = getattr(self, method)
            for key, watch in (family.__dict__.get("WATCHES") or {}).items():
                previous = self.watches.get(key)
                self.watches[key] = (lambda a, b: lambda e, n, m: a(e, n, m) + b(e, n, m))(previous, watch) \
                    if previous else watch
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
        for item in self.watches.get(key, lambda *_: [])(etype, ns, name):
            self.enqueue(*item)
        if etype == "DELETED" and key == K_POD and self.runtime is not None:
            grace = (obj.get("spec") or {}).get("terminationGracePeriodSeconds")
            self.runtime.stop(uid, 30.0 if grace is None else float(grace))
        elif key == K_POD and meta.get("deletionTimestamp") and not (old or {}).get("metadata", {}).get(
                "deletionTimestamp") and meta.get("deletionGracePeriodSeconds"):
            # Graceful deletion: the kubelet stops the containers within the grace period,
            # then removes the Pod (force, grace 0).
            grace = float(meta["deletionGracePeriodSeconds"])
            if self.runtime is not None and uid in self.runtime.pods:
                self.runtime.stop(uid, grace, then=lambda: self.enqueue("pod-gone", ns, name, uid))
            else:
                self.later(0.05, "pod-gone", ns, name, uid)

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
                self.handlers[item[0]](*item[1:])
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

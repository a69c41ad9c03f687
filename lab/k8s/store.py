"""The in-memory object store: one bucket per resource, a global resourceVersion,
an event log per bucket for watch resumption, and an owner index for garbage collection.

Stored objects are never mutated in place: every write stores a new dict together with
its serialized JSON, so reads and LISTs hand out cached bytes.
"""

from __future__ import annotations

import collections
import json
import queue
import threading
from typing import Callable, Iterable

_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode

EVENT_LOG = 10000


class Entry:
    __slots__ = ("obj", "raw", "rv")

    def __init__(self, obj: dict, raw: bytes, rv: int) -> None:
        self.obj = obj
        self.raw = raw
        self.rv = rv


class Bucket:
    def __init__(self) -> None:
        self.items: dict[tuple[str, str], Entry] = {}
        self.by_ns: dict[str, dict[str, Entry]] = collections.defaultdict(dict)
        self.events: collections.deque = collections.deque(maxlen=EVENT_LOG)
        self.sorted_keys: list[tuple[str, str]] | None = None
        self.oldest_rv = 0  # events older than this are gone from the log


class Watcher:
    def __init__(self, key, namespace, name, match) -> None:
        self.key = key
        self.namespace = namespace
        self.name = name
        self.match = match  # predicate on objects (labels and fields), or None
        self.queue: queue.Queue = queue.Queue()

    def wants(self, obj: dict) -> bool:
        meta = obj.get("metadata", {})
        if self.namespace is not None and meta.get("namespace") != self.namespace:
            return False
        if self.name is not None and meta.get("name") != self.name:
            return False
        return self.match is None or self.match(obj)


def event_bytes(etype: str, raw: bytes) -> bytes:
    return b'{"type":"' + etype.encode() + b'","object":' + raw + b"}\n"


class Store:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.rv = 1
        self.buckets: dict[tuple[str, str], Bucket] = collections.defaultdict(Bucket)
        self.owners: dict[str, set[tuple]] = collections.defaultdict(set)
        self.watchers: dict[tuple[str, str], list[Watcher]] = collections.defaultdict(list)
        self.listeners: list[Callable[[str, tuple, dict, dict | None], None]] = []

    # -- reads ---------------------------------------------------------------------------
    def get(self, key, namespace: str, name: str) -> Entry | None:
        return self.buckets[key].items.get((namespace or "", name))

    def list(self, key, namespace: str | None = None) -> list[Entry]:
        """Entries in (namespace, name) order."""
        with self.lock:
            bucket = self.buckets[key]
            if namespace is not None:
                names = bucket.by_ns.get(namespace or "", {})
                return [names[n] for n in sorted(names)]
            if bucket.sorted_keys is None:
                bucket.sorted_keys = sorted(bucket.items)
            return [bucket.items[k] for k in bucket.sorted_keys]

    def dependents(self, uid: str) -> list[tuple]:
        with self.lock:
            return list(self.owners.get(uid, ()))

    # -- writes --------------------------------------------------------------------------
    def next_rv(self) -> int:
        self.rv += 1
        return self.rv

    def put(self, key, obj: dict, etype: str, old: dict | None = None) -> Entry:
        """Store obj (a fresh dict owned by the store from now on) with a new resourceVersion."""
        with self.lock:
            rv = self.next_rv()
            meta = obj["metadata"]
            meta["resourceVersion"] = str(rv)
            ns, name = meta.get("namespace", ""), meta["name"]
            raw = _dumps(obj).encode()
            entry = Entry(obj, raw, rv)
            bucket = self.buckets[key]
            if (ns, name) not in bucket.items:
                bucket.sorted_keys = None
            bucket.items[(ns, name)] = entry
            bucket.by_ns[ns][name] = entry
            self._index_owners(key, ns, name, old, obj)
            self._emit(key, bucket, etype, entry, old)
            return entry

    def remove(self, key, namespace: str, name: str) -> Entry | None:
        with self.lock:
            bucket = self.buckets[key]
            entry = bucket.items.pop((namespace or "", name), None)
            if entry is None:
                return None
            bucket.sorted_keys = None
            bucket.by_ns[namespace or ""].pop(name, None)
            if not bucket.by_ns[namespace or ""]:
                del bucket.by_ns[namespace or ""]
            obj = dict(entry.obj)
            obj["metadata"] = dict(obj["metadata"])
            rv = self.next_rv()
            obj["metadata"]["resourceVersion"] = str(rv)
            final = Entry(obj, _dumps(obj).encode(), rv)
            self._index_owners(key, namespace or "", name, entry.obj, None)
            self._emit(key, bucket, "DELETED", final, entry.obj)
            return final

    def drop_bucket(self, key) -> None:
        with self.lock:
            for (ns, name) in list(self.buckets[key].items):
                self.remove(key, ns, name)
            self.buckets.pop(key, None)

    def _index_owners(self, key, ns, name, old, new) -> None:
        ref = (key, ns, name)
        for obj, add in ((old, False), (new, True)):
            if not obj:
                continue
            for owner in obj.get("metadata", {}).get("ownerReferences") or []:
                uid = owner.get("uid")
                if not uid:
                    continue
                if add:
                    self.owners[uid].add(ref)
                else:
                    deps = self.owners.get(uid)
                    if deps is not None:
                        deps.discard(ref)
                        if not deps:
                            del self.owners[uid]

    def _emit(self, key, bucket: Bucket, etype: str, entry: Entry, old: dict | None) -> None:
        if len(bucket.events) == bucket.events.maxlen:
            bucket.oldest_rv = bucket.events[0][0]
        bucket.events.append((entry.rv, etype, entry, old))
        for watcher in self.watchers.get(key, ()):
            self._deliver(watcher, etype, entry, old)
        for listener in self.listeners:
            listener(etype, key, entry.obj, old)

    @staticmethod
    def _deliver(watcher: Watcher, etype: str, entry: Entry, old: dict | None) -> None:
        now = watcher.wants(entry.obj)
        before = old is not None and etype == "MODIFIED" and watcher.wants(old)
        if etype == "MODIFIED" and not now and before:
            watcher.queue.put(("DELETED", entry))
        elif etype == "MODIFIED" and now and not before and old is not None:
            watcher.queue.put(("ADDED", entry))
        elif now:
            watcher.queue.put((etype, entry))

    # -- watches -------------------------------------------------------------------------
    def watch(self, key, namespace, name, match, since: int | None,
              initial: Iterable[Entry] | None) -> Watcher:
        """Register a watcher. With `since`, replay logged events after it (410 if too old);
        with `initial`, queue ADDED events for those entries first."""
        from .errors import ApiError
        with self.lock:
            watcher = Watcher(key, namespace, name, match)
            bucket = self.buckets[key]
            if since is not None:
                if since < bucket.oldest_rv and since < self.rv:
                    raise ApiError(410, f"too old resource version: {since} ({bucket.oldest_rv})",
                                   "Expired")
                for rv, etype, entry, old in bucket.events:
                    if rv > since:
                        self._deliver(watcher, etype, entry, old)
            if initial is not None:
                for entry in initial:
                    if watcher.wants(entry.obj):
                        watcher.queue.put(("ADDED", entry))
            self.watchers[key].append(watcher)
            return watcher

    def unwatch(self, watcher: Watcher) -> None:
        with self.lock:
            try:
                self.watchers[watcher.key].remove(watcher)
            except ValueError:
                pass

    def compact(self, upto: int | None = None) -> int:
        """Forget the event history up to resourceVersion ``upto`` (all of it by default), as
        etcd compaction does: a watch from an older resourceVersion gets 410 Gone."""
        with self.lock:
            upto = self.rv if upto is None else min(int(upto), self.rv)
            for bucket in self.buckets.values():
                while bucket.events and bucket.events[0][0] <= upto:
                    bucket.events.popleft()
                bucket.oldest_rv = max(bucket.oldest_rv, upto)
            return upto

    def close_all_watches(self) -> None:
        with self.lock:
            for watchers in self.watchers.values():
                for w in watchers:
                    w.queue.put(None)

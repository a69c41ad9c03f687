"""Watch: the initial list as ADDED events, then changes, with resume by resourceVersion,
bookmarks and 410 Gone after compaction."""

from __future__ import annotations

import queue
import re
import ssl
import time

from .errors import ApiError, parse_bool as _bool
from .errors import dumps as _dumps
from .resources import Resource
from .store import event_bytes


class WatchMixin:
    # -- watch ---------------------------------------------------------------------------
    def _watch(self, res: Resource, namespace: str | None, query: dict) -> None:
        srv = self.server
        store = srv.cluster.store
        match = self._filter(query, res)
        rv_param = query.get("resourceVersion") or ""
        send_initial = _bool(query.get("sendInitialEvents"))
        bookmarks = _bool(query.get("allowWatchBookmarks"))
        timeout = min(float(query.get("timeoutSeconds") or srv.config.max_watch_seconds),
                      srv.config.max_watch_seconds)
        name = None
        fsel = query.get("fieldSelector") or ""
        m = re.fullmatch(r"metadata\.name=([^,]+)", fsel)
        if m:
            name = m.group(1)
        with store.lock:
            if send_initial or rv_param in ("", "0"):
                watcher = store.watch(res.key, namespace, name, match, None, store.list(res.key, namespace))
            else:
                try:
                    since = int(rv_param)
                except ValueError:
                    raise ApiError(400, f"invalid resource version {rv_param!r}")
                try:
                    watcher = store.watch(res.key, namespace, name, match, since, None)
                except ApiError as exc:
                    if exc.code != 410:
                        raise
                    # As kube-apiserver's watch cache: past authorization and a parsed
                    # resourceVersion, "too old" is the stream's one ERROR event, not an HTTP error.
                    self._expired(exc)
                    return
            if send_initial:
                watcher.queue.put(("INITIAL_END", store.rv))
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("Cache-Control", "no-cache, private")
            self.end_headers()
            self.wfile.flush()
            deadline = time.monotonic() + timeout
            last_sent = time.monotonic()
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                wait = min(remaining, srv.config.bookmark_interval if bookmarks else remaining, 1.0)
                try:
                    item = watcher.queue.get(timeout=wait)
                except queue.Empty:
                    if bookmarks and time.monotonic() - last_sent >= srv.config.bookmark_interval:
                        with store.lock:
                            rv = store.rv if watcher.queue.empty() else None
                        if rv is not None:
                            self._chunk(self._bookmark(res, rv))
                            last_sent = time.monotonic()
                    continue
                if item is None:
                    break
                etype, payload = item
                if etype == "INITIAL_END":
                    if bookmarks or send_initial:
                        self._chunk(self._bookmark(res, payload, initial_end=True))
                else:
                    self._chunk(event_bytes(etype, self._raw(res, payload)))
                last_sent = time.monotonic()
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            self.close_connection = True
        finally:
            store.unwatch(watcher)

    def _expired(self, exc: ApiError) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()
        self._chunk(_dumps({"type": "ERROR", "object": exc.status()}).encode() + b"\n")
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    @staticmethod
    def _bookmark(res: Resource, rv: int, initial_end: bool = False) -> bytes:
        meta: dict = {"resourceVersion": str(rv)}
        if initial_end:
            meta["annotations"] = {"k8s.io/initial-events-end": "true"}
        return _dumps({"type": "BOOKMARK", "object": {"kind": res.kind, "apiVersion": res.api_version,
                                                      "metadata": meta}}).encode() + b"\n"

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

"""A small list-and-watch client for the router (standard library only): it keeps an
up-to-date copy of one resource kind across all namespaces and calls back on changes."""

from __future__ import annotations

import http.client
import json
import ssl
import threading
import time
import urllib.parse


class Watcher:
    """LIST then WATCH ``path`` (e.g. ``/api/v1/endpoints``) forever; ``objects`` maps
    ``(namespace, name)`` to the object. ``on_change()`` runs after every change."""

    def __init__(self, server: str, token: str, ca_file: str, path: str, on_change, lock) -> None:
        url = urllib.parse.urlsplit(server)
        self.host, self.port = url.hostname, url.port or 443
        self.token = token
        self.context = ssl.create_default_context(cafile=ca_file)
        self.path = path
        self.on_change = on_change
        self.lock = lock  # shared by every watcher and the table built from them
        self.objects: dict = {}
        self.synced = threading.Event()
        self.stopping = False

    def _conn(self, timeout: float):
        return http.client.HTTPSConnection(self.host, self.port, context=self.context, timeout=timeout)

    def _get(self, query: str, timeout: float):
        conn = self._conn(timeout)
        conn.request("GET", f"{self.path}?{query}", headers={"Authorization": f"Bearer {self.token}",
                                                             "Accept": "application/json"})
        return conn, conn.getresponse()

    def run(self) -> None:
        while not self.stopping:
            try:
                conn, resp = self._get("limit=0", 30)
                listing = json.loads(resp.read())
                conn.close()
                if resp.status != 200:
                    raise OSError(f"list {self.path}: {resp.status}")
                with self.lock:
                    self.objects = dict(((o["metadata"].get("namespace", ""), o["metadata"]["name"]), o)
                                        for o in listing.get("items") or [])
                self.on_change()
                self.synced.set()
                self._watch(listing["metadata"]["resourceVersion"])
            except (OSError, ValueError, KeyError, http.client.HTTPException):
                time.sleep(0.5)

    def _watch(self, rv: str) -> None:
        conn, resp = self._get(f"watch=1&allowWatchBookmarks=true&resourceVersion={rv}&timeoutSeconds=300", 330)
        try:
            if resp.status != 200:
                return
            while not self.stopping:
                line = resp.readline()
                if not line:
                    return
                event = json.loads(line)
                obj = event.get("object") or {}
                if event.get("type") == "ERROR":
                    return  # e.g. 410 Gone: list again
                if event.get("type") == "BOOKMARK":
                    continue
                key = (obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
                with self.lock:
                    if event["type"] == "DELETED":
                        self.objects.pop(key, None)
                    else:
                        self.objects[key] = obj
                self.on_change()
        finally:
            conn.close()

    def start(self) -> "Watcher":
        threading.Thread(target=self.run, name=f"watch{self.path}", daemon=True).start()
        return self

"""The HTTPS front end: authentication, fault injection, routing and CRUD. Watch
(`watch.py`), subresources and reviews (`subresources.py`), discovery and OpenAPI
(`discovery.py`) and the lab's admin endpoints (`admin.py`) are mixins of the handler."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import socket
import ssl
import threading
import time
import os
import sys
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from . import tables
from . import managed
from .cluster import PATCH_TYPES, Cluster, parse_body
from .admin import AdminMixin
from .discovery import DiscoveryMixin
from .errors import ApiError, parse_bool as _bool
from .errors import dumps as _dumps
from .faults import Faults
from .policy import Policy
from .resources import Resource, VIRTUAL
from .selectors import parse_field_selector, parse_label_selector
from .subresources import SubresourceMixin
from .watch import WatchMixin



ACCESS_LOG = bool(os.environ.get("LAB_K8S_ACCESS_LOG"))


class Config:
    """Runtime settings the tests may change through `/_lab/config`."""

    def __init__(self, version: str = "v1.30.2") -> None:
        self.git_version = version
        self.controller_delay = 1.0        # seconds until a new Pod is Ready / a Job completes
        self.bookmark_interval = 5.0       # seconds of idle watch before a BOOKMARK
        self.certificate_duration = 90 * 24 * 3600  # default lifetime of issued certificates
        self.max_watch_seconds = 1800
        # kube-apiserver compacts etcd every 5 minutes (--etcd-compaction-interval), up to the
        # revision of the previous pass: a watch resumed from older than that gets 410 Gone.
        self.compaction_interval = 300.0

    def as_dict(self) -> dict:
        return {"version": self.git_version, "controller_delay": self.controller_delay,
                "bookmark_interval": self.bookmark_interval,
                "certificate_duration": self.certificate_duration,
                "compaction_interval": self.compaction_interval}

    def update(self, doc: dict) -> None:
        if "version" in doc:
            v = str(doc["version"])
            self.git_version = v if v.startswith("v") else "v" + v
        for key in ("controller_delay", "bookmark_interval", "certificate_duration", "compaction_interval"):
            if key in doc:
                setattr(self, key, float(doc[key]))

    def version_info(self) -> dict:
        m = re.match(r"v?(\d+)\.(\d+)", self.git_version)
        major, minor = (m.group(1), m.group(2)) if m else ("1", "30")
        return {"major": major, "minor": minor, "gitVersion": self.git_version,
                "gitCommit": hashlib.sha1(self.git_version.encode()).hexdigest(),
                "gitTreeState": "clean", "buildDate": "2026-01-01T00:00:00Z",
                "goVersion": "go1.23.0", "compiler": "gc", "platform": "linux/amd64",
                "emulationMajor": major, "emulationMinor": minor,
                "minCompatibilityMajor": major, "minCompatibilityMinor": minor}


class LabServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address, cluster: Cluster, config: Config, token: str, admin_token: str,
                 ssl_context: ssl.SSLContext | None, lab=None) -> None:
        self.cluster = cluster
        self.config = config
        self.token = token
        self.admin_token = admin_token
        self.ssl_context = ssl_context
        self.faults = Faults()
        self.policy = Policy()
        self.lab = lab  # the owning LabCluster, for admin actions (scenarios, controllers)
        self.requests_served = 0
        super().__init__(address, Handler)

    def finish_request(self, request, client_address):
        try:
            request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        if self.ssl_context is not None:
            try:
                request.settimeout(30)
                request = self.ssl_context.wrap_socket(request, server_side=True)
                request.settimeout(None)
            except (ssl.SSLError, OSError):
                return
        self.RequestHandlerClass(request, client_address, self)

    def handle_error(self, request, client_address):  # noqa: D102 - quiet on client disconnects
        pass


class _Dropped(Exception):
    pass


class Handler(WatchMixin, SubresourceMixin, DiscoveryMixin, AdminMixin, BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: LabServer
    server_version = "golive-lab-apiserver"
    sys_version = ""

    def log_message(self, fmt, *args):  # requests are not logged to stderr
        pass

    # -- plumbing ------------------------------------------------------------------------
    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    def do_PUT(self):
        self._dispatch("PUT")

    def do_PATCH(self):
        self._dispatch("PATCH")

    def do_DELETE(self):
        self._dispatch("DELETE")

    def do_HEAD(self):
        self._dispatch("HEAD")

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            return self.rfile.read(length)
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        return b""

    def _send(self, code: int, body: bytes, ctype: str = "application/json", headers: dict | None = None):
        if ACCESS_LOG:
            sys.stderr.write(f"{self.command} {self.path} {code} {self.headers.get('Content-Type', '')}\n")
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-cache, private")
        self.send_header("Audit-Id", self._audit_id)
        for k, v in (headers or {}).items():
            self.send_header(k, str(v))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, code: int, obj) -> None:
        self._send(code, obj if isinstance(obj, bytes) else _dumps(obj).encode())

    def _error(self, exc: ApiError) -> None:
        self._send(exc.code, _dumps(exc.status()).encode(), headers=exc.headers)

    def _dispatch(self, method: str) -> None:
        self._audit_id = base64.b16encode(hashlib.md5(f"{time.time_ns()}{id(self)}".encode()).digest()[:8]).decode().lower()
        srv = self.server
        srv.requests_served += 1
        parsed = urllib.parse.urlsplit(self.path)
        path = parsed.path.rstrip("/") or "/"
        query = {k: v[-1] for k, v in urllib.parse.parse_qs(parsed.query, keep_blank_values=True).items()}
        try:
            body = self._read_body() if method in ("POST", "PUT", "PATCH", "DELETE") else b""
            if path.startswith("/_lab"):
                self._require(srv.admin_token)
                self._admin(method, path, query, body)
                return
            # Authentication comes first, as on a real API server: a request without a
            # valid token gets 401, never an injected fault.
            self.user = "lab-admin"
            if path not in ("/healthz", "/livez", "/readyz"):
                self._require(srv.token, accounts=True)
            for rule in srv.faults.pick(method, path):
                if rule.latency:
                    time.sleep(rule.latency)
                if rule.drop:
                    raise _Dropped()
                if rule.status:
                    headers = {}
                    if rule.retry_after is not None:
                        headers["Retry-After"] = rule.retry_after
                    msg = ("Too many requests, please try again later." if rule.status == 429
                           else "Internal error injected by the lab")
                    raise ApiError(rule.status, msg, details={"retryAfterSeconds": int(rule.retry_after)}
                                   if rule.retry_after is not None else None, headers=headers)
            self._route(method, path, query, body)
        except _Dropped:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        except ApiError as exc:
            self._error(exc)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            self.close_connection = True
        except Exception as exc:  # noqa: BLE001 - a server answers 500, it does not die
            import traceback
            traceback.print_exc()
            self._error(ApiError(500, f"internal error: {exc}"))

    def _manager(self, query: dict) -> str:
        return managed.manager_of(query.get("fieldManager", ""), self.headers.get("User-Agent", ""))

    def _require(self, token: str, accounts: bool = False) -> None:
        """The bearer token is ``token``, or (with ``accounts``) a valid ServiceAccount token."""
        auth = self.headers.get("Authorization", "")
        given = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
        if given and hmac.compare_digest(given.encode(), token.encode()):
            return
        user = self.server.cluster.tokens.identity(given) if given and accounts else None
        if user is None:
            raise ApiError(401, "Unauthorized")
        self.user = user

    # -- routing -------------------------------------------------------------------------
    def _route(self, method: str, path: str, query: dict, body: bytes) -> None:
        srv, cl = self.server, self.server.cluster
        if path in ("/healthz", "/livez", "/readyz"):
            return self._send(200, b"ok", "text/plain; charset=utf-8")
        if path == "/version":
            return self._json(200, srv.config.version_info())
        if path == "/":
            return self._json(200, {"paths": sorted(["/api", "/api/v1", "/apis", "/version", "/healthz",
                                                     "/openapi/v2", "/openapi/v3"])})
        if path == "/api":
            return self._json(200, {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [
                {"clientCIDR": "0.0.0.0/0", "serverAddress": f"127.0.0.1:{srv.server_address[1]}"}]})
        if path == "/apis":
            return self._json(200, {"kind": "APIGroupList", "apiVersion": "v1",
                                    "groups": [self._group(g) for g in self._groups()]})
        if path.startswith("/openapi"):
            return self._openapi(path)
        parts = path.strip("/").split("/")
        if parts[0] == "api":
            if len(parts) < 2 or parts[1] != "v1":
                raise ApiError(404, "the server could not find the requested resource")
            group, version, rest = "", "v1", parts[2:]
        elif parts[0] == "apis":
            if len(parts) == 2:
                if parts[1] not in cl.registry.group_versions:
                    raise ApiError(404, "the server could not find the requested resource")
                return self._json(200, {"kind": "APIGroup", "apiVersion": "v1", **self._group(parts[1])})
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            raise ApiError(404, "the server could not find the requested resource")
        if not rest:
            if version not in cl.registry.group_versions.get(group, []):
                raise ApiError(404, "the server could not find the requested resource")
            return self._json(200, self._resource_list(group, version))
        if rest[0] == "watch":  # the deprecated /watch/ prefix
            rest = rest[1:]
            query["watch"] = "true"
        namespace = None
        if rest[0] == "namespaces" and len(rest) >= 3 and (group, version) == ("", "v1") and \
                rest[2] not in ("status", "finalize"):
            namespace, rest = rest[1], rest[2:]
        elif rest[0] == "namespaces" and len(rest) >= 3 and group:
            namespace, rest = rest[1], rest[2:]
        res = cl.registry.get(group, version, rest[0])
        if res is None:
            raise ApiError(404, "the server could not find the requested resource")
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else None
        if namespace is not None and not res.namespaced:
            raise ApiError(404, "the server could not find the requested resource")
        if res.namespaced and name is not None and namespace is None:
            raise ApiError(404, "the server could not find the requested resource")
        if sub is not None and sub not in res.subresources:
            raise ApiError(404, "the server could not find the requested resource")
        self._authorize(method, query, res, namespace, name, sub)
        if res.plural in VIRTUAL:
            if method != "POST" or name is not None:
                raise ApiError(405, "the server does not allow this method on the requested resource")
            return self._review(res, parse_body(body, self.headers.get("Content-Type", "")) or {})
        dry_run = query.get("dryRun") == "All"
        if name is None:
            if method == "GET":
                if _bool(query.get("watch")):
                    return self._watch(res, namespace, query)
                return self._list(res, namespace, query)
            if method == "POST":
                obj = parse_body(body, self.headers.get("Content-Type", ""))
                created = cl.create(res, namespace, obj, dry_run=dry_run, manager=self._manager(query))
                return self._json(201, self._out(res, created))
            if method == "DELETE":
                return self._delete_collection(res, namespace, query, body, dry_run)
            raise ApiError(405, "the server does not allow this method on the requested resource")
        if sub == "scale":
            return self._scale(method, res, namespace or "", name, body, dry_run)
        if sub == "log":
            return self._log(res, namespace or "", name, query)
        if sub == "token" and res.plural == "serviceaccounts":
            if method != "POST":
                raise ApiError(405, "the server does not allow this method on the requested resource")
            body_obj = parse_body(body, self.headers.get("Content-Type", "")) or {}
            return self._json(201, cl.tokens.request(namespace or "", name, body_obj))
        if sub == "eviction":
            if method != "POST":
                raise ApiError(405, "the server does not allow this method on the requested resource")
            return self._evict(res, namespace or "", name, dry_run)
        if sub == "finalize":
            sub = None
        if method in ("GET", "HEAD"):
            entry = cl.get_entry(res, namespace or "", name)
            if "as=Table" in self.headers.get("Accept", ""):
                return self._json(200, tables.table(res, [entry.obj], str(entry.rv), query))
            return self._json(200, self._raw(res, entry))
        if method == "PUT":
            obj = parse_body(body, self.headers.get("Content-Type", ""))
            result = cl.update(res, namespace or "", name, obj, dry_run=dry_run, subresource=sub,
                               manager=self._manager(query))
            return self._json(200, self._out(res, result))
        if method == "PATCH":
            ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip()
            ptype = PATCH_TYPES.get(ctype)
            if ptype is None:
                raise ApiError(415, f"the body of the request was in an unknown format - accepted media "
                                    f"types include: {', '.join(PATCH_TYPES)}", "UnsupportedMediaType")
            patch = parse_body(body, ctype)
            if ptype == "apply" and not query.get("fieldManager"):
                raise ApiError(400, "PATCH %s: fieldManager is required for apply requests" % path, "BadRequest")
            result, created = cl.patch(res, namespace or "", name, ptype, patch, dry_run=dry_run,
                                       subresource=sub, field_manager=self._manager(query),
                                       force=_bool(query.get("force")))
            return self._json(201 if created else 200, self._out(res, result))
        if method == "DELETE":
            opts = parse_body(body, "application/json") or {}
            propagation = query.get("propagationPolicy") or opts.get("propagationPolicy")
            if opts.get("orphanDependents") is True or _bool(query.get("orphanDependents")):
                propagation = "Orphan"
            grace = opts.get("gracePeriodSeconds", query.get("gracePeriodSeconds"))
            result = cl.delete(res, namespace or "", name, propagation=propagation, dry_run=dry_run,
                               preconditions=opts.get("preconditions"),
                               grace=None if grace in (None, "") else int(grace))
            return self._json(200, self._out(res, result))
        raise ApiError(405, "the server does not allow this method on the requested resource")

    # -- helpers for objects -------------------------------------------------------------
    @staticmethod
    def _out(res: Resource, obj: dict) -> dict:
        if res.crd and obj.get("apiVersion") != res.api_version:
            obj = {**obj, "apiVersion": res.api_version}
        return obj

    @staticmethod
    def _raw(res: Resource, entry) -> bytes:
        if res.crd and entry.obj.get("apiVersion") != res.api_version:
            return _dumps({**entry.obj, "apiVersion": res.api_version}).encode()
        return entry.raw

    def _filter(self, query: dict, res: Resource | None = None):
        labels = parse_label_selector(query.get("labelSelector"))
        fields = parse_field_selector(query.get("fieldSelector"), res)
        if labels is None and fields is None:
            return None

        def match(obj: dict) -> bool:
            if labels is not None and not labels(obj.get("metadata", {}).get("labels") or {}):
                return False
            return fields is None or fields(obj)
        return match

    def _list(self, res: Resource, namespace: str | None, query: dict) -> None:
        store = self.server.cluster.store
        match = self._filter(query, res)
        limit = int(query.get("limit") or 0)
        start = None
        cont = query.get("continue")
        with store.lock:
            list_rv = store.rv
            entries = store.list(res.key, namespace)
        if cont:
            try:
                token = json.loads(base64.urlsafe_b64decode(cont.encode() + b"==="))
                start = tuple(token["start"])
                list_rv = int(token["rv"])
            except (ValueError, KeyError, TypeError):
                raise ApiError(400, "continue key is not valid")
        selected = []
        more = None
        for entry in entries:
            if start is not None:
                meta = entry.obj["metadata"]
                if (meta.get("namespace", ""), meta["name"]) <= start:
                    continue
            if match is not None and not match(entry.obj):
                continue
            if limit and len(selected) >= limit:
                more = entry
                break
            selected.append(entry)
        meta: dict = {"resourceVersion": str(list_rv)}
        if more is not None and selected:
            last = selected[-1].obj["metadata"]
            token = {"rv": list_rv, "start": [last.get("namespace", ""), last["name"]]}
            meta["continue"] = base64.urlsafe_b64encode(_dumps(token).encode()).decode().rstrip("=")
            remaining = sum(1 for e in entries if (e.obj["metadata"].get("namespace", ""),
                                                   e.obj["metadata"]["name"]) > (last.get("namespace", ""), last["name"]))
            if match is None:
                meta["remainingItemCount"] = remaining
        if "as=Table" in self.headers.get("Accept", ""):
            table = tables.table(res, [e.obj for e in selected], str(list_rv), query)
            table["metadata"].update({k: v for k, v in meta.items() if k != "resourceVersion"})
            return self._json(200, table)
        head = _dumps({"kind": res.kind + "List", "apiVersion": res.api_version, "metadata": meta}).encode()
        body = head[:-1] + b',"items":[' + b",".join(self._raw(res, e) for e in selected) + b"]}"
        self._send(200, body)

    def _delete_collection(self, res, namespace, query, body, dry_run):
        cl = self.server.cluster
        match = self._filter(query, res)
        items = []
        for entry in cl.store.list(res.key, namespace):
            if match is None or match(entry.obj):
                meta = entry.obj["metadata"]
                try:
                    items.append(cl.delete(res, meta.get("namespace", ""), meta["name"], dry_run=dry_run,
                                           propagation=query.get("propagationPolicy")))
                except ApiError:
                    pass
        self._json(200, {"kind": res.kind + "List", "apiVersion": res.api_version,
                         "metadata": {"resourceVersion": str(cl.store.rv)}, "items": items})


def make_ssl_context(cert_file: str, key_file: str) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert_file, key_file)
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


def serve_in_thread(server: LabServer) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                              name="lab-k8s-http", daemon=True)
    thread.start()
    return thread

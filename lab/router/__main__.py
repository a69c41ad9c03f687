"""The lab's ingress router: serves the lab API server's Ingresses on loopback "sites".

``python -m lab.router --kubeconfig-dir DIR --sites 127.0.0.2,127.0.0.3 --http-port P
--https-port Q --metrics-port M --state-dir D``

- Follows Ingresses, Services, Endpoints and Secrets through watches (changes apply as the
  events arrive); host + path rules pick a Service, whose ready endpoints take requests in
  turn. A refused connection is retried on the next endpoint; no ready endpoint is 503.
- HTTPS with SNI: each host's certificate comes from its Ingress's TLS Secret (what
  cert-manager issued); other names get a self-signed fake certificate, as ingress-nginx does.
- Every site (address) serves the same table; the site a request arrived on is in the
  access log, the metrics and the ``X-Lab-Site`` response header.
- ``<state>/access.log``: one line per request. ``http://127.0.0.1:<metrics-port>/metrics``:
  requests by host, Service, status and site, and a latency histogram.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import os
import signal
import socket
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from lab.app.web import Metrics
from lab.router import table as routes
from lab.router.kube import Watcher

HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
       "transfer-encoding", "upgrade", "content-length", "server", "date"}
KINDS = {"ingresses": "/apis/networking.k8s.io/v1/ingresses", "services": "/api/v1/services",
         "endpoints": "/api/v1/endpoints", "secrets": "/api/v1/secrets"}


class Router:
    def __init__(self, api_server: str, token: str, ca_file: str, state_dir: Path) -> None:
        self.lock = threading.RLock()
        self.state_dir = state_dir
        self.table = {"hosts": {}, "tls": {}}
        self.contexts: dict = {}
        self.counter = itertools.count()
        self.metrics = Metrics()
        self.log = open(state_dir / "access.log", "a", buffering=1)
        self.watchers = dict((kind, Watcher(api_server, token, ca_file, path, self.rebuild, self.lock))
                             for kind, path in KINDS.items())
        from lab.k8s.pki import CA
        fake = CA.load_or_create(state_dir / "fake-ca")
        cert, key = fake.issue("Kubernetes Ingress Controller Fake Certificate", ["ingress.local"])
        self.default_context = self._context(cert, key)

    def start(self, timeout: float = 30.0) -> None:
        for watcher in self.watchers.values():
            watcher.start()
        deadline = time.monotonic() + timeout
        for watcher in self.watchers.values():
            watcher.synced.wait(max(0.1, deadline - time.monotonic()))

    def rebuild(self) -> None:
        with self.lock:
            w = self.watchers
            self.table = routes.build(w["ingresses"].objects, w["services"].objects, w["endpoints"].objects,
                                      w["secrets"].objects)
            self.contexts = dict((host, self._context(*pair)) for host, pair in self.table["tls"].items())

    def _context(self, cert: bytes, key: bytes) -> ssl.SSLContext:
        name = f"{abs(hash((cert, key))):x}"
        folder = self.state_dir / "certs"
        folder.mkdir(exist_ok=True)
        cert_file, key_file = folder / f"{name}.crt", folder / f"{name}.key"
        if not cert_file.exists():
            fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(key)
            cert_file.write_bytes(cert)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(str(cert_file), str(key_file))
        return ctx

    def server_context(self) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        cert_file = next((self.state_dir / "certs").glob("*.crt"))
        ctx.load_cert_chain(str(cert_file), str(cert_file.with_suffix(".key")))

        def pick(sock, server_name, _ctx):
            with self.lock:
                chosen = self.contexts.get((server_name or "").lower())
            sock.context = chosen or self.default_context

        ctx.sni_callback = pick
        return ctx

    # -- proxying -------------------------------------------------------------------------
    def forward(self, handler: BaseHTTPRequestHandler, site: str, scheme: str) -> None:
        started = time.monotonic()
        host = (handler.headers.get("Host") or "").split(":")[0].lower()
        path = handler.path.split("?")[0]
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else None
        with self.lock:
            backend = routes.match(self.table, host, path)
        upstream, status, payload, headers = "-", 404, b"default backend - 404\n", {"Content-Type": "text/plain"}
        if backend is not None and not backend.targets:
            status, payload = 503, b"503 Service Temporarily Unavailable\n"
        elif backend is not None:
            targets = backend.targets
            first = next(self.counter) % len(targets)
            status, payload = 502, b"502 Bad Gateway\n"
            for attempt in range(len(targets)):
                address, port = targets[(first + attempt) % len(targets)]
                upstream = f"{address}:{port}"
                try:
                    status, payload, headers = self._send(handler, address, port, body, host, scheme)
                    break
                except (ConnectionRefusedError, ConnectionResetError, http.client.RemoteDisconnected):
                    continue  # that endpoint is going away: the next one (proxy_next_upstream error)
                except (OSError, http.client.HTTPException):
                    status, payload = 504, b"504 Gateway Time-out\n"
                    break
        elapsed = time.monotonic() - started
        handler.send_response(status)
        for key, value in headers.items():
            if key.lower() not in HOP:
                handler.send_header(key, value)
        handler.send_header("Content-Length", str(len(payload)))
        handler.send_header("X-Lab-Site", site)
        with self.lock:
            hsts = scheme == "https" and self.table.get("options", {}).get(host, {}).get("hsts", False)
        if hsts:  # ingress-nginx's default on TLS hosts
            handler.send_header("Strict-Transport-Security", "max-age=15724800; includeSubDomains")
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(payload)
        service = backend.upstream if backend is not None else "-"
        self.metrics.observe(handler.command, f"{site}|{host}|{service}", status, elapsed)
        self.log.write('%s - - [%s] "%s %s %s" %d %d "%s" "%s" %.3f [%s] [%s] site=%s scheme=%s host=%s\n' % (
            handler.client_address[0], time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime()), handler.command,
            handler.path, handler.request_version, status, len(payload), handler.headers.get("Referer", "-"),
            handler.headers.get("User-Agent", "-"), elapsed, service, upstream, site, scheme, host or "-"))

    @staticmethod
    def _send(handler, address: str, port: int, body, host: str, scheme: str):
        conn = http.client.HTTPConnection(address, port, timeout=30)
        try:
            conn.connect()
            conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            headers = dict((k, v) for k, v in handler.headers.items() if k.lower() not in HOP)
            headers.update({"X-Forwarded-For": handler.client_address[0], "X-Forwarded-Proto": scheme,
                            "X-Forwarded-Host": host, "Connection": "close"})
            conn.request(handler.command, handler.path, body=body, headers=headers)
            resp = conn.getresponse()
            return resp.status, resp.read(), dict(resp.getheaders())
        finally:
            conn.close()

    def metrics_text(self) -> str:
        out = ["# HELP nginx_ingress_controller_requests Requests by site, host, Service and status.",
               "# TYPE nginx_ingress_controller_requests counter"]
        with self.metrics.lock:
            for (method, route, code), n in sorted(self.metrics.requests.items()):
                site, host, service = route.split("|")
                out.append(f'nginx_ingress_controller_requests{{site="{site}",host="{host}",service="{service}",'
                           f'method="{method}",status="{code}"}} {n}')
            out += ["# HELP nginx_ingress_controller_request_duration_seconds Time to answer a request.",
                    "# TYPE nginx_ingress_controller_request_duration_seconds histogram"]

            def labels_of(route):
                site, host, service = route.split("|")
                return f'site="{site}",host="{host}",service="{service}"'

            out += self.metrics.histogram("nginx_ingress_controller_request_duration_seconds", labels_of)
        return "\n".join(out) + "\n"


def handler_for(router: Router, site: str, scheme: str):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "lab-router"

        def setup(self):
            super().setup()
            # Headers and body leave in separate writes: without this, Nagle's algorithm and the
            # client's delayed ACK add 40 ms to every answer.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def log_message(self, fmt, *args):
            pass

        def _any(self):
            router.forward(self, site, scheme)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _any

    return Handler


def metrics_handler(router: Router):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, fmt, *args):
            pass

        def do_GET(self):
            body = (router.metrics_text() if self.path.startswith("/metrics") else "ok\n").encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def handle_error(self, request, client_address):  # quiet on client disconnects and TLS noise
        pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.router", description=__doc__.splitlines()[0])
    parser.add_argument("--api-server", required=True)
    parser.add_argument("--token-file", required=True)
    parser.add_argument("--ca-file", required=True)
    parser.add_argument("--sites", default="127.0.0.2,127.0.0.3")
    parser.add_argument("--http-port", type=int, required=True)
    parser.add_argument("--https-port", type=int, required=True)
    parser.add_argument("--metrics-port", type=int, required=True)
    parser.add_argument("--state-dir", required=True)
    args = parser.parse_args(argv)
    state = Path(args.state_dir)
    state.mkdir(parents=True, exist_ok=True)
    router = Router(args.api_server, Path(args.token_file).read_text().strip(), args.ca_file, state)
    router.start()
    servers = [_Server(("127.0.0.1", args.metrics_port), metrics_handler(router))]
    tls = router.server_context()
    for site in args.sites.split(","):
        servers.append(_Server((site, args.http_port), handler_for(router, site, "http")))
        secure = _Server((site, args.https_port), handler_for(router, site, "https"))
        secure.socket = tls.wrap_socket(secure.socket, server_side=True, do_handshake_on_connect=False)
        servers.append(secure)
    for server in servers[1:]:
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True).start()
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=servers[0].shutdown).start())
    print(f"router on {args.sites} http {args.http_port} https {args.https_port}", flush=True)
    try:
        servers[0].serve_forever(poll_interval=0.2)
    finally:
        for server in servers:
            server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

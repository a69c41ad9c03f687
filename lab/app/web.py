"""What every lab image serves: /version, /healthz, /readyz, /metrics, the switches, an
``X-App-Version`` header, Prometheus metrics, and a graceful stop on SIGTERM (finish what
is in flight, keep answering for a short drain, then exit)."""

from __future__ import annotations

import json
import os
import socket
import signal
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
SWITCHES = ("LAB_ERROR_RATIO", "LAB_LATENCY_MS", "LAB_CPU_MS", "LAB_FAIL_READINESS", "LAB_FAIL_LIVENESS")


class HttpError(Exception):
    def __init__(self, status: int, message: str, headers: dict | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


class Metrics:
    """Requests by route and status, and a latency histogram, in the Prometheus text format."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: dict = {}
        self.buckets: dict = {}
        self.sums: dict = {}

    def observe(self, method: str, route: str, code: int, seconds: float) -> None:
        with self.lock:
            key = (method, route, str(code))
            self.requests[key] = self.requests.get(key, 0) + 1
            counts = self.buckets.setdefault(route, [0] * (len(BUCKETS) + 1))
            for i, bound in enumerate(BUCKETS):
                if seconds <= bound:
                    counts[i] += 1
            counts[-1] += 1
            self.sums[route] = self.sums.get(route, 0.0) + seconds

    def histogram(self, name: str, labels_of) -> list:
        """The latency histogram of every route (call with ``lock`` held); ``labels_of(route)``
        gives the route's label text."""
        lines = []
        for route, counts in sorted(self.buckets.items()):
            labels = labels_of(route)
            for bound, n in zip(BUCKETS, counts):
                lines.append(f'{name}_bucket{{{labels},le="{bound}"}} {n}')
            lines.append(f'{name}_bucket{{{labels},le="+Inf"}} {counts[-1]}')
            lines.append(f"{name}_sum{{{labels}}} {self.sums[route]:.6f}")
            lines.append(f"{name}_count{{{labels}}} {counts[-1]}")
        return lines

    def text(self, app: str, version: str) -> str:
        lines = ["# HELP http_requests_total Requests served, by route and status code.",
                 "# TYPE http_requests_total counter"]
        with self.lock:
            for (method, route, code), n in sorted(self.requests.items()):
                lines.append(f'http_requests_total{{app="{app}",version="{version}",method="{method}",'
                             f'route="{route}",code="{code}"}} {n}')
            lines += ["# HELP http_request_duration_seconds Time to answer a request.",
                      "# TYPE http_request_duration_seconds histogram"]
            lines += self.histogram("http_request_duration_seconds",
                                    lambda route: f'app="{app}",version="{version}",route="{route}"')
        return "\n".join(lines + container_usage()) + "\n"


def container_usage() -> list:
    """What a kubelet's cAdvisor reports of a container, here of this process: CPU seconds
    used and the working set. Prometheus adds the namespace, pod and container labels
    (the Pod runtime's file_sd target labels), as it does to cAdvisor's series."""
    times = os.times()
    try:
        with open("/proc/self/statm") as statm:
            resident = int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        resident = 0
    return ["# HELP container_cpu_usage_seconds_total Cumulative CPU time consumed.",
            "# TYPE container_cpu_usage_seconds_total counter",
            f"container_cpu_usage_seconds_total {times.user + times.system:.3f}",
            "# HELP container_memory_working_set_bytes Current working set.",
            "# TYPE container_memory_working_set_bytes gauge",
            f"container_memory_working_set_bytes {resident}"]


class App:
    """Base of a lab image; subclasses implement ``ready()`` and ``handle_api()``."""

    def __init__(self, name: str, version: str, env: dict) -> None:
        self.name = name
        self.version = version
        self.env = env
        self.switches = dict((k, env.get(k)) for k in SWITCHES if env.get(k) is not None)
        self.metrics = Metrics()
        self.stopping = False

    def switch(self, name: str):
        return self.switches.get(name)

    def switch_bool(self, name: str) -> bool:
        return str(self.switches.get(name) or "").lower() in ("1", "true", "yes")

    def ready(self) -> tuple[bool, str]:
        return True, "ok"

    def handle_api(self, method: str, path: str, headers, body: dict):
        raise HttpError(404, "no such route")

    def route_of(self, path: str) -> str:
        parts = path.split("?")[0].strip("/").split("/")
        return "/" + "/".join(":id" if p.isdigit() else p for p in parts)

    # -- serving ----------------------------------------------------------------------
    def serve(self, host: str, port: int, drain_seconds: float = 1.0) -> None:
        app = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            server_version = f"lab-{app.name}/{app.version}"

            def setup(self):
                super().setup()
                # Headers and body leave in separate writes: without this, Nagle's algorithm and the
                # client's delayed ACK add 40 ms to every answer.
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def log_message(self, fmt, *args):
                pass

            def _answer(self, status: int, payload, ctype="application/json", headers=None):
                body = payload if isinstance(payload, bytes) else (
                    payload.encode() if isinstance(payload, str) else json.dumps(payload, default=str).encode())
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("X-App-Version", app.version)
                self.send_header("X-Content-Type-Options", "nosniff")
                self.send_header("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
                for k, v in (headers or {}).items():
                    self.send_header(k, str(v))
                if app.stopping:
                    self.send_header("Connection", "close")
                    self.close_connection = True
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def _handle(self):
                started = time.monotonic()
                path = self.path.split("?")[0]
                route = app.route_of(path)
                status = 500
                try:
                    length = int(self.headers.get("Content-Length") or 0)
                    raw = self.rfile.read(length) if length else b""
                    status, payload, ctype, headers = app.dispatch(self.command, path, self.headers, raw)
                    self._answer(status, payload, ctype, headers)
                except HttpError as exc:
                    status = exc.status
                    self._answer(status, {"error": exc.message}, headers=exc.headers)
                except Exception as exc:  # noqa: BLE001 - an application answers 500, it does not die
                    status = 500
                    self._answer(500, {"error": f"{type(exc).__name__}: {str(exc).strip()[:200]}"})
                finally:
                    if route not in ("/metrics", "/healthz", "/readyz"):
                        app.metrics.observe(self.command, route, status, time.monotonic() - started)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle

        server = ThreadingHTTPServer((host, port), Handler)
        server.daemon_threads = True

        def stop(_signum, _frame):
            # SIGTERM: answer with "Connection: close" during a short drain (the router
            # has already been told by the Endpoints), then stop.
            app.stopping = True
            threading.Thread(target=lambda: (time.sleep(drain_seconds), server.shutdown()), daemon=True).start()

        signal.signal(signal.SIGTERM, stop)
        try:
            server.serve_forever(poll_interval=0.2)
        finally:
            server.server_close()

    def dispatch(self, method: str, path: str, headers, raw: bytes):
        if path == "/version":
            return 200, {"app": self.name, "version": self.version}, "application/json", None
        if path == "/healthz":
            if self.switch_bool("LAB_FAIL_LIVENESS"):
                return 500, "liveness failure injected (LAB_FAIL_LIVENESS)\n", "text/plain", None
            return 200, "ok\n", "text/plain", None
        if path == "/readyz":
            ok, why = self.ready() if not self.stopping else (False, "stopping")
            return (200 if ok else 503), why + "\n", "text/plain", None
        if path == "/metrics":
            return 200, self.metrics.text(self.name, self.version), "text/plain; version=0.0.4", None
        if path == "/_lab/switches":
            return self.set_switches(method, headers, raw)
        body = {}
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                raise HttpError(400, "the body is not JSON") from None
        status, payload = self.handle_api(method, path, headers, body if isinstance(body, dict) else {})
        return status, payload, "application/json", None

    def set_switches(self, method: str, headers, raw: bytes):
        token = self.env.get("LAB_ADMIN_TOKEN")
        if not token or headers.get("X-Lab-Admin") != token:
            raise HttpError(403, "switches need X-Lab-Admin (LAB_ADMIN_TOKEN)")
        if method == "POST":
            for key, value in (json.loads(raw or b"{}") or {}).items():
                if key not in SWITCHES:
                    raise HttpError(422, f"unknown switch {key}; known: {', '.join(SWITCHES)}")
                if value is None:
                    self.switches.pop(key, None)
                else:
                    self.switches[key] = str(value)
        return 200, {"switches": self.switches}, "application/json", None


class Maintenance(App):
    """The maintenance page: 503 with Retry-After on every path but the probes."""

    def handle_api(self, method, path, headers, body):
        raise HttpError(503, "down for maintenance", {"Retry-After": self.env.get("RETRY_AFTER", "120")})

    def dispatch(self, method, path, headers, raw):
        if path in ("/version", "/healthz", "/readyz", "/metrics"):
            return super().dispatch(method, path, headers, raw)
        page = ("<!doctype html><title>Maintenance</title><h1>We'll be right back</h1>"
                "<p>The service is down for maintenance.</p>\n")
        return 503, page, "text/html; charset=utf-8", {"Retry-After": self.env.get("RETRY_AFTER", "120")}

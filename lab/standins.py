"""Stand-ins for the third-party systems no Debian package provides, on one lab port, so the
checks of the seeds' other systems are tested over real HTTP. Each serves exactly the
endpoints the checks use, in the shape of the public API it stands for:

- ``/search/``: Elasticsearch/OpenSearch REST API: ``_cluster/health``,
  ``_cat/indices?format=json``, ``<index>/_count``, ``<index>/_search`` (a small in-memory
  catalogue; ``q=`` matches words of the product names).
- ``/cdn/<file>``: static assets as a CDN edge answers them: ``Cache-Control``, ``ETag``
  (the file's sha256), ``Age``; the files are ``lab/static/``.
- ``/sandbox/<provider>/...``: a payment, SMS or push provider's sandbox: any path answers
  ``{"status": "ok", "provider": ...}`` when the request carries the lab's API key as a bearer
  token, 401 otherwise.
- ``/flags``: a feature-flag service: ``{"flags": {name: {"enabled", "rollout"}}}``.
- ``/status/api/v2/status.json``: a status page in the shape of Atlassian Statuspage's
  public API (``status.indicator``, ``status.description``).
- ``/awx/api/v2/``: the two endpoints of an AWX / Automation Controller API that say who
  approved a workflow's approval node: ``workflow_jobs/<id>/workflow_nodes/`` and
  ``workflow_approvals/<id>/`` (``status``, ``summary_fields.approved_or_denied_by``), with
  the lab's API key as a bearer token (or as the password of Basic auth). ``POST /_lab/awx``
  with ``{"workflow_job_id": N, "nodes": [{"identifier", "name", "status", "approved_by"}]}``
  records a workflow job as the controller would have it.

``POST /_lab/break`` with a JSON body changes the state to break things (``search_status``,
``cdn_cache_control``, ``sandbox_status`` per provider, ``flags``, ``status_indicator``);
``POST /_lab/reset`` puts everything back.
"""

from __future__ import annotations

import argparse
import base64
import copy
import hashlib
import json
import signal
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

STATIC = Path(__file__).resolve().parent / "static"
STARTED = time.time()
PRODUCTS = [{"id": i, "name": name, "price": 10 + i} for i, name in enumerate(
    ["red running shoes", "blue running shoes", "green tea", "black tea", "running socks", "tea cup"] * 40)]
DEFAULTS = {
    "search_status": "green",
    "cdn_cache_control": "public, max-age=31536000, immutable",
    "sandbox_status": {},
    "flags": {"new-checkout": {"enabled": True, "rollout": 10}, "dark-mode": {"enabled": False, "rollout": 0}},
    "status_indicator": "none",
}
DESCRIPTIONS = {"none": "All Systems Operational", "minor": "Minor Service Outage", "major": "Partial System Outage",
                "critical": "Major Service Outage"}


class State:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.values = copy.deepcopy(DEFAULTS)
        self.awx: dict = {}

    def get(self, key):
        with self.lock:
            return copy.deepcopy(self.values[key])

    def update(self, changes: dict) -> dict:
        with self.lock:
            for key, value in changes.items():
                if key not in DEFAULTS:
                    raise KeyError(key)
                if isinstance(DEFAULTS[key], dict) and key == "sandbox_status":
                    self.values[key].update(value)
                else:
                    self.values[key] = value
            return copy.deepcopy(self.values)

    def reset(self) -> None:
        with self.lock:
            self.values = copy.deepcopy(DEFAULTS)

    def add_workflow_job(self, body: dict) -> dict:
        job = int(body["workflow_job_id"])
        nodes = []
        for index, node in enumerate(body.get("nodes") or []):
            nodes.append(dict(node, node_id=job * 100 + index, approval_id=job * 100 + 50 + index))
        with self.lock:
            self.awx[job] = nodes
        return {"workflow_job_id": job, "nodes": nodes}

    def workflow_job(self, job: int):
        with self.lock:
            return copy.deepcopy(self.awx.get(job))

    def approval(self, approval_id: int):
        with self.lock:
            for job, nodes in self.awx.items():
                for node in nodes:
                    if node["approval_id"] == approval_id:
                        return job, copy.deepcopy(node)
        return None, None


def _matches(query: str) -> list:
    words = [w for w in query.lower().split() if w]
    return [p for p in PRODUCTS if all(w in p["name"] for w in words)]


def handler(state: State, token: str = ""):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):
            return

        def _send(self, status: int, body, headers: dict | None = None, content_type="application/json"):
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> dict:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                return json.loads(raw or b"{}")
            except ValueError:
                return {}

        def do_GET(self):  # noqa: N802
            self.route("GET", {})

        def do_POST(self):  # noqa: N802
            self.route("POST", self._body())

        def route(self, method: str, body: dict):
            parts = urlsplit(self.path)
            path, query = parts.path, parse_qs(parts.query)
            if path == "/_lab/break" and method == "POST":
                try:
                    return self._send(200, state.update(body))
                except KeyError as exc:
                    return self._send(422, {"error": f"unknown setting {exc.args[0]}; known: {', '.join(DEFAULTS)}"})
            if path == "/_lab/reset" and method == "POST":
                state.reset()
                return self._send(200, {"reset": True})
            if path == "/_lab/awx" and method == "POST":
                return self._send(200, state.add_workflow_job(body))
            if path == "/healthz":
                return self._send(200, {"ok": True})
            if path.startswith("/awx/api/v2/"):
                return self.controller(path[len("/awx/api/v2/"):].strip("/").split("/"))
            if path.startswith("/search/"):
                return self.search(path[len("/search/"):], query, body)
            if path.startswith("/cdn/"):
                return self.cdn(path[len("/cdn/"):])
            if path.startswith("/sandbox/"):
                provider = path.split("/")[2]
                status = int(state.get("sandbox_status").get(provider, 200))
                if self.headers.get("Authorization") != f"Bearer {token}":
                    return self._send(401, {"status": "error", "message": "a valid bearer token is required"})
                if status != 200:
                    return self._send(status, {"status": "error", "provider": provider})
                return self._send(200, {"status": "ok", "provider": provider, "sandbox": True})
            if path == "/flags":
                return self._send(200, {"flags": state.get("flags")})
            if path == "/status/api/v2/status.json":
                indicator = state.get("status_indicator")
                return self._send(200, {"page": {"id": "lab", "name": "Lab status"},
                                        "status": {"indicator": indicator, "description": DESCRIPTIONS[indicator]}})
            return self._send(404, {"error": "no such route"})

        def search(self, rest: str, query: dict, body: dict):
            colour = state.get("search_status")
            if rest == "_cluster/health":
                return self._send(200, {"cluster_name": "lab-search", "status": colour, "timed_out": False,
                                        "number_of_nodes": 1, "number_of_data_nodes": 1, "active_shards": 1,
                                        "unassigned_shards": 0 if colour == "green" else 1})
            if rest == "_cat/indices" or rest == "_cat/indices/products":
                return self._send(200, [{"health": colour, "status": "open", "index": "products",
                                         "docs.count": str(len(PRODUCTS)), "pri": "1", "rep": "0"}])
            index, _, action = rest.partition("/")
            if index != "products":
                return self._send(404, {"error": {"type": "index_not_found_exception",
                                                  "reason": f"no such index [{index}]"}, "status": 404})
            text = (query.get("q") or [""])[0] or (((body.get("query") or {}).get("match") or {}).get("name") or "")
            found = _matches(text) if text else PRODUCTS
            if action == "_count":
                return self._send(200, {"count": len(found), "_shards": {"total": 1, "successful": 1, "failed": 0}})
            if action == "_search":
                return self._send(200, {"took": 1, "timed_out": False,
                                        "hits": {"total": {"value": len(found), "relation": "eq"},
                                                 "hits": [{"_index": "products", "_id": str(p["id"]), "_source": p}
                                                          for p in found[:10]]}})
            return self._send(404, {"error": "no such route"})

        def controller(self, parts: list):
            basic = "Basic " + base64.b64encode(f"admin:{token}".encode()).decode()
            if self.headers.get("Authorization") not in (f"Bearer {token}", basic):
                return self._send(401, {"detail": "Authentication credentials were not provided."})
            if len(parts) == 3 and parts[0] == "workflow_jobs" and parts[2] == "workflow_nodes" and parts[1].isdigit():
                nodes = state.workflow_job(int(parts[1]))
                if nodes is None:
                    return self._send(404, {"detail": "Not found."})
                results = [{"id": n["node_id"], "type": "workflow_job_node", "identifier": n["identifier"],
                            "workflow_job": int(parts[1]), "job": n["approval_id"],
                            "summary_fields": {
                                "job": {"id": n["approval_id"], "name": n["name"], "status": n["status"],
                                        "failed": n["status"] == "failed", "type": "workflow_approval"},
                                "unified_job_template": {"name": n["name"], "unified_job_type": "workflow_approval"}}}
                           for n in nodes]
                return self._send(200, {"count": len(results), "next": None, "previous": None, "results": results})
            if len(parts) == 2 and parts[0] == "workflow_approvals" and parts[1].isdigit():
                job, node = state.approval(int(parts[1]))
                if node is None:
                    return self._send(404, {"detail": "Not found."})
                summary = {"workflow_job": {"id": job, "name": "golive Day -7 to Day 0"}}
                if node["status"] != "pending" and node.get("approved_by"):
                    summary["approved_or_denied_by"] = dict({"id": 7, "first_name": "", "last_name": ""},
                                                            **node["approved_by"])
                return self._send(200, {"id": node["approval_id"], "type": "workflow_approval", "name": node["name"],
                                        "status": node["status"], "failed": node["status"] == "failed",
                                        "timed_out": False, "finished": node.get("finished"),
                                        "summary_fields": summary})
            return self._send(404, {"detail": "Not found."})

        def cdn(self, name: str):
            path = (STATIC / name).resolve()
            if STATIC not in path.parents or not path.is_file():
                return self._send(404, {"error": "no such asset"})
            data = path.read_bytes()
            headers = {"Cache-Control": state.get("cdn_cache_control"),
                       "ETag": '"%s"' % hashlib.sha256(data).hexdigest(), "Age": str(int(time.time() - STARTED)),
                       "X-Cache": "HIT"}
            kind = "text/css" if name.endswith(".css") else "application/javascript" if name.endswith(".js") \
                else "application/octet-stream"
            return self._send(200, data, headers, kind)

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m lab.standins")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--token-file", required=True, help="the sandboxes' API key")
    args = parser.parse_args()
    token = Path(args.token_file).read_text(encoding="utf-8").strip()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), handler(State(), token))
    server.daemon_threads = True
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown, daemon=True).start())
    server.serve_forever()


if __name__ == "__main__":
    main()

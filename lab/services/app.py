"""The demo application on the lab: its schema, its configuration, and the ingress router.

- Applies the pager's migrations of the running release (up to V4, through the
  collection's own migration code, so the history is the one `pg_migrate` keeps; a
  go-live then applies the next release's migration itself).
- Writes the Secret ``pager/pager-config`` (database through PgBouncer, Redis through
  Sentinel) from the lab's endpoints; the API server's Pod runtime starts the pager
  Pods once it exists.
- Runs the ingress router (``lab/router``) on two loopback sites, 127.0.0.2 ("old") and
  127.0.0.3 ("new"), HTTP and HTTPS, and waits until the application answers through it.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import ssl
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from lab.base import REPO_ROOT, LabContext, Service, ServiceError, pid_alive
from lab.router import client

NAMESPACE = "pager"
SECRET = "pager-config"
HOSTS = ["app.lab.example", "www.lab.example"]
SITES = {"old": "127.0.0.2", "new": "127.0.0.3"}
RELEASE_TARGET = "4"  # the running release's schema; the next release's migration is the go-live's
ROUTER = "router"


def _api(k8s: dict, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
    ctx = ssl.create_default_context(cafile=k8s["ca_file"])
    req = urllib.request.Request(k8s["api_server"] + path, method=method,
                                 data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Authorization": f"Bearer {k8s['token']}",
                                          "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=10) as resp:
            return resp.status, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def migrate_schema(pg: dict) -> str:
    """The pager's schema, applied the way a user applies it: the installed collection's
    pg_migrate module through ``ansible -m`` (the lab imports nothing of the product)."""
    args = {"path": str(REPO_ROOT / "inventories" / "lab" / "files" / "migrations"), "target": RELEASE_TARGET,
            "applied_by": "lab", "release": "lab", "session_role": pg["app_user"], "login_host": pg["host"],
            "login_port": pg["port"], "login_user": pg["admin_user"], "login_db": pg["database"],
            "ssl_mode": pg["ssl_mode"], "ca_cert": pg["ca_file"]}
    env = dict(os.environ, PGPASSWORD=pg["admin_password"], ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
               ANSIBLE_STDOUT_CALLBACK="json", ANSIBLE_COLLECTIONS_PATH=str(REPO_ROOT / ".cache" / "collections"),
               ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_INVENTORY_UNPARSED_WARNING="false")
    cmd = [str(Path(sys.executable).parent / "ansible"), "localhost", "-i", "localhost,", "-c", "local",
           "-m", "golive.core.pg_migrate", "-a", json.dumps(args), "-e", "ansible_python_interpreter=%s" % sys.executable]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, cwd=REPO_ROOT)
    try:
        result = json.loads(proc.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]
    except (ValueError, KeyError, IndexError):
        raise ServiceError("the pager's schema migration gave no result: %s" % (proc.stderr or proc.stdout)[-800:])
    if result.get("failed"):
        raise ServiceError("the pager's schema migration failed: %s" % result.get("msg"))
    return result["current_version"]


def config_secret(pg: dict, redis: dict, admin_token: str) -> dict:
    values = {
        "DATABASE_HOST": pg["host"], "DATABASE_PORT": str(pg["pgbouncer_port"]), "DATABASE_NAME": pg["database"],
        "DATABASE_USER": pg["app_user"], "DATABASE_PASSWORD": pg["app_password"],
        "DATABASE_SSLMODE": pg["ssl_mode"], "DATABASE_SSLROOTCERT": pg["ca_file"],
        "REDIS_SENTINELS": ",".join(f"{s['host']}:{s['port']}" for s in redis["sentinels"]),
        "REDIS_MASTER_NAME": redis["master_name"], "REDIS_PASSWORD": redis["password"],
        "REDIS_SENTINEL_PASSWORD": redis.get("sentinel_password") or "",
        "LAB_ADMIN_TOKEN": admin_token,
    }
    return {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": SECRET, "namespace": NAMESPACE, "labels": {"app.kubernetes.io/part-of": "pager"}},
            "data": dict((k, base64.b64encode(v.encode()).decode()) for k, v in values.items())}


def answers(site: str, port: int, host: str, ca_file: str) -> str | None:
    """The version the application answers with through the router (HTTPS, SNI), or None."""
    try:
        status, _, body, _ = client.request(site, port, host, path="/version", ca_file=ca_file, timeout=3)
        return json.loads(body)["version"] if status == 200 else None
    except (OSError, ValueError, KeyError):
        return None


def put_config_secret(k8s: dict, pg: dict, redis: dict, admin_token: str) -> None:
    """The pager's configuration Secret in a cluster (its Pods start once it exists)."""
    secret = config_secret(pg, redis, admin_token)
    code, _ = _api(k8s, "PUT", f"/api/v1/namespaces/{NAMESPACE}/secrets/{SECRET}", secret)
    if code == 404:
        code, _ = _api(k8s, "POST", f"/api/v1/namespaces/{NAMESPACE}/secrets", secret)
    if code not in (200, 201):
        raise ServiceError("app", f"the Secret {NAMESPACE}/{SECRET} could not be written (HTTP {code})")


def start_router(ctx: LabContext, process: str, state_name: str, k8s: dict, sites: dict,
                 http_port: int, https_port: int, metrics_port: int) -> dict:
    """Start (unless running) a router serving ``k8s``'s Ingresses on ``sites``; wait until the
    pager answers through its old site; return the ``app`` endpoint section of that cluster."""
    state = ctx.path(state_name)
    token_file = state / "token"
    token_file.write_text(k8s["token"] + "\n")
    token_file.chmod(0o600)
    argv = [sys.executable, "-m", "lab.router", "--api-server", k8s["api_server"], "--token-file",
            str(token_file), "--ca-file", k8s["ca_file"], "--sites", ",".join(sites.values()),
            "--http-port", str(http_port), "--https-port", str(https_port), "--metrics-port", str(metrics_port),
            "--state-dir", str(state)]
    ctx.spawn(process, argv, ports=[metrics_port], cwd=REPO_ROOT, match="lab.router", timeout=60)
    deadline = time.monotonic() + 90
    while answers(sites["old"], https_port, HOSTS[0], k8s["ca_file"]) is None:
        if time.monotonic() > deadline:
            raise ServiceError("app", f"the pager application did not answer through the router {process} "
                                      "within 90s (see kubectl get pods,events -n pager)", ctx.log_path(process))
        time.sleep(0.3)
    return {"namespace": NAMESPACE, "deployment": "pager", "hosts": HOSTS, "sites": dict(sites),
            "http_port": http_port, "https_port": https_port, "metrics_port": metrics_port,
            "ca_file": k8s["ca_file"], "access_log": str(state / "access.log")}


class App(Service):
    name = "app"
    processes = {ROUTER: ("router-metrics", "router-http", "router-https")}
    depends = ("postgres", "redis", "k8s")

    def start(self, ctx: LabContext) -> dict:
        eps = ctx.started
        pg, redis, k8s = eps["postgres"], eps["redis"], eps["k8s"]
        try:
            migrate_schema(pg)
        except Exception as exc:  # noqa: BLE001 - reported as the service's failure
            raise ServiceError(self.name, f"the pager schema could not be applied: {exc}") from exc
        admin_token = ctx.secret("pager_admin_token")
        put_config_secret(k8s, pg, redis, admin_token)
        app = start_router(ctx, ROUTER, "router", k8s, SITES, ctx.port("router-http"), ctx.port("router-https"),
                           ctx.port("router-metrics"))
        return {"app": dict(app, admin_token=admin_token)}

    def status(self, ctx: LabContext) -> dict:
        out = super().status(ctx)
        try:
            pods = json.loads((ctx.state_dir / "k8s" / "pods.json").read_text())
        except (OSError, ValueError):
            pods = []
        for pod in pods:
            if pod.get("terminating"):
                continue  # deleted, finishing within its grace period
            out["processes"].append({"name": f"pod {pod['namespace']}/{pod['pod']}", "pid": pod["pid"],
                                     "running": bool(pod["pid"]) and pid_alive(pod["pid"]), "ports": [],
                                     "address": pod["address"], "image": pod["image"]})
        return out

"""The Kubernetes lab API server (lab/k8s): an in-memory cluster over HTTPS.

Its state is in memory, so a restart brings back the scenario it was started with
(default `healthy`; `GOLIVE_LAB_K8S_SCENARIO` picks another, `GOLIVE_LAB_K8S_VERSION`
overrides the reported version; both are read when the server is not running). Files (CA, server certificate, tokens, kubeconfig) live in
`<state>/k8s/`.
"""

from __future__ import annotations

import os
import ssl
import sys
import urllib.request

from lab.base import LabContext, Service, ServiceError

PROCESS = "k8s-apiserver"
DEFAULT_SCENARIO = "healthy"


def _ready(port: int, ca_file: str) -> bool:
    ctx = ssl.create_default_context(cafile=ca_file)
    with urllib.request.urlopen(f"https://127.0.0.1:{port}/readyz", context=ctx, timeout=2) as resp:
        return resp.status == 200


def start_api_server(ctx: LabContext, process: str, state_name: str, scenario_data: dict | None = None) -> dict:
    """Start (unless running) the API server ``process`` with its files in ``<state>/<state_name>``
    and wait until the scenario's workloads are Ready; return its endpoint section."""
    port = ctx.port(process if process != PROCESS else "k8s")
    state = ctx.path(state_name)
    data = scenario_data if scenario_data is not None else {}
    if not ctx.running_pid(process):
        data.update(scenario=os.environ.get("GOLIVE_LAB_K8S_SCENARIO") or DEFAULT_SCENARIO,
                    version=os.environ.get("GOLIVE_LAB_K8S_VERSION") or None)
        ctx.save()
    scenario, version = data.get("scenario") or DEFAULT_SCENARIO, data.get("version")
    argv = [sys.executable, "-m", "lab.k8s", "serve", "--state-dir", str(state), "--port", str(port), "--runtime"]
    if version:
        argv += ["--version", version]
    if scenario not in ("", "none"):
        argv += ["--scenario", scenario]
    ca_file = str(state / "ca.crt")
    ctx.spawn(process, argv, ports=[port], cwd=ctx.repo_root, match="lab.k8s", timeout=60,
              ready=lambda: _ready(port, ca_file))
    admin_token = (state / "admin-token").read_text().strip()
    # Let the controllers bring the scenario's workloads to Ready before handing it out.
    from lab.k8s.control import LabControl
    control = LabControl(f"https://{ctx.host}:{port}", admin_token, ca_file)
    try:
        control.settle(60)
        version = control.config()["version"]
    except OSError as exc:
        raise ServiceError(process, f"the API server did not settle: {exc}", ctx.log_path(process)) from exc
    return {
        "api_server": f"https://{ctx.host}:{port}",
        "kubeconfig": str(state / "kubeconfig"),
        "token": (state / "token").read_text().strip(),
        "admin_token": admin_token,
        "ca_file": ca_file,
        "version": version,
        "scenario": scenario,
    }


class K8s(Service):
    name = "k8s"
    processes = {PROCESS: ("k8s",)}

    def start(self, ctx: LabContext) -> dict:
        return {"k8s": start_api_server(ctx, PROCESS, "k8s", ctx.data(self.name))}

"""Fixtures for the Kubernetes lab API server tests.

The session fixture starts `python -m lab.k8s serve` (the same entry point `lab up`
uses) with the healthy scenario on a free port in a temporary state directory. Each
pytest-xdist worker gets its own server, so tests never share mutable cluster state
across processes; within a process, tests work in their own namespaces.
"""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
KUBECTL = str(REPO / ".venv" / "bin" / "kubectl")
CONTROLLER_DELAY = "0.1"


def wait_until(predicate, timeout: float = 30.0, interval: float = 0.1, message: str = "condition"):
    """Poll `predicate` until it returns a truthy value (bounded, never a timing assertion)."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
            if last:
                return last
        except Exception as exc:  # noqa: BLE001 - not there yet
            last = exc
        time.sleep(interval)
    raise AssertionError(f"{message} not reached; last value: {last!r}")


@pytest.fixture(scope="session")
def k8s_lab(tmp_path_factory):
    from lab.scratch import cluster

    with cluster(tmp_path_factory.mktemp("k8s-lab"), controller_delay=CONTROLLER_DELAY) as endpoints:
        yield dict((k, v) for k, v in endpoints.items() if k != "control")


@pytest.fixture(scope="session")
def http(k8s_lab):
    """Raw HTTPS calls to the lab API server as its admin: ``http(method, path, body, content_type)``."""
    import json
    import requests

    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {k8s_lab['token']}"
    base = k8s_lab["api_server"]

    def call(method: str, path: str, body=None, ctype: str = "application/json", **kw):
        data = body if isinstance(body, (bytes, str)) or body is None else json.dumps(body)
        return session.request(method, base + path, data=data, headers={"Content-Type": ctype},
                               verify=k8s_lab["ca_file"], **kw)
    return call


@pytest.fixture(scope="session")
def lab_control(k8s_lab):
    from lab.k8s.control import LabControl
    return LabControl.from_endpoints(k8s_lab)


@pytest.fixture
def control(lab_control):
    """The admin client; faults, policy and settings are reset after the test."""
    before = lab_control.config()
    yield lab_control
    lab_control.clear_faults()
    lab_control.reset_policy()
    lab_control.configure(**before)


@pytest.fixture(scope="session")
def api_client(k8s_lab):
    from kubernetes import config
    return config.new_client_from_config(config_file=k8s_lab["kubeconfig"])


@pytest.fixture
def namespace(api_client):
    from kubernetes import client
    name = f"t-{uuid.uuid4().hex[:8]}"
    client.CoreV1Api(api_client).create_namespace({"metadata": {"name": name}})
    yield name
    try:
        client.CoreV1Api(api_client).delete_namespace(name)
    except client.ApiException:
        pass


@pytest.fixture(scope="session")
def kubectl(k8s_lab, tmp_path_factory):
    cache = tmp_path_factory.mktemp("kube-cache")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(cache),
           "KUBECONFIG": k8s_lab["kubeconfig"]}

    def run(*args: str, check: bool = True, input: str | None = None) -> subprocess.CompletedProcess:
        proc = subprocess.run([KUBECTL, "--cache-dir", str(cache), *args], capture_output=True, text=True,
                              env=env, input=input, timeout=120)
        if check and proc.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({proc.returncode}): {proc.stderr}")
        return proc
    return run


def deployment(name: str, image: str = "registry.example.test/app:1.0", replicas: int = 2,
               labels: dict | None = None) -> dict:
    labels = labels or {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "labels": dict(labels)},
            "spec": {"replicas": replicas, "selector": {"matchLabels": dict(labels)},
                     "template": {"metadata": {"labels": dict(labels)},
                                  "spec": {"containers": [{"name": "app", "image": image,
                                                           "ports": [{"name": "http", "containerPort": 8080}]}]}}}}

"""The lab's pager application, as the tests that change it share it: requests through
the router, kubectl, the runtime's processes, and the ``pager`` fixture that puts the
Deployment back at the running release with two replicas afterwards. Tests using it
belong to the xdist group "pager", so they change the shared Deployment one at a time."""

import os
import subprocess
import sys
import time
from pathlib import Path

from lab import demo
from lab.app import catalog
from lab.core import REPO_ROOT
from lab.router import client

KUBECTL = str(Path(sys.executable).parent / "kubectl")
CURRENT = catalog.pinned("pager", "2026.11.2")
HOST = "app.lab.example"


def request(app, method="GET", path="/version", body=None, token=None, site="old", host=HOST, scheme="https"):
    """One request through the router, as a client resolving ``host`` to ``site`` would
    send it (SNI and certificate checked against the lab CA). Returns (status, headers,
    body, peer certificate DER)."""
    return client.request(app["sites"][site], app["https_port"] if scheme == "https" else app["http_port"], host,
                          method, path, body, {"Authorization": f"Bearer {token}"} if token else None,
                          app["ca_file"], scheme)


def kubectl(lab, *args, check=True, timeout=120):
    proc = subprocess.run([KUBECTL, "-n", "pager", *args], capture_output=True, text=True, timeout=timeout,
                          env=dict(os.environ, KUBECONFIG=lab["k8s"]["kubeconfig"]))
    if check:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def pod_processes(lab_instance, deployment="pager", terminating=False):
    """The runtime's processes of a Deployment's Pods (``lab.demo.pods``)."""
    return demo.pods(lab_instance.state_dir, deployment, terminating)


def switch(lab, lab_instance, **switches):
    """Set the application's lab switches (for example ``LAB_ERROR_RATIO=0.05``) on every
    running pager Pod, as ``python -m lab switch`` does."""
    assert demo.switch(lab, lab_instance.state_dir, switches), "no running pager Pod"


def reset_pager(lab, lab_instance):
    """The pager Deployment back at the running release with two replicas, serving."""
    kubectl(lab, "set", "image", "deployment/pager", f"pager={CURRENT}")
    kubectl(lab, "scale", "deployment/pager", "--replicas=2")
    kubectl(lab, "rollout", "status", "deployment/pager", "--timeout=90s")
    wait(lambda: request(lab["app"])[0] == 200 and request(lab["app"])[1].get("X-App-Version") == "2026.11.2",
         what="the pager to answer again")
    wait(lambda: len(pod_processes(lab_instance, terminating=True)) == 2, what="old Pods' processes to exit")


def wait(predicate, timeout=30.0, what="the condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def next_release_schema(lab):
    """What phase 2 of the next release does first: its migration (V5)."""
    sys.path.insert(0, str(REPO_ROOT / ".cache" / "collections"))
    from ansible_collections.golive.core.plugins.module_utils.postgres import migrate
    pg = lab["postgres"]
    params = {"login_host": pg["host"], "login_port": pg["port"], "login_user": pg["admin_user"],
              "login_password": pg["admin_password"], "login_db": pg["database"], "ssl_mode": "disable"}
    migrate.migrate(params, str(REPO_ROOT / "inventories/lab/files/migrations"), session_role=pg["app_user"])



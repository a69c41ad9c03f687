"""Throwaway Kubernetes lab API servers, one per scenario, for tests and benchmarks that
need a cluster in a known state (a one-defect scenario, a policy that denies a verb,
thousands of Deployments) without touching the shared lab."""

import contextlib
import socket
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _accepts(port):
    try:
        socket.create_connection(("127.0.0.1", port), 0.2).close()
        return True
    except OSError:
        return False


@contextlib.contextmanager
def cluster(state_dir, scenario="healthy", controller_delay="0.05"):
    """Start `python -m lab.k8s serve` on a free port; yield its endpoints, settled."""
    from lab.k8s.control import LabControl

    state_dir = Path(state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    log = open(state_dir / "server.log", "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "lab.k8s", "serve", "--state-dir", str(state_dir), "--port", str(port),
         "--scenario", scenario, "--controller-delay", controller_delay],
        cwd=REPO, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not (state_dir / "admin-token").exists() or not _accepts(port):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("lab API server did not start: %s" % (state_dir / "server.log").read_text()[-2000:])
            time.sleep(0.05)
        endpoints = {
            "api_server": "https://127.0.0.1:%d" % port, "kubeconfig": str(state_dir / "kubeconfig"),
            "token": (state_dir / "token").read_text().strip(),
            "admin_token": (state_dir / "admin-token").read_text().strip(), "ca_file": str(state_dir / "ca.crt"),
            "state_dir": str(state_dir),
        }
        control = LabControl.from_endpoints(endpoints)
        control.settle(60)
        endpoints["control"] = control
        yield endpoints
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()

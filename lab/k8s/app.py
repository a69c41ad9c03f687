"""Assembles the lab cluster: PKI, store, HTTP server, controllers and scenarios."""

from __future__ import annotations

import base64
import secrets
import threading
import time
from pathlib import Path

import yaml

from .cluster import Cluster
from .controllers import Controllers
from .pki import CA, write_file, write_server_files
from .scenarios import load_scenario
from .server import Config, LabServer, make_ssl_context, serve_in_thread

NODE_DEFAULT = "lab-node-1"


def write_kubeconfig(path: Path, server: str, ca_pem: bytes, token: str, context: str = "golive-lab") -> None:
    doc = {
        "apiVersion": "v1", "kind": "Config", "preferences": {},
        "clusters": [{"name": context, "cluster": {
            "server": server, "certificate-authority-data": base64.b64encode(ca_pem).decode()}}],
        "users": [{"name": "lab-admin", "user": {"token": token}}],
        "contexts": [{"name": context, "context": {"cluster": context, "user": "lab-admin",
                                                    "namespace": "default"}}],
        "current-context": context,
    }
    write_file(path, yaml.safe_dump(doc, sort_keys=False), 0o600)


class LabCluster:
    """One lab API server bound to a state directory."""

    def __init__(self, state_dir: str | Path, port: int = 0, host: str = "127.0.0.1",
                 version: str = "v1.30.2", controller_delay: float = 1.0,
                 controllers: bool = True, runtime: bool = False) -> None:
        self.state_dir = Path(state_dir)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.ca = CA.load_or_create(self.state_dir)
        cert_file, key_file = write_server_files(self.state_dir, self.ca)
        self.token = self._secret("token")
        self.admin_token = self._secret("admin-token")
        self.config = Config(version)
        self.config.controller_delay = controller_delay
        self.cluster = Cluster()
        self.server = LabServer((host, port), self.cluster, self.config, self.token, self.admin_token,
                                make_ssl_context(str(cert_file), str(key_file)), lab=self)
        self.port = self.server.server_address[1]
        self.url = f"https://127.0.0.1:{self.port}"
        self.controllers = Controllers(self.cluster, self.config, self.ca)
        if runtime:
            from .runtime import PodRuntime
            self.controllers.runtime = PodRuntime(self.state_dir, report=self.controllers.enqueue)
        self.scenario: str | None = None
        self._bootstrap()
        if controllers:
            self.controllers.start()
        self.kubeconfig = self.state_dir / "kubeconfig"
        write_kubeconfig(self.kubeconfig, self.url, self.ca.cert_pem, self.token)
        self._thread = None

    def _secret(self, name: str) -> str:
        path = self.state_dir / name
        if path.exists():
            return path.read_text().strip()
        value = secrets.token_urlsafe(32)
        write_file(path, value + "\n", 0o600)
        return value

    def _bootstrap(self) -> None:
        cl = self.cluster
        for ns in ("default", "kube-system", "kube-public", "kube-node-lease"):
            cl.create(cl.kind("Namespace"), None, {"metadata": {"name": ns}})
        cl.create(cl.kind("Service"), "default", {
            "metadata": {"name": "kubernetes", "labels": {"component": "apiserver", "provider": "kubernetes"}},
            "spec": {"clusterIP": "10.96.0.1", "ports": [{"name": "https", "port": 443, "targetPort": self.port}]}})

    def load_scenario(self, name: str) -> int:
        count, meta = load_scenario(self, name)
        self.scenario = name
        if meta.get("version"):
            self.config.update({"version": meta["version"]})
        if meta.get("policy") is not None:
            from .policy import Policy
            self.server.policy = Policy(meta["policy"])
        return count

    def ensure_node(self) -> None:
        cl = self.cluster
        if not cl.store.list(cl.kind("Node").key):
            from .scenarios import node
            cl.preload(cl.kind("Node"), node(NODE_DEFAULT, self.config.git_version, control_plane=True))

    def start(self) -> "LabCluster":
        self.ensure_node()
        self.start_compactor()
        self._thread = serve_in_thread(self.server)
        return self

    def start_compactor(self) -> None:
        """Compaction over time, as kube-apiserver asks etcd for it: every
        ``compaction_interval`` seconds, the history up to the previous pass's revision goes."""
        def run() -> None:
            mark, since = self.cluster.store.rv, time.monotonic()
            while not self._stopping.wait(0.2):
                if time.monotonic() - since >= self.config.compaction_interval:
                    self.cluster.store.compact(mark)
                    mark, since = self.cluster.store.rv, time.monotonic()

        self._stopping = threading.Event()
        threading.Thread(target=run, name="lab-k8s-compactor", daemon=True).start()

    def serve_forever(self) -> None:
        self.ensure_node()
        self.start_compactor()
        try:
            self.server.serve_forever(poll_interval=0.2)
        finally:
            self.stop()

    def stop_compactor(self) -> None:
        if getattr(self, "_stopping", None) is not None:
            self._stopping.set()

    def stop(self) -> None:
        self.stop_compactor()
        self.controllers.stop()
        if self.controllers.runtime is not None:
            self.controllers.runtime.stop_all()
        self.cluster.store.close_all_watches()
        if self._thread is not None:
            self.server.shutdown()
            self._thread.join(5)
            self._thread = None
        self.server.server_close()

    def endpoints(self) -> dict:
        return {"api_server": self.url, "kubeconfig": str(self.kubeconfig), "token": self.token,
                "ca_file": str(self.state_dir / "ca.crt"), "version": self.config.git_version,
                "scenario": self.scenario, "admin_token": self.admin_token}

    def settle(self, timeout: float = 30.0) -> bool:
        return self.controllers.wait_idle(timeout)


def wait_for_port(port: int, timeout: float = 20.0) -> None:
    import socket
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), 0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"lab API server did not listen on {port}")

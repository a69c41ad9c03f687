"""Roll 50 Deployments to a new image: one golive.core.k8s_rollout task against
kubernetes.core.k8s + k8s_info (a patch and a wait per Deployment), and the module's
in-process time against a raw floor.

All contestants run against the same lab API server (its own process, controllers on:
ReplicaSets, Pods and their readiness are simulated), each rolling every Deployment to
an image it has not had yet, and each waiting until every Deployment has rolled out.

  1. ansible-playbook with one `golive.core.k8s_rollout` task (label selector, one deadline);
  2. ansible-playbook with `kubernetes.core.k8s` (patch the image, per Deployment) and
     `kubernetes.core.k8s_info` (wait for it, per Deployment) - the usual way;
  3. the module's service, `rollout.roll`, called in process;
  4. the floor: the same API calls and waits with the official Python client and a
     thread pool (patch each Deployment, then poll each one until it has rolled out).

Prints the wall times and the two ratios the issue names: (2)/(1), at least 10, and
(3)/(4), at most 1.5.

    .venv/bin/python bench/rollout.py [--deployments 50] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / ".cache" / "collections")]

import kubernetes  # noqa: E402

from ansible_collections.golive.core.plugins.module_utils.k8s import rollout  # noqa: E402
from ansible_collections.golive.core.plugins.module_utils.k8s.client import Kube, KubeSettings  # noqa: E402
from lab.scratch import cluster  # noqa: E402

NAMESPACE = "bench"
SELECTOR = "bench=rollout"
IMAGE = "registry.example.test/bench/app:%d"


def deployment(i: int) -> dict:
    name = f"app-{i:03d}"
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": NAMESPACE, "labels": {"bench": "rollout"}},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "app", "image": IMAGE % 0}]}}}}


def playbook(path: Path, tasks: list) -> Path:
    path.write_text(json.dumps([{"name": "bench", "hosts": "localhost", "gather_facts": False, "tasks": tasks}]))
    return path


def run_playbook(path: Path, kubeconfig: str) -> float:
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), K8S_AUTH_KUBECONFIG=kubeconfig,
               ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_INVENTORY_UNPARSED_WARNING="false")
    started = time.perf_counter()
    proc = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,",
                           "-e", "ansible_connection=local", "-e", "ansible_python_interpreter=%s" % sys.executable,
                           str(path)], cwd=ROOT, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit("playbook %s failed:\n%s" % (path.name, proc.stdout[-3000:] + proc.stderr[-2000:]))
    return elapsed


def floor(kubeconfig: str, names: list[str], image: str, deadline: float = 300) -> float:
    """Patch every Deployment and wait for each, with the official client and a thread pool."""
    api_client = kubernetes.config.new_client_from_config(config_file=kubeconfig)
    api_client.configuration.connection_pool_maxsize = 32
    apps = kubernetes.client.AppsV1Api(api_client)

    def one(name: str) -> None:
        apps.patch_namespaced_deployment(name, NAMESPACE, {"spec": {"template": {"spec": {"containers": [
            {"name": "app", "image": image}]}}}})
        stop = time.monotonic() + deadline
        delay = 0.25
        while time.monotonic() < stop:
            obj = api_client.sanitize_for_serialization(apps.read_namespaced_deployment(name, NAMESPACE))
            obj["kind"] = "Deployment"
            if rollout.readiness(obj)[0]:
                return
            time.sleep(delay)
            delay = min(1.0, delay * 1.2)
        raise RuntimeError("%s did not roll out" % name)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=rollout.MAX_WORKERS) as pool:
        list(pool.map(one, names))
    elapsed = time.perf_counter() - started
    api_client.close()
    return elapsed


def in_process(kubeconfig: str, image: str) -> float:
    started = time.perf_counter()
    kube = Kube(KubeSettings(kubeconfig=kubeconfig), deadline=300)
    result = rollout.roll(kube, label_selector=SELECTOR, namespaces=[NAMESPACE], images={"app": image}, timeout=300)
    kube.close()
    elapsed = time.perf_counter() - started
    assert result["changed"] and all(w["rolled_out"] for w in result["workloads"])
    return elapsed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--deployments", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=3, help="rounds of the in-process comparison (median)")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="rollout-bench-"))
    with cluster(work / "k8s", controller_delay="0.05") as k8s:
        kubeconfig = k8s["kubeconfig"]
        kube = Kube(KubeSettings(kubeconfig=kubeconfig), deadline=120)
        kube.request("POST", "/api/v1/namespaces", body={"metadata": {"name": NAMESPACE}})
        names = []
        for i in range(args.deployments):
            body = deployment(i)
            kube.request("POST", "/apis/apps/v1/namespaces/%s/deployments" % NAMESPACE, body=body)
            names.append(body["metadata"]["name"])
        rollout.Rollout(kube).wait(rollout.Rollout(kube).select(label_selector=SELECTOR, namespaces=[NAMESPACE]),
                                   kube.deadline)
        kube.close()
        generation = iter(range(1, 1000))

        ours = playbook(work / "ours.yml", [{"name": "Roll every Deployment", "golive.core.k8s_rollout": {
            "label_selector": SELECTOR, "namespaces": [NAMESPACE], "images": {"app": IMAGE % next(generation)},
            "timeout": 600}}])
        image = IMAGE % next(generation)
        theirs = playbook(work / "kubernetes_core.yml", [
            {"name": "Patch each Deployment", "kubernetes.core.k8s": {
                "state": "patched", "kind": "Deployment", "namespace": NAMESPACE, "name": "{{ item }}",
                "definition": {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": image}]}}}}},
             "loop": names},
            {"name": "Wait for each Deployment", "kubernetes.core.k8s_info": {
                "kind": "Deployment", "namespace": NAMESPACE, "name": "{{ item }}", "wait": True,
                "wait_timeout": 600, "wait_sleep": 1}, "loop": names}])
        t_ours = run_playbook(ours, kubeconfig)
        t_theirs = run_playbook(theirs, kubeconfig)

        t_module, t_floor = [], []
        for _ in range(args.rounds):
            t_module.append(in_process(kubeconfig, IMAGE % next(generation)))
            t_floor.append(floor(kubeconfig, names, IMAGE % next(generation)))
        m_module, m_floor = statistics.median(t_module), statistics.median(t_floor)

    print(f"{args.deployments} Deployments x 2 replicas, lab API server with controllers (same server for all)")
    print(f"golive.core.k8s_rollout, one task (ansible-playbook):          {t_ours:7.2f} s")
    print(f"kubernetes.core.k8s + k8s_info per Deployment (ansible-playbook): {t_theirs:7.2f} s")
    print(f"k8s_rollout service in process (median of {args.rounds}):           {m_module:7.2f} s")
    print(f"raw floor, official client + thread pool (median of {args.rounds}):  {m_floor:7.2f} s")
    print(f"ratio kubernetes.core / k8s_rollout:  {t_theirs / t_ours:6.1f}x  (target: at least 10x)")
    print(f"ratio k8s_rollout / raw floor:        {m_module / m_floor:6.2f}x  (target: at most 1.5x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

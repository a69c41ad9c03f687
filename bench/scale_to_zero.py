"""Scale 200 Deployments to zero and back, and the emergency rollback's time to the
maintenance page, each against its baseline measured in the same run.

Scaling, on a lab API server of its own (controllers on: ReplicaSets, Pods and their
readiness are simulated), every contestant taking all Deployments to 0 and back to their
counts and waiting until each has its Pods gone, then ready again:

  1. ansible-playbook with one `golive.core.k8s_workloads` task to zero (the counts are
     saved) and one back (`state: restored`);
  2. ansible-playbook with a `kubernetes.core.k8s_scale` loop to zero and a loop back
     (a task per Deployment, each waiting, polling every second instead of its default 5);
  3. the module's service, `workloads.scale`, called in process, both ways;
  4. the floor: the same patches with the official Python client from a thread pool, then
     one LIST of the namespace every 50 ms until every Deployment has its count.

Prints (2)/(1), at least 10, and (3)/(4), at most 1.5.

Time to the maintenance page, on the lab (`python -m lab up`; its pager application): the
next release goes live (phase 4, a fresh environment each round), then
`playbooks/rollback_emergency.yml -e release=<id>` is launched while a client asks the
router for a page every 20 ms; the time from launch to the first 503 maintenance page,
median of the rounds (target: under 3 s). And what one Kubernetes module task costs to
start, with the official client loaded whole (`GOLIVE_K8S_IMPORT=full`, as before) and as
the collection loads it now: the difference per task between a playbook of 11
`golive.core.ledger` reads and one of a single read.

    .venv/bin/python bench/scale_to_zero.py [--deployments 200] [--rounds 3] [--skip-scale] [--skip-rollback]
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
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / ".cache" / "collections"), str(ROOT / "tests" / "integration")]

import kubernetes  # noqa: E402

from ansible_collections.golive.core.plugins.module_utils.k8s import rollout, workloads  # noqa: E402
from ansible_collections.golive.core.plugins.module_utils.k8s.client import Kube, KubeSettings  # noqa: E402
from lab.scratch import cluster  # noqa: E402

NAMESPACE = "bench"
SELECTOR = "bench=scale"
REPLICAS = 2
BIN = Path(sys.executable).parent


def deployment(i: int) -> dict:
    name = f"app-{i:03d}"
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": NAMESPACE, "labels": {"bench": "scale"}},
            "spec": {"replicas": REPLICAS, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "app", "image": "registry.example.test/app:1"}]}}}}


def ansible_env(kubeconfig: str | None = None, extra: dict | None = None) -> dict:
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_LOCALHOST_WARNING="false",
               ANSIBLE_INVENTORY_UNPARSED_WARNING="false",
               GOLIVE_REPORT_DIR=os.path.join(tempfile.gettempdir(), "golive-bench-reports"))
    if kubeconfig:
        env["K8S_AUTH_KUBECONFIG"] = kubeconfig
    env.update(extra or {})
    return env


def run_playbook(path: Path, tasks: list, kubeconfig: str, extra_env: dict | None = None) -> float:
    path.write_text(json.dumps([{"name": "bench", "hosts": "localhost", "gather_facts": False, "tasks": tasks}]))
    started = time.perf_counter()
    proc = subprocess.run([str(BIN / "ansible-playbook"), "-i", "localhost,", "-e", "ansible_connection=local",
                           "-e", "ansible_python_interpreter=%s" % sys.executable, str(path)],
                          cwd=ROOT, env=ansible_env(kubeconfig, extra_env), capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit("playbook %s failed:\n%s" % (path.name, proc.stdout[-3000:] + proc.stderr[-2000:]))
    return elapsed


def settled(kube: Kube, replicas: int) -> None:
    """Every bench Deployment at ``replicas`` (fails the bench otherwise)."""
    items = kube.list("/apis/apps/v1/namespaces/%s/deployments" % NAMESPACE, label_selector=SELECTOR)
    wrong = [d["metadata"]["name"] for d in items
             if d["spec"]["replicas"] != replicas or ((d.get("status") or {}).get("readyReplicas") or 0) != replicas]
    if wrong:
        raise SystemExit("%d Deployment(s) not at %d replicas: %s" % (len(wrong), replicas, ", ".join(wrong[:5])))


def floor(kubeconfig: str, names: list[str], deadline: float = 300) -> float:
    """Every Deployment to 0 and back, with the official client: the scale patches from a
    thread pool, then one LIST of the namespace every 50 ms until every Deployment has its
    count (the least a client can do: no per-object polling, no backoff)."""
    api_client = kubernetes.config.new_client_from_config(config_file=kubeconfig)
    api_client.configuration.connection_pool_maxsize = 32
    apps = kubernetes.client.AppsV1Api(api_client)

    def to(count):
        with ThreadPoolExecutor(max_workers=rollout.MAX_WORKERS) as pool:
            list(pool.map(lambda name: apps.patch_namespaced_deployment_scale(
                name, NAMESPACE, {"spec": {"replicas": count}}), names))
        stop = time.monotonic() + deadline
        while time.monotonic() < stop:
            listed = api_client.sanitize_for_serialization(
                apps.list_namespaced_deployment(NAMESPACE, label_selector=SELECTOR))
            if all(rollout.readiness(dict(d, kind="Deployment"))[0] for d in listed["items"]):
                return
            time.sleep(0.05)
        raise RuntimeError("the Deployments did not reach %d replicas" % count)

    started = time.perf_counter()
    to(0)
    to(REPLICAS)
    elapsed = time.perf_counter() - started
    api_client.close()
    return elapsed


def in_process(kubeconfig: str) -> float:
    started = time.perf_counter()
    kube = Kube(KubeSettings(kubeconfig=kubeconfig), deadline=300)
    down = workloads.scale(kube, label_selector=SELECTOR, namespaces=[NAMESPACE], replicas=0)
    up = workloads.scale(kube, label_selector=SELECTOR, namespaces=[NAMESPACE], state="restored", percent=100)
    kube.close()
    elapsed = time.perf_counter() - started
    assert down["changed"] and up["changed"] and all(w["ready"] for w in up["workloads"])
    return elapsed


def bench_scale(args) -> None:
    work = Path(tempfile.mkdtemp(prefix="scale-bench-"))
    with cluster(work / "k8s", controller_delay="0.05") as k8s:
        kubeconfig = k8s["kubeconfig"]
        kube = Kube(KubeSettings(kubeconfig=kubeconfig), deadline=300)
        kube.request("POST", "/api/v1/namespaces", body={"metadata": {"name": NAMESPACE}})
        names = []
        for i in range(args.deployments):
            body = deployment(i)
            kube.request("POST", "/apis/apps/v1/namespaces/%s/deployments" % NAMESPACE, body=body)
            names.append(body["metadata"]["name"])
        engine = rollout.Rollout(kube)
        engine.wait(engine.select(label_selector=SELECTOR, namespaces=[NAMESPACE]), kube.deadline)
        settled(kube, REPLICAS)

        selection = {"label_selector": SELECTOR, "namespaces": [NAMESPACE], "timeout": 600}
        t_ours = run_playbook(work / "ours.yml", [
            {"name": "Every Deployment to zero", "golive.core.k8s_workloads": dict(selection, replicas=0)},
            {"name": "Every Deployment back", "golive.core.k8s_workloads": dict(selection, state="restored")}],
            kubeconfig)
        settled(kube, REPLICAS)
        t_theirs = run_playbook(work / "kubernetes_core.yml", [
            {"name": "Each Deployment to zero", "kubernetes.core.k8s_scale": {
                "kind": "Deployment", "namespace": NAMESPACE, "name": "{{ item }}", "replicas": 0, "wait": True,
                "wait_timeout": 600, "wait_sleep": 1}, "loop": names},
            {"name": "Each Deployment back", "kubernetes.core.k8s_scale": {
                "kind": "Deployment", "namespace": NAMESPACE, "name": "{{ item }}", "replicas": REPLICAS,
                "wait": True, "wait_timeout": 600, "wait_sleep": 1}, "loop": names}], kubeconfig)
        settled(kube, REPLICAS)

        t_module, t_floor = [], []
        for _ in range(args.rounds):
            t_module.append(in_process(kubeconfig))
            settled(kube, REPLICAS)
            t_floor.append(floor(kubeconfig, names))
            settled(kube, REPLICAS)
        kube.close()
    m_module, m_floor = statistics.median(t_module), statistics.median(t_floor)
    print(f"{args.deployments} Deployments x {REPLICAS} replicas to 0 and back, lab API server with controllers")
    print(f"golive.core.k8s_workloads, two tasks (ansible-playbook):            {t_ours:7.2f} s")
    print(f"kubernetes.core.k8s_scale loops, a task per Deployment (ansible-playbook): {t_theirs:7.2f} s")
    print(f"k8s_workloads service in process (median of {args.rounds}):           {m_module:7.2f} s")
    print(f"raw floor, official client + thread pool (median of {args.rounds}):  {m_floor:7.2f} s")
    print(f"ratio kubernetes.core / k8s_workloads:  {t_theirs / t_ours:6.1f}x  (target: at least 10x)")
    print(f"ratio k8s_workloads / raw floor:        {m_module / m_floor:6.2f}x  (target: at most 1.5x)")


def task_cost(kubeconfig: str, full: bool) -> float:
    """Seconds one golive.core.ledger read adds to a playbook (11 reads minus 1, over 10)."""
    extra = {"GOLIVE_K8S_IMPORT": "full"} if full else {}
    read = {"golive.core.ledger": {"operation": "read", "release": "bench", "environment": "bench",
                                   "missing_ok": True}}
    work = Path(tempfile.mkdtemp(prefix="task-bench-"))
    one = min(run_playbook(work / "one.yml", [read], kubeconfig, extra) for _ in range(3))
    eleven = min(run_playbook(work / "eleven.yml", [read] * 11, kubeconfig, extra) for _ in range(3))
    return (eleven - one) / 10


def time_to_503(lab: dict) -> float:
    """One round: phase 4 of the next release in a fresh environment, then the emergency
    rollback, watched through the router."""
    from helpers import ansible_env as test_env, lab_vars_file, next_release_schema, request, run_playbook as test_playbook

    environment, release = "bench-" + uuid.uuid4().hex[:6], "B-" + uuid.uuid4().hex[:6]
    next_release_schema(lab)
    live = test_playbook("playbooks/golive.yml", "--tags", "phase4", "-e", "golive_release=%s" % release,
                         "-e", "golive_app_version=2026.11.3", environment=environment)
    if live.returncode != 0:
        raise SystemExit("the go-live failed:\n" + live.stdout[-3000:])
    cmd = [str(BIN / "ansible-playbook"), "-i", "inventories/lab", "playbooks/rollback_emergency.yml",
           "-e", "@%s" % lab_vars_file(), "-e", "golive_environment=%s" % environment, "-e", "release=%s" % release]
    started = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=test_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    first = None
    while first is None and proc.poll() is None:
        try:
            if request(lab["app"], path="/", site="old")[0] == 503:
                first = time.monotonic() - started
        except OSError:
            pass
        time.sleep(0.02)
    out = proc.communicate()[0]
    if proc.returncode != 0 or first is None:
        raise SystemExit("the rollback failed or never showed the maintenance page:\n" + out[-3000:])
    return first


def bench_rollback(args) -> None:
    from lab.core import Lab
    lab = Lab().up()
    kubeconfig = lab["k8s"]["kubeconfig"]
    before, after = task_cost(kubeconfig, full=True), task_cost(kubeconfig, full=False)
    rounds = [time_to_503(lab) for _ in range(args.rounds)]
    print("one Kubernetes module task (golive.core.ledger read), start-up and call:")
    print(f"  official client imported whole (GOLIVE_K8S_IMPORT=full, as before): {before:6.3f} s a task")
    print(f"  configuration, kubeconfig loading and transport only (now):       {after:6.3f} s a task")
    print("time from launching rollback_emergency.yml to the first 503 through the router:")
    print("  rounds: " + ", ".join(f"{r:.2f} s" for r in rounds))
    print(f"  median: {statistics.median(rounds):.2f} s  (target: under 3 s)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--deployments", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=3, help="rounds of the in-process comparison and of time-to-503")
    ap.add_argument("--skip-scale", action="store_true")
    ap.add_argument("--skip-rollback", action="store_true")
    args = ap.parse_args()
    if not args.skip_scale:
        bench_scale(args)
    if not args.skip_rollback:
        bench_rollback(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())

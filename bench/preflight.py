"""k8s_preflight against kubernetes.core.k8s_info gathering the same facts.

A throwaway lab API server gets the healthy scenario plus Deployments spread over 200
namespaces (500, 1,000, then 2,000 by default). At each size, in the same run:
  - ours: one `golive.core.k8s_preflight` task with the lab's readiness spec, images
    checked in every namespace (so every Deployment is read and evaluated);
  - peer: one `kubernetes.core.k8s_info` task per kind (and per declared Secret), one
    `kubernetes.core.k8s` SelfSubjectAccessReview per declared permission, plus
    `kubernetes.core.k8s_cluster_info` for the version: the facts the preflight reads,
    gathered the way a playbook without this collection would, without evaluating them.
Both run as ansible-playbook, each the median of --rounds interleaved runs; the median
time of an empty playbook, measured alongside, is subtracted from both (the "net"
columns). Prints
the request count of our call at every size (constant in cluster size), the time our
module itself reports per size (it grows linearly with the objects it reads), and the
ratio peer / ours at the largest size. Target: at least 10x.

    .venv/bin/python bench/preflight.py [--sizes 500,1000,2000] [--namespaces 200]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / ".cache" / "collections")]

import yaml  # noqa: E402

from ansible_collections.golive.core.plugins.module_utils.k8s.client import Kube, KubeSettings  # noqa: E402
from ansible_collections.golive.core.plugins.module_utils.k8s.preflight import run_preflight  # noqa: E402
from lab.scratch import cluster  # noqa: E402

BIN = Path(sys.executable).parent
SPEC = yaml.safe_load((REPO / "inventories/lab/group_vars/all/main.yml").read_text())["golive_readiness"]
PEER_KINDS = [
    ("v1", "Namespace", None), ("v1", "Node", None), ("storage.k8s.io/v1", "StorageClass", None),
    ("networking.k8s.io/v1", "NetworkPolicy", None), ("networking.k8s.io/v1", "IngressClass", None),
    ("apps/v1", "Deployment", None), ("apps/v1", "StatefulSet", None), ("apps/v1", "DaemonSet", None),
    ("batch/v1", "CronJob", None), ("apiextensions.k8s.io/v1", "CustomResourceDefinition", None),
    ("cert-manager.io/v1", "ClusterIssuer", None), ("cert-manager.io/v1", "Certificate", None),
    ("monitoring.coreos.com/v1", "PrometheusRule", None), ("v1", "Pod", "logging"),
]


def playbook(tasks):
    return [{"name": "bench", "hosts": "localhost", "connection": "local", "gather_facts": False,
             "vars": {"ansible_python_interpreter": sys.executable}, "tasks": tasks}]


def ours(kubeconfig):
    spec = dict(SPEC, images=dict(SPEC["images"], namespaces=[]), kubeconfig=kubeconfig,
                fail_on_failed_checks=False)
    return playbook([{"name": "preflight", "golive.core.k8s_preflight": spec, "register": "r"},
                     {"name": "requests", "ansible.builtin.debug": {
                         "msg": "REQUESTS={{ r.requests }} ELAPSED={{ r.elapsed_seconds }}"}}])


def peer(kubeconfig):
    tasks = [{"name": "version", "kubernetes.core.k8s_cluster_info": {"kubeconfig": kubeconfig}}]
    for api_version, kind, namespace in PEER_KINDS:
        args = {"kubeconfig": kubeconfig, "api_version": api_version, "kind": kind}
        if namespace:
            args["namespace"] = namespace
        tasks.append({"name": "list %s" % kind, "kubernetes.core.k8s_info": args})
    for secret in SPEC["secrets"]:
        tasks.append({"name": "secret", "kubernetes.core.k8s_info": {
            "kubeconfig": kubeconfig, "kind": "Secret", "namespace": secret["namespace"], "name": secret["name"]}})
    for perm in SPEC["permissions"]:
        attrs = dict((k, v) for k, v in perm.items() if k in ("verb", "resource", "group", "subresource", "namespace"))
        tasks.append({"name": "access review", "kubernetes.core.k8s": {
            "kubeconfig": kubeconfig, "state": "present", "definition": {
                "apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
                "spec": {"resourceAttributes": attrs}}}})
    return playbook(tasks)


def run(book, workdir, name):
    path = Path(workdir) / ("%s.yml" % name)
    path.write_text(yaml.safe_dump(book, sort_keys=False))
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    started = time.monotonic()
    proc = subprocess.run([str(BIN / "ansible-playbook"), "-i", "localhost,", str(path)], cwd=REPO, env=env,
                          capture_output=True, text=True, check=False)
    elapsed = time.monotonic() - started
    if proc.returncode != 0:
        raise SystemExit("%s failed:\n%s" % (name, proc.stdout[-3000:] + proc.stderr[-2000:]))
    requests = inner = None
    for line in proc.stdout.splitlines():
        if "REQUESTS=" in line:
            fields = dict(part.split("=") for part in line.strip().strip('"').split('"')[-1].split())
            requests, inner = int(fields["REQUESTS"]), float(fields["ELAPSED"])
    return elapsed, requests, inner


def in_process(kubeconfig, rounds):
    """Median time of the preflight itself (gather + evaluate), without Ansible around it."""
    spec = dict(SPEC, images=dict(SPEC["images"], namespaces=[]))
    samples = []
    for _ in range(rounds):
        kube = Kube(KubeSettings(kubeconfig=kubeconfig), deadline=600)
        started = time.perf_counter()
        run_preflight(kube, spec)
        samples.append(time.perf_counter() - started)
        kube.close()
    return sorted(samples)[len(samples) // 2]


def median(runs):
    runs = sorted(runs, key=lambda r: r[0])
    return runs[len(runs) // 2]


def load(kube, start, stop, namespaces):
    for i in range(start, stop):
        ns = "bench-%03d" % (i % namespaces)
        if i < namespaces:
            kube.request("POST", "/api/v1/namespaces", body={"apiVersion": "v1", "kind": "Namespace",
                                                             "metadata": {"name": ns}})
        name = "svc-%04d" % i
        kube.request("POST", "/apis/apps/v1/namespaces/%s/deployments" % ns, body={
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": ns,
                                                                        "labels": {"app": name}},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [{
                         "name": "app", "image": "registry.example.test/%s/%s:1@sha256:%s" % (ns, name, "a" * 64),
                         "env": [{"name": "LOG_LEVEL", "value": "info"}],
                         "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}}}]}}}})


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="500,1000,2000")
    parser.add_argument("--namespaces", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    rows = []
    with tempfile.TemporaryDirectory() as workdir, cluster(Path(workdir) / "k8s", controller_delay="0.01") as k8s:
        kube = Kube(KubeSettings(kubeconfig=k8s["kubeconfig"]), deadline=3600)
        noop = playbook([{"name": "noop", "ansible.builtin.meta": "noop"}])
        loaded = 0
        for size in sizes:
            load(kube, loaded, size, args.namespaces)
            loaded = size
            k8s["control"].settle(300)
            # Interleaved rounds, so a change in machine load hits all three alike.
            samples = {"empty": [], "ours": [], "peer": []}
            for _ in range(args.rounds):
                samples["empty"].append(run(noop, workdir, "empty"))
                samples["ours"].append(run(ours(k8s["kubeconfig"]), workdir, "ours"))
                samples["peer"].append(run(peer(k8s["kubeconfig"]), workdir, "peer"))
            empty, (ours_t, requests, inner), peer_t = (
                median(samples["empty"])[0], median(samples["ours"]), median(samples["peer"])[0])
            inner = in_process(k8s["kubeconfig"], 7)
            rows.append((size, requests, ours_t, peer_t, empty, inner))
            print("deployments=%5d  requests=%d  module=%.3fs  ours=%.2fs (net %.2fs)  k8s_info=%.2fs (net %.2fs)"
                  % (size, requests, inner, ours_t, ours_t - empty, peer_t, peer_t - empty), flush=True)
        kube.close()
    size, requests, ours_t, peer_t, empty, inner = rows[-1]
    print("request count per size: %s (constant: %s)" % ([r[1] for r in rows], len(set(r[1] for r in rows)) == 1))
    print("preflight time in process (median of 7) per size: %s; per 1,000 Deployments: %s" % (
        ", ".join("%d: %.3fs" % (r[0], r[5]) for r in rows),
        ", ".join("%.3fs" % (r[5] / r[0] * 1000) for r in rows)))
    print("ratio k8s_info / k8s_preflight at %d deployments: %.1fx end to end, %.1fx net of ansible start-up"
          " (target >= 10x)" % (size, peer_t / ours_t, (peer_t - empty) / max(ours_t - empty, 0.001)))
    print(json.dumps({"sizes": [r[0] for r in rows], "requests": [r[1] for r in rows],
                      "module_s": [r[5] for r in rows], "ours_s": [round(r[2], 3) for r in rows],
                      "peer_s": [round(r[3], 3) for r in rows], "empty_s": [round(r[4], 3) for r in rows]}))


if __name__ == "__main__":
    main()

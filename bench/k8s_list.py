"""LIST of 5,000 Deployments in 200 namespaces from the lab Kubernetes API server.

Loads the objects into an in-process server (controllers off by default, so only the
Deployments themselves are stored; `--controllers` also runs ReplicaSets and Pods), then
times, over HTTPS with keep-alive:
  - LIST all Deployments across namespaces (GET /apis/apps/v1/deployments),
  - the same LIST with ?limit=500 pages,
  - a small LIST (one namespace, 25 items),
and, in the same run as the baseline, `json.dumps` of the same 5,000 objects. Prints the
median of each and the ratio LIST / json.dumps (how the served LIST compares with merely
serialising the objects once in process).

    .venv/bin/python bench/k8s_list.py [--namespaces 200] [--per-namespace 25] [--rounds 7]
"""

from __future__ import annotations

import argparse
import http.client
import json
import ssl
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lab.k8s import LabCluster  # noqa: E402


def make_deployment(ns: str, i: int) -> dict:
    name = f"svc-{i:03d}"
    labels = {"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": ns, "tier": "backend" if i % 2 else "web"}
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns, "labels": labels,
                     "annotations": {"deployment.kubernetes.io/revision": "3",
                                     "kubernetes.io/change-cause": "release 2026.11.3"}},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app.kubernetes.io/name": name}},
                 "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
                 "template": {"metadata": {"labels": labels}, "spec": {"containers": [{
                     "name": "app", "image": f"registry.example.test/{ns}/{name}:2026.11.3@sha256:{'a' * 64}",
                     "ports": [{"name": "http", "containerPort": 8080}],
                     "env": [{"name": "LOG_LEVEL", "value": "info"},
                             {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}],
                     "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "256Mi"}},
                     "readinessProbe": {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 5}}]}}},
        "status": {"observedGeneration": 1, "replicas": 3, "updatedReplicas": 3, "readyReplicas": 3,
                   "availableReplicas": 3, "conditions": [
                       {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable",
                        "lastUpdateTime": "2026-11-20T10:00:00Z", "lastTransitionTime": "2026-11-20T10:00:00Z"},
                       {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable",
                        "lastUpdateTime": "2026-11-20T10:00:00Z", "lastTransitionTime": "2026-11-20T10:00:00Z"}]},
    }


def timed(fn, rounds: int) -> tuple[float, object]:
    samples, result = [], None
    for _ in range(rounds):
        start = time.perf_counter()
        result = fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples), result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--namespaces", type=int, default=200)
    ap.add_argument("--per-namespace", type=int, default=25)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--controllers", action="store_true", help="also run the controllers (ReplicaSets, Pods)")
    args = ap.parse_args()

    state = tempfile.mkdtemp(prefix="k8s-bench-")
    lab = LabCluster(state, controller_delay=0.0, controllers=args.controllers).start()
    cl = lab.cluster
    ns_res, dep_res = cl.kind("Namespace"), cl.kind("Deployment")
    t0 = time.perf_counter()
    for n in range(args.namespaces):
        ns = f"team-{n:03d}"
        cl.create(ns_res, None, {"metadata": {"name": ns}})
        for i in range(args.per_namespace):
            cl.preload(dep_res, make_deployment(ns, i))
    load = time.perf_counter() - t0
    extra = ""
    if args.controllers:
        t1 = time.perf_counter()
        lab.settle(1200)
        counts = {k[1]: len(b.items) for k, b in cl.store.buckets.items() if k[1] in ("replicasets", "pods")}
        extra = (f"; controllers settled in {time.perf_counter() - t1:.1f} s with {counts.get('replicasets', 0)} "
                 f"ReplicaSets and {counts.get('pods', 0)} Pods")
    total = args.namespaces * args.per_namespace

    ctx = ssl.create_default_context(cafile=str(Path(state) / "ca.crt"))
    conn = http.client.HTTPSConnection("127.0.0.1", lab.port, context=ctx)
    headers = {"Authorization": f"Bearer {lab.token}", "Accept": "application/json"}

    def get(path: str) -> bytes:
        conn.request("GET", path, headers=headers)
        resp = conn.getresponse()
        body = resp.read()
        assert resp.status == 200, body[:200]
        return body

    def list_all() -> bytes:
        return get("/apis/apps/v1/deployments")

    def list_paged() -> int:
        count, cont = 0, ""
        while True:
            page = json.loads(get(f"/apis/apps/v1/deployments?limit=500&continue={cont}"))
            count += len(page["items"])
            cont = page["metadata"].get("continue")
            if not cont:
                return count

    objects = [e.obj for e in cl.store.list(dep_res.key)]
    list_all()  # warm the connection
    t_list, body = timed(list_all, args.rounds)
    t_parse, parsed = timed(lambda: json.loads(body), args.rounds)
    t_paged, paged = timed(list_paged, max(3, args.rounds // 2))
    t_small, _ = timed(lambda: get("/apis/apps/v1/namespaces/team-000/deployments"), args.rounds)
    t_dumps, dumped = timed(lambda: json.dumps({"items": objects}).encode(), args.rounds)
    lab.stop()

    assert len(parsed["items"]) == total and paged == total
    print(f"objects:   {total} Deployments in {args.namespaces} namespaces "
          f"(loaded in {load:.2f} s; controllers {'on' if args.controllers else 'off'}{extra})")
    print(f"LIST all over HTTPS:             {t_list * 1000:8.1f} ms  ({len(body) / 1e6:.1f} MB)")
    print(f"  + json.loads by the client:    {t_parse * 1000:8.1f} ms")
    print(f"LIST all in pages of 500:        {t_paged * 1000:8.1f} ms  (incl. client json.loads per page)")
    print(f"small LIST (1 namespace, {args.per_namespace}):   {t_small * 1000:8.1f} ms")
    print(f"baseline json.dumps in process:  {t_dumps * 1000:8.1f} ms  ({len(dumped) / 1e6:.1f} MB)")
    print(f"ratio LIST all / json.dumps:     {t_list / t_dumps:8.2f}")
    print(f"ratio LIST all / small LIST:     {t_list / t_small:8.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

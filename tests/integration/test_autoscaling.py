"""Autoscaling on the lab: the API server's HPA controller computes CPU utilization from the
Pod runtime's own CPU series and scales the Deployment; k8s.autoscaling judges the
autoscalers as a user's cluster shows them. Each test runs a pager of its own."""

import json
import threading
import time

from helpers import CURRENT, kubectl, request, run_task, wait


def hpa_manifest(namespace, name, target, utilization=60, window=10):
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target},
                     "minReplicas": 2, "maxReplicas": 4,
                     "metrics": [{"type": "Resource", "resource": {
                         "name": "cpu", "target": {"type": "Utilization", "averageUtilization": utilization}}}],
                     "behavior": {"scaleDown": {"stabilizationWindowSeconds": window}}}}


def apply(lab, tmp_path, namespace, *objects):
    path = tmp_path / ("objects-%d.json" % time.monotonic_ns())
    path.write_text("\n---\n".join(json.dumps(obj) for obj in objects) + "\n")
    kubectl(lab, "-n", namespace, "apply", "-f", str(path))


def get(lab, namespace, kind, name):
    return json.loads(kubectl(lab, "-n", namespace, "get", kind, name, "-o", "json").stdout)


def condition(hpa, ctype):
    return next((c for c in (hpa.get("status") or {}).get("conditions") or [] if c["type"] == ctype), {})


def preflight(tmp_path, lab, **autoscaling):
    args = {"kubeconfig": lab["k8s"]["kubeconfig"], "autoscaling": autoscaling, "fail_on_failed_checks": False}
    result, _ = run_task(tmp_path, "golive.core.k8s_preflight", args)
    return next(c for c in result["checks"] if c["id"] == "k8s.autoscaling")


def test_a_load_on_the_pager_raises_the_desired_replicas_and_the_deployment_follows(lab, own_pager, tmp_path):
    ns = own_pager["namespace"]
    # Every API request of this pager spends 10 ms of CPU; the request is 50m, so about 15
    # requests a second (150m) are three times the 60 % target.
    kubectl(lab, "-n", ns, "set", "env", "deployment/pager", "LAB_CPU_MS=10")
    kubectl(lab, "-n", ns, "rollout", "status", "deployment/pager", "--timeout=90s")
    apply(lab, tmp_path, ns, hpa_manifest(ns, "pager", "pager"))
    wait(lambda: condition(get(lab, ns, "hpa", "pager"), "ScalingActive").get("status") == "True", timeout=30,
         what="the autoscaler to compute the pager's CPU")
    idle = get(lab, ns, "hpa", "pager")["status"]
    assert idle["currentReplicas"] == 2 and idle["currentMetrics"][0]["resource"]["name"] == "cpu"
    check = preflight(tmp_path, lab, namespaces=[ns], names=["pager"])
    assert check["status"] == "pass", check

    stop = threading.Event()

    def load():
        while not stop.is_set():
            try:
                request(own_pager, path="/api/incidents", host=own_pager["host"], scheme="http")
            except OSError:
                pass
            time.sleep(0.05)
    workers = [threading.Thread(target=load, daemon=True)]
    for worker in workers:
        worker.start()
    try:
        wait(lambda: get(lab, ns, "hpa", "pager")["status"].get("desiredReplicas", 0) > 2, timeout=60,
             what="the autoscaler to want more replicas under load")
        wait(lambda: get(lab, ns, "deployment", "pager")["spec"]["replicas"] > 2, timeout=30,
             what="the Deployment to follow")
        wait(lambda: (get(lab, ns, "deployment", "pager").get("status") or {}).get("readyReplicas", 0) > 2,
             timeout=60, what="the new Pods to become ready")
    finally:
        stop.set()
        for worker in workers:
            worker.join(10)
    loaded = get(lab, ns, "hpa", "pager")
    assert loaded["status"]["currentMetrics"][0]["resource"]["current"]["averageUtilization"] > 60
    assert loaded["status"].get("lastScaleTime")
    events = kubectl(lab, "-n", ns, "get", "events", "--field-selector", "involvedObject.name=pager,"
                     "involvedObject.kind=HorizontalPodAutoscaler", "-o", "json").stdout
    assert "SuccessfulRescale" in events and "New size: " in events
    # kubectl shows it as a user sees it.
    shown = kubectl(lab, "-n", ns, "get", "hpa", "pager").stdout
    assert "Deployment/pager" in shown and "cpu:" in shown, shown
    # Without load the replicas come back to the minimum after the stabilization window.
    wait(lambda: get(lab, ns, "deployment", "pager")["spec"]["replicas"] == 2, timeout=60,
         what="the Deployment to scale back down to minReplicas")


def test_an_autoscaler_without_metrics_fails_alone_naming_it_and_the_reason(lab, own_pager, tmp_path):
    ns = own_pager["namespace"]
    # A Deployment whose container requests no CPU: its utilization cannot be computed.
    bare = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "bare", "namespace": ns},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "bare"}},
                     "template": {"metadata": {"labels": {"app": "bare"}},
                                  "spec": {"containers": [{"name": "bare", "image": CURRENT,
                                                           "ports": [{"name": "http", "containerPort": 8080}]}]}}}}
    apply(lab, tmp_path, ns, bare, hpa_manifest(ns, "pager", "pager"), hpa_manifest(ns, "bare", "bare"))
    wait(lambda: condition(get(lab, ns, "hpa", "bare"), "ScalingActive").get("status") == "False"
         and condition(get(lab, ns, "hpa", "pager"), "ScalingActive").get("status") == "True",
         timeout=30, what="both autoscalers to be reconciled")
    check = preflight(tmp_path, lab, namespaces=[ns])
    assert check["status"] == "fail"
    problems = check["evidence"]["problems"]
    assert len(problems) == 1, problems
    assert problems[0].startswith("%s/bare ScalingActive=False (FailedGetResourceMetric): " % ns)
    assert "missing request for cpu in container bare of Pod bare-" in problems[0]
    assert preflight(tmp_path, lab, namespaces=[ns], names=["pager"])["status"] == "pass"
    # A declared autoscaler that does not exist is named too.
    missing = preflight(tmp_path, lab, namespaces=[ns], names=["pager", "web"])
    assert missing["evidence"]["problems"] == ["HorizontalPodAutoscaler web not found"]

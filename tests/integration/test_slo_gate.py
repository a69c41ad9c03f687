"""slo_gate against the lab's Prometheus and the pager: no data fails unless the policy says
otherwise, injected errors fail the gate, and Prometheus's targets follow the running Pods."""

import json
import uuid

import pytest

from lab.router import client
from lab.services.prometheus import query
from helpers import HOST, run_playbook, switch, wait

pytestmark = pytest.mark.xdist_group("pager")


def gate(tmp_path, **args):
    path = tmp_path / ("gate-%s.yml" % uuid.uuid4().hex[:6])
    out = tmp_path / ("gate-%s.json" % uuid.uuid4().hex[:6])
    path.write_text(json.dumps([{"name": "Gate", "hosts": "golive", "gather_facts": False, "tasks": [
        {"name": "Gate", "golive.core.slo_gate": dict({"prometheus_url": "{{ golive_lab.prometheus.url }}"}, **args),
         "register": "gated", "ignore_errors": True},
        {"name": "Keep", "ansible.builtin.copy": {"content": "{{ gated | to_json }}", "dest": str(out),
                                                  "mode": "0600"}}]}]))
    proc = run_playbook(str(path))
    assert proc.returncode == 0, proc.stdout[-3000:]
    return json.loads(out.read_text())


@pytest.mark.parametrize("policy,verdict,status", [("fail", "failed", "fail"), ("inconclusive", "inconclusive", "warn"),
                                                   ("pass", "passed", "pass")])
def test_no_data_follows_the_objectives_policy(lab, tmp_path, policy, verdict, status):
    result = gate(tmp_path, count=2, interval=0.5, objectives=[
        {"name": "missing", "query": "golive_no_such_metric_total", "max": 1, "no_data": policy}])
    objective = result["objectives"][0]
    assert objective["verdict"] == verdict and result["checks"][0]["status"] == status
    assert result.get("failed", False) is (verdict != "passed")
    if verdict == "inconclusive":
        assert "inconclusive" in result["msg"]


def test_injected_errors_fail_the_gate_and_prometheus_sees_them(lab, lab_instance, pager, tmp_path):
    app = lab["app"]
    traffic = {"requests": [{"name": "incidents", "url": "https://%s:%d/api/incidents" % (HOST, app["https_port"]),
                             "status": [401]}],
               "count": 100, "concurrency": 8, "resolve": {HOST: app["sites"]["new"]}, "ca_file": app["ca_file"]}
    objectives = [{"name": "error-ratio", "source": "http", "metric": "error_ratio", "max": 0.01},
                  {"name": "latency-p95", "source": "http", "metric": "latency_p95_ms", "max": 2000}]
    switch(lab, lab_instance, LAB_ERROR_RATIO=0.05)
    try:
        result = gate(tmp_path, count=2, interval=1, traffic=traffic, objectives=objectives)
        verdicts = dict((o["name"], o["verdict"]) for o in result["objectives"])
        assert verdicts == {"error-ratio": "failed", "latency-p95": "passed"}, result["objectives"]
        assert result["failed"] is True and "slo.error-ratio" in result["msg"]
        # Prometheus scrapes the Pods' counters: with traffic going on, its recording rule
        # sees the server errors.
        def seen():
            for _ in range(20):
                client.request(app["sites"]["new"], app["https_port"], HOST, path="/api/incidents",
                               ca_file=app["ca_file"])
            return any(float(s["value"][1]) > 0 for s in query(lab["prometheus"]["url"],
                                                                "pager:http_error_ratio:rate1m"))

        wait(seen, timeout=60, what="Prometheus to see the errors")
    finally:
        switch(lab, lab_instance, LAB_ERROR_RATIO=0)
    result = gate(tmp_path, count=2, interval=1, traffic=traffic, objectives=objectives)
    assert result["passed"] is True, result["objectives"]


def test_prometheus_scrapes_the_running_pods_and_the_router(lab, lab_instance):
    rows = json.loads((lab_instance.state_dir / "k8s" / "pods.json").read_text())
    running = sorted(r["address"] for r in rows if not r["terminating"])

    def targets():
        up = query(lab["prometheus"]["url"], 'up{job="pods"} == 1')
        return sorted(set(s["metric"]["instance"] for s in up)) == running

    wait(targets, timeout=30, what="Prometheus targets to be the running Pods")
    assert query(lab["prometheus"]["url"], 'up{job="router"} == 1')


def test_resource_utilisation_against_declared_requests_and_limits(lab, tmp_path):
    """The pager declares memory requests of 64Mi and limits of 128Mi; the maintenance page
    declares none. Usage comes from the cAdvisor series Prometheus scrapes from every Pod."""
    pager = {"namespace": lab["app"]["namespace"], "name": "pager"}
    kube = {"kubeconfig": "{{ golive_lab.k8s.kubeconfig }}"}
    result = gate(tmp_path, count=2, interval=1, objectives=[
        {"name": "memory-limits", "source": "resources", "resource": "memory", "workload": pager, "max": 0.8},
        {"name": "memory-requests", "source": "resources", "resource": "memory", "against": "requests",
         "workload": pager, "max": 0.01, "count": 1},
        {"name": "cpu-limits", "source": "resources", "resource": "cpu", "workload": pager, "max": 0.8,
         "interval": 0.5},
        {"name": "undeclared", "source": "resources", "resource": "memory",
         "workload": dict(pager, name="maintenance"), "max": 0.8, "count": 1}], **kube)
    objectives = dict((o["name"], o) for o in result["objectives"])
    assert objectives["memory-limits"]["verdict"] == "passed", objectives["memory-limits"]
    assert objectives["memory-limits"]["declared"] == {"pager": 128 * 2 ** 20}
    ratio = objectives["memory-limits"]["measurements"][0]["value"]
    assert 0 < ratio < 0.8
    assert objectives["memory-requests"]["verdict"] == "failed"
    assert objectives["memory-requests"]["measurements"][0]["value"] == pytest.approx(ratio * 2, rel=0.2)
    assert objectives["cpu-limits"]["verdict"] == "passed" and objectives["cpu-limits"]["declared"] == {"pager": 0.5}
    assert objectives["undeclared"]["verdict"] == "failed"
    assert "container maintenance of Deployment pager/maintenance declares no memory limit" in \
        objectives["undeclared"]["problems"]
    assert result["failed"] is True and "slo.memory-requests" in result["msg"]

"""slo_gate against the lab's Prometheus and the pager: no data fails unless the policy says
otherwise, injected errors fail the gate, and Prometheus's targets follow the running Pods."""

import json
import uuid

import pytest

from lab.router import client
from lab.services.prometheus import query
from pager_helpers import HOST, switch, wait
from playbook_helpers import run_playbook

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
        return sorted(s["metric"]["instance"] for s in up) == running

    wait(targets, timeout=30, what="Prometheus targets to be the running Pods")
    assert query(lab["prometheus"]["url"], 'up{job="router"} == 1')

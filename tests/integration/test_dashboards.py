"""Dashboards as clusters ship them (ConfigMaps labelled for the Grafana sidecar), judged by
k8s.dashboards against the lab's Prometheus: the lab's pass; a panel on a metric nobody
exports, a key that is not JSON and a UID nowhere are each named."""

import json
import uuid

import pytest

from helpers import kubectl, request, run_task, wait


def dashboards_check(tmp_path, lab, **dashboards):
    args = {"kubeconfig": lab["k8s"]["kubeconfig"], "fail_on_failed_checks": False,
            "dashboards": dict({"prometheus_url": lab["prometheus"]["url"]}, **dashboards)}
    result, _ = run_task(tmp_path, "golive.core.k8s_preflight", args)
    return next(c for c in result["checks"] if c["id"] == "k8s.dashboards")


def test_the_labs_dashboards_exist_and_every_panel_has_data(lab, tmp_path):
    # A lab just started has scraped nothing yet, and the request panels need a request (the
    # pager may be behind its maintenance page for a rollback test just then: any answer will do).
    request(lab["app"], path="/api/incidents")
    checked = []

    def passes():
        checked.append(dashboards_check(tmp_path, lab, uids=["pager-overview", "pager-backends"]))
        return checked[-1]["status"] == "pass"
    wait(passes, timeout=60, what="every panel to have data")
    check = checked[-1]
    seen = dict((d["uid"], d) for d in check["evidence"]["dashboards"])
    assert seen["pager-overview"]["configmap"] == "monitoring/pager-dashboards"
    assert seen["pager-overview"]["queries"] == seen["pager-overview"]["with_data"] == 5  # rows' panels too
    assert seen["pager-backends"]["with_data"] == 4
    assert check["checklist"] == ["Dashboards configured", "Dashboard Creation - Monitoring dashboards created and shared"]


@pytest.fixture
def own_dashboards(lab):
    """A namespace of the test's own for its ConfigMaps, which carry a label of their own
    instead of the sidecar's (the check's selector then sees only them, and the lab's own
    dashboards check never sees them)."""
    namespace, mark = "t-dash-%s" % uuid.uuid4().hex[:8], uuid.uuid4().hex[:10]
    kubectl(lab, "create", "namespace", namespace)
    yield namespace, "golive.test/dashboards=%s" % mark, mark
    kubectl(lab, "delete", "namespace", namespace, "--wait=false", check=False)


def test_a_panel_without_data_a_broken_key_and_a_missing_uid_are_named(lab, tmp_path, own_dashboards):
    namespace, selector, mark = own_dashboards
    board = {"uid": "t-board", "title": "Test board", "panels": [
        {"id": 1, "type": "timeseries", "title": "Requests", "targets": [
            {"refId": "A", "expr": "sum(rate(http_requests_total{namespace=\"pager\"}[$__rate_interval]))"}]},
        {"id": 2, "type": "timeseries", "title": "Checkouts", "targets": [
            {"refId": "A", "expr": "sum(rate(shop_checkouts_total{job=\"$job\"}[5m]))"}]}]}
    configmap = {"apiVersion": "v1", "kind": "ConfigMap",
                 "metadata": {"name": "dashboards", "namespace": namespace,
                              "labels": {"golive.test/dashboards": mark}},
                 "data": {"t-board.json": json.dumps(board), "broken.json": "{\"uid\": \"broken\", "}}
    path = tmp_path / "cm.json"
    path.write_text(json.dumps(configmap))
    kubectl(lab, "-n", namespace, "apply", "-f", str(path))

    check = dashboards_check(tmp_path, lab, uids=["t-board", "broken", "t-gone"], label=selector,
                             variables={"job": "shop"})
    assert check["status"] == "fail"
    problems = check["evidence"]["problems"]
    assert problems[0] == ("dashboard t-board panel 'Checkouts' (A) has no data: "
                           "sum(rate(shop_checkouts_total{job=\"shop\"}[5m]))")
    assert problems[1].startswith("dashboard broken (ConfigMap %s/dashboards key broken.json) is not valid JSON: "
                                  % namespace)
    assert problems[2] == "dashboard t-gone is not in any labelled ConfigMap"
    assert len(problems) == 3, problems
    # A broken key nobody declared is listed, not judged.
    check = dashboards_check(tmp_path, lab, uids=["t-board"], label=selector, variables={"job": "shop"})
    assert check["evidence"]["unparsed_elsewhere"][0].startswith("ConfigMap %s/dashboards key broken.json: " % namespace)
    # Without the value of $job the query is not run, and the panel says why.
    check = dashboards_check(tmp_path, lab, uids=["t-board"], label=selector)
    assert "dashboard t-board panel 'Checkouts' (A): unknown variable job" in check["evidence"]["problems"]

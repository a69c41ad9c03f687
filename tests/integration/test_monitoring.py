"""golive.core.monitoring_check on the lab's monitoring stack (Prometheus, Alertmanager,
the node, PostgreSQL, PgBouncer, Redis and blackbox exporters, the notification sinks):
every check passes on the healthy lab, and fails alone, naming the object, when the lab
breaks that one thing."""

import json
import urllib.request

import pytest

from helpers import run_module, wait
from lab.services.sinks import messages

pytestmark = pytest.mark.xdist_group("monitoring")

JOBS = [{"name": "node"}, {"name": "postgres"}, {"name": "pgbouncer"}, {"name": "redis"},
        {"name": "blackbox", "min_targets": 2}, {"name": "alertmanager"}]


def args(lab, **over):
    mon = lab["monitoring"]
    base = {"prometheus_url": lab["prometheus"]["url"], "alertmanager_url": mon["alertmanager_url"],
            "jobs": JOBS, "rule_groups": [{"name": "golive-alerts", "alerts": ["GoliveHighErrorRate",
                                                                               "GoliveDatabaseDown"]},
                                          {"name": "golive-lab"}],
            "receivers": [{"name": "lab-webhook", "confirm_url": mon["webhook_messages"]},
                          {"name": "lab-email", "confirm_url": mon["mail_messages"]}],
            "test_alert": {"labels": {"severity": "critical"}}, "release": "2026.12.1-test", "timeout": 45}
    base.update(over)
    return base


def statuses(result):
    return dict((c["id"], c["status"]) for c in result["checks"])


def failed(result):
    return sorted(i for i, s in statuses(result).items() if s == "fail")


def api(lab, path):
    with urllib.request.urlopen(lab["prometheus"]["url"] + "/api/v1/" + path, timeout=10) as resp:
        return json.loads(resp.read())["data"]


def reload(lab):
    request = urllib.request.Request(lab["prometheus"]["url"] + "/-/reload", method="POST")
    with urllib.request.urlopen(request, timeout=30) as resp:
        resp.read()


def test_the_healthy_lab_passes_every_check_and_the_test_alert_arrives(lab):
    # A lab just started may not have scraped every target yet: the first scrapes come within seconds.
    rc, result, out = wait(lambda: (lambda answer: answer if answer[0] == 0 else None)(
        run_module("monitoring_check", args(lab))), timeout=30, what="every monitoring check to pass")
    assert set(statuses(result).values()) == {"pass"} and len(result["checks"]) == len(JOBS) + 2 + 1 + 2
    webhook = next(c for c in result["checks"] if c["id"] == "monitoring.alert.lab-webhook")
    assert webhook["evidence"]["delivery"] == "delivered" and "lab-email" in webhook["evidence"]["routed_to"]
    # What the receivers hold: the webhook's log and the mailbox each have the test alert.
    test_id = webhook["evidence"]["test_id"]
    got = messages(lab["notify"]["sink_url"])
    hooks = [w["body"] for w in got["webhooks"] if test_id in json.dumps(w["body"])]
    assert hooks and hooks[0]["receiver"] == "lab-webhook"
    assert hooks[0]["alerts"][0]["labels"]["golive_release"] == "2026.12.1-test"
    assert [m for m in got["mail"] if test_id in m["subject"] and m["tls"]]
    # Routed-only where nothing can be read back; nothing is sent in check mode.
    rc, result, _ = run_module("monitoring_check", args(lab, receivers=[{"name": "lab-webhook"}], jobs=[],
                                                        rule_groups=[]))
    assert rc == 0 and result["checks"][1]["evidence"]["delivery"] == "routed-only"
    rc, result, _ = run_module("monitoring_check", args(lab), check=True)
    assert rc == 0 and statuses(result)["monitoring.alert.lab-webhook"] == "skip"


def test_a_stopped_exporter_fails_its_job_alone_naming_the_target(lab, lab_instance):
    ctx = lab_instance.context()
    try:
        ctx.stop_process("redis-exporter")
        wait(lambda: any(t["labels"]["job"] == "redis" and t["health"] == "down"
                         for t in api(lab, "targets?state=active")["activeTargets"]), timeout=30,
             what="Prometheus to see the stopped exporter down")
        rc, result, _ = run_module("monitoring_check", args(lab, receivers=[]))
        assert rc != 0 and failed(result) == ["monitoring.targets.redis"]
        assert "monitoring.targets.redis" in result["msg"] and "is down" in result["msg"]
    finally:
        lab_instance.up()


def test_a_rule_that_fails_to_evaluate_and_a_group_not_loaded_are_named(lab, tmp_path):
    extra = lab["prometheus"]["extra_rules_dir"]
    path = "%s/broken.yml" % extra
    with open(path, "w") as handle:
        handle.write("groups:\n  - name: golive-broken\n    interval: 1s\n    rules:\n"
                     "      - record: golive:broken\n        expr: up * on() up\n")
    try:
        reload(lab)
        groups = [{"name": "golive-broken"}, {"name": "golive-nowhere"}, {"name": "golive-lab"}]

        wait(lambda: any(g["name"] == "golive-broken" and g["rules"][0].get("health") == "err"
                         for g in api(lab, "rules")["groups"]), timeout=30, what="the broken rule evaluated")
        rc, result, _ = run_module("monitoring_check", args(lab, jobs=[], receivers=[], rule_groups=groups))
        assert rc != 0 and failed(result) == ["monitoring.rules.golive-broken", "monitoring.rules.golive-nowhere"]
        assert "rule golive:broken of group golive-broken is err" in result["msg"]
        assert "rule group golive-nowhere is not loaded" in result["msg"]
    finally:
        import os
        os.unlink(path)
        reload(lab)


def test_a_missing_receiver_and_an_alert_that_is_not_delivered_are_named(lab):
    messages = lab["monitoring"]["webhook_messages"]
    rc, result, _ = run_module("monitoring_check", args(lab, jobs=[], rule_groups=[], receivers=[
        {"name": "lab-webhook", "confirm_url": messages}, {"name": "oncall-pagerduty"}]))
    assert rc != 0 and failed(result) == ["monitoring.alert.oncall-pagerduty", "monitoring.receivers"]
    assert "receiver oncall-pagerduty is not configured in Alertmanager" in result["msg"]
    # Routed to a receiver whose endpoint answers 503: routed, never delivered.
    rc, result, _ = run_module("monitoring_check", args(lab, jobs=[], rule_groups=[], timeout=8, receivers=[
        {"name": "lab-broken-webhook", "confirm_url": messages}],
        test_alert={"labels": {"severity": "critical", "golive_route": "broken"}}))
    assert rc != 0 and failed(result) == ["monitoring.alert.lab-broken-webhook"]
    assert "routed to receiver lab-broken-webhook but did not arrive" in result["msg"]


def test_an_unreachable_alertmanager_fails_its_checks_without_a_traceback(lab):
    rc, result, out = run_module("monitoring_check", args(lab, jobs=[], rule_groups=[],
                                                          alertmanager_url="http://127.0.0.1:9"))
    assert rc != 0 and failed(result) == ["monitoring.receivers"] and "Traceback" not in out
    assert "Alertmanager at http://127.0.0.1:9" in result["msg"]

"""The monitoring checks' judgements (pure): targets, rule groups, receivers, delivery."""

from ansible_collections.golive.core.plugins.module_utils.metrics import alerting


def target(job, instance, health="up", error=""):
    return {"labels": {"job": job, "instance": instance}, "health": health, "lastError": error}


def test_a_job_passes_only_with_every_target_up_and_enough_of_them():
    targets = [target("node", "a:9100"), target("node", "b:9100", "down", "connection refused"),
               target("redis", "r:9121")]
    node = alerting.judge_job("node", targets)
    assert node["status"] == "fail"
    assert node["evidence"]["problems"] == ["target b:9100 of job node is down: connection refused"]
    assert alerting.judge_job("redis", targets)["status"] == "pass"
    few = alerting.judge_job("redis", targets, min_targets=2)
    assert few["evidence"]["problems"] == ["job redis has 1 target(s), at least 2 expected"]
    missing = alerting.judge_job("Kubelet cAdvisor", targets, checklist=["Container Monitoring"])
    assert missing["id"] == "monitoring.targets.kubelet-cadvisor" and missing["checklist"] == "Container Monitoring"


def test_a_rule_group_must_be_loaded_healthy_and_hold_its_alerts():
    groups = [{"name": "golive-alerts", "rules": [
        {"name": "GoliveDatabaseDown", "type": "alerting", "health": "ok"},
        {"name": "golive:broken", "type": "recording", "health": "err", "lastError": "many-to-many matching"}]}]
    bad = alerting.judge_group("golive-alerts", groups, alerts=["GoliveDatabaseDown", "GoliveHighErrorRate"])
    assert bad["evidence"]["problems"] == ["rule golive:broken of group golive-alerts is err: many-to-many matching",
                                           "alert GoliveHighErrorRate is not in group golive-alerts"]
    gone = alerting.judge_group("other", groups)
    assert gone["evidence"]["problems"] == ["rule group other is not loaded (loaded: golive-alerts)"]


def test_receivers_are_read_from_the_configuration_and_compared():
    config = "route: {receiver: a}\nreceivers:\n  - name: a\n  - name: b\n    webhook_configs: [{url: x}]\n"
    assert alerting.receivers_of(config) == ["a", "b"]
    check = alerting.judge_receivers(["a", "pagerduty"], ["a", "b"])
    assert check["status"] == "fail" and check["evidence"]["problems"] == [
        "receiver pagerduty is not configured in Alertmanager (it has a, b)"]


def test_delivery_is_proven_routed_only_or_named_as_missing():
    assert alerting.judge_delivery("a", ["b"], "t1", False, None)["evidence"]["problems"] == [
        "the test alert was not routed to receiver a (routed to b)"]
    routed = alerting.judge_delivery("a", ["a"], "t1", False, None)
    assert routed["status"] == "pass" and routed["evidence"]["delivery"] == "routed-only"
    assert alerting.judge_delivery("a", ["a"], "t1", True, "http://log")["evidence"]["delivery"] == "delivered"
    lost = alerting.judge_delivery("a", ["a"], "t1", False, "http://log")
    assert lost["status"] == "fail" and lost["evidence"]["delivery"] == "not delivered"


def test_a_job_can_be_narrowed_to_the_targets_with_some_labels():
    targets = [dict(target("pods", "a:8080"), labels={"job": "pods", "instance": "a:8080", "namespace": "pager"}),
               dict(target("pods", "b:8080", "down"), labels={"job": "pods", "instance": "b:8080", "namespace": "t"})]
    assert alerting.judge_job("pods", targets)["status"] == "fail"
    narrowed = alerting.judge_job("pods", targets, labels={"namespace": "pager"})
    assert narrowed["status"] == "pass" and narrowed["evidence"]["labels"] == {"namespace": "pager"}

"""The watch's judgements: objectives, trends with both numbers, capacity projection, success criteria."""

import pytest

from ansible_collections.golive.core.plugins.module_utils.metrics import watch

DAY = 86400.0


def test_a_figure_beyond_its_objective_fails_and_a_regression_warns_with_both_numbers():
    check = watch.judge_figure("24h", "error-rate", 0.012, 0.0005, 0.0004, {"error_rate_max": 0.001}, 0.2)
    assert check["status"] == "fail" and check["id"] == "watch.24h.error-rate"
    assert check["evidence"]["problems"] == ["error-rate 1.200% over the last 24h, objective 0.100%"]
    assert check["evidence"]["regressions"] == [
        "error-rate 1.200% over the last 24h vs 0.050% the 24h before",
        "error-rate 1.200% over the last 24h vs 0.040% the 24h before the go-live"]
    warned = watch.judge_figure("24h", "latency-p95", 180.0, 120.0, None, {"latency_p95_ms_max": 200}, 0.2)
    assert warned["status"] == "warn"
    assert warned["evidence"]["regressions"] == ["latency-p95 180 ms over the last 24h vs 120 ms the 24h before"]


@pytest.mark.parametrize("now,before,status", [
    (0.0004, 0.0003, "pass"),     # +33 % but below the 0.05 % noise floor
    (0.0009, 0.0003, "warn"),
    (None, 0.0003, "skip"),
])
def test_noise_and_no_data(now, before, status):
    assert watch.judge_figure("1h", "error-rate", now, before, None, {}, 0.2)["status"] == status


def test_availability_is_worse_when_lower():
    check = watch.judge_figure("7d", "availability", 0.995, 0.9999, None, {"availability_min": 0.999}, 0.2)
    assert check["status"] == "fail"
    assert check["evidence"]["regressions"] == ["availability 99.500% over the last 7d vs 99.990% the 7d before"]


def test_capacity_is_projected_to_a_date_and_warns_within_the_horizon():
    start = 1_800_000_000.0
    points = [(start + i * DAY / 4, 70 * 1024 ** 2 + i * 0.5 * 1024 ** 2) for i in range(29)]  # 2 MiB a day
    check = watch.judge_capacity("7d", {"name": "memory of pager/pager", "limit": "128Mi"}, points, points[-1][0],
                                 30, lambda epoch: "DATE")
    assert check["status"] == "warn" and check["id"] == "watch.7d.capacity.memory-of-pager-pager"
    assert check["evidence"]["days_to_limit"] == pytest.approx(22.0, abs=0.2)
    assert check["evidence"]["warnings"][0].startswith(
        "memory of pager/pager reaches its limit (128.0Mi) in ~22 days, on DATE, at this 7d's growth (2.0Mi a day)")
    flat = [(point[0], 70 * 1024 ** 2) for point in points]
    assert watch.judge_capacity("7d", {"name": "m", "limit": "128Mi"}, flat, 0, 30, str)["status"] == "pass"
    full = [(point[0], 129 * 1024 ** 2) for point in points]
    assert watch.judge_capacity("7d", {"name": "m", "limit": "128Mi"}, full, 0, 30, str)["status"] == "fail"


def test_success_criteria_wait_for_the_week():
    early = watch.judge_success("uptime-week", None, 0.999, "lower", 2.5 * DAY, "availability")
    assert early["status"] == "skip" and early["evidence"]["reason"] == "not measurable yet (needs 2.5 more days)"
    assert watch.judge_success("uptime-week", 0.9995, 0.999, "lower", 0, "availability")["status"] == "pass"
    failed = watch.judge_success("uptime-week", 0.998, 0.999, "lower", 0, "availability")
    assert failed["status"] == "fail" and failed["checklist"][0] == "99.9% uptime during go-live week"


def test_expressions_and_quantities():
    exprs = watch.expressions({"selector": 'namespace="shop"'}, 'probe_success{job="blackbox"}')
    assert exprs["error-rate"] % {"range": "1d"} == (
        '(sum(increase(http_requests_total{namespace="shop",code=~"5.."}[1d])) or vector(0)) / '
        'sum(increase(http_requests_total{namespace="shop"}[1d]))')
    assert exprs["availability"] % {"range": "7d"} == 'avg(avg_over_time(probe_success{job="blackbox"}[7d]))'
    assert watch.quantity("128Mi") == 128 * 1024 ** 2 and watch.quantity(5) == 5.0
    with pytest.raises(ValueError):
        watch.quantity("lots")
    with pytest.raises(ValueError):
        watch.window_seconds("2w")


def test_a_declared_signal_is_folded_judged_and_trended_either_way():
    lag = {"name": "Replication lag", "query": "max(lag)", "max": 16.0, "unit": "s"}
    check = watch.judge_signal("24h", lag, 20.0, 2.0, 3.0, 0.2, [[1, 2.0], [2, 20.0]])
    assert check["id"] == "watch.24h.replication-lag" and check["status"] == "fail"
    assert check["evidence"]["problems"] == ["Replication lag 20 s (max over the last 24h), at most 16 s"]
    assert check["evidence"]["regressions"][0] == "Replication lag 20 s over the last 24h vs 2.0 s the 24h before"
    hits = {"name": "cache hit ratio", "query": "q", "min": 0.8, "unit": "ratio", "over": "avg"}
    check = watch.judge_signal("1h", hits, 0.85, 0.97, None, 0.05, None)
    assert check["status"] == "warn" and check["evidence"]["regressions"] == [
        "cache hit ratio 85.000% over the last 1h vs 97.000% the 1h before"]
    assert watch.judge_signal("1h", hits, None, 0.9, None, 0.05)["status"] == "skip"
    assert watch.judge_signal("1h", dict(hits, min=None), 0.9, 0.9, 0.9, 0.05)["status"] == "pass"
    # A signal without a unit is a plain number, trended like the others.
    queue = {"name": "queue depth", "query": "q", "max": 100}
    check = watch.judge_signal("24h", queue, 40.0, 10.0, None, 0.2)
    assert check["status"] == "warn" and check["evidence"]["regressions"] == [
        "queue depth 40 over the last 24h vs 10 the 24h before"]


def test_signal_names_must_not_clash_and_folds_are_known():
    with pytest.raises(ValueError, match="error-rate"):
        watch.run(None, "1h", watch.datetime.datetime(2026, 1, 2, tzinfo=watch.datetime.timezone.utc),
                  watch.datetime.datetime(2026, 1, 1, tzinfo=watch.datetime.timezone.utc), {"selector": ""},
                  signals=[{"name": "Error rate", "query": "q"}])


def test_security_events_are_shares_of_401_403_and_429():
    exprs = watch.expressions({"selector": 'namespace="shop"'}, None)
    assert 'code=~"401|403"' in exprs["auth-failures"] and 'code=~"429"' in exprs["rate-limited"]
    check = watch.judge_figure("24h", "auth-failures", 0.02, 0.001, 0.001, {"auth_failure_rate_max": 0.05}, 0.2)
    assert check["status"] == "warn" and check["checklist"] == "Security Monitoring - Security events monitored"

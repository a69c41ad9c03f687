"""The SLO gate's judgement: outcomes, limits, no-data policies and stopping early."""

import pytest

from ansible_collections.golive.core.plugins.module_utils.metrics import slo


@pytest.mark.parametrize("value,objective,outcome", [
    (0.001, {"max": 0.01}, slo.SUCCESS), (0.02, {"max": 0.01}, slo.FAILURE), (5, {"min": 2}, slo.SUCCESS),
    (1, {"min": 2}, slo.FAILURE), (None, {"max": 1}, slo.FAILURE),
    (None, {"max": 1, "no_data": "inconclusive"}, slo.INCONCLUSIVE),
    (None, {"max": 1, "no_data": "pass"}, slo.SUCCESS), (3, {"min": 1, "max": 2}, slo.FAILURE),
])
def test_classify(value, objective, outcome):
    assert slo.classify(value, objective) == outcome


@pytest.mark.parametrize("outcomes,objective,result", [
    ([slo.SUCCESS] * 3, {}, "passed"),
    ([slo.SUCCESS, slo.FAILURE, slo.SUCCESS], {}, "failed"),
    ([slo.SUCCESS, slo.FAILURE, slo.SUCCESS], {"failure_limit": 1}, "passed"),
    ([slo.INCONCLUSIVE, slo.SUCCESS], {}, "inconclusive"),
    ([slo.INCONCLUSIVE, slo.SUCCESS], {"inconclusive_limit": 1}, "passed"),
])
def test_verdict(outcomes, objective, result):
    assert slo.verdict(outcomes, objective) == result


class Clock:
    def __init__(self):
        self.now, self.slept = 1000.0, []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds


def test_the_gate_stops_once_an_objective_has_failed_for_good():
    values = iter([{"e": 0.0}, {"e": 0.5}, {"e": 0.0}, {"e": 0.0}])
    slept = []
    clock = Clock()
    result = slo.run([{"name": "e", "max": 0.01}], lambda i, names: next(values), count=4, interval=7,
                     sleep=clock.sleep, clock=clock)
    slept = clock.slept
    assert result["rounds"] == 2 and slept == [7] and result["passed"] is False
    assert result["objectives"][0]["problems"] == ["1 of 2 measurements failed (0.5), threshold <= 0.01"]
    assert result["checks"][0]["status"] == "fail"


def test_inconclusive_is_reported_as_such_never_as_a_pass():
    result = slo.run([{"name": "q", "max": 1, "no_data": "inconclusive"}], lambda i, names: {"q": None}, count=2,
                     interval=0, sleep=lambda s: None)
    assert result["objectives"][0]["verdict"] == "inconclusive" and result["passed"] is False
    assert result["checks"][0]["status"] == "warn"


def test_http_value():
    stats = {"error_ratio": 0.1, "latency_ms": {"p95": 12.5, "avg": 3}}
    assert slo.http_value(stats, "error_ratio") == 0.1 and slo.http_value(stats, "latency_p95_ms") == 12.5
    assert slo.http_value({"latency_ms": None}, "latency_p99_ms") is None


def test_each_objective_keeps_its_own_count_and_interval():
    clock, asked = Clock(), []

    def measure(index, names):
        asked.append((clock.now - 1000, sorted(names)))
        return dict((n, 0.0) for n in names)

    result = slo.run([{"name": "fast", "max": 1, "count": 4, "interval": 5},
                      {"name": "slow", "max": 1, "count": 2, "interval": 10},
                      {"name": "once", "max": 1, "count": 1}], measure, count=3, interval=7,
                     sleep=clock.sleep, clock=clock)
    assert asked == [(0, ["fast", "once", "slow"]), (5, ["fast"]), (10, ["fast", "slow"]), (15, ["fast"])]
    assert result["passed"] is True and result["rounds"] == 4
    assert [(o["count"], o["interval"], len(o["measurements"])) for o in result["objectives"]] == [
        (4, 5.0, 4), (2, 10.0, 2), (1, 7.0, 1)]


def test_measurements_cut_short_by_the_deadline_are_inconclusive_not_passed():
    class Deadline:
        def remaining(self):
            return 3

    clock = Clock()
    result = slo.run([{"name": "e", "max": 1}], lambda i, names: {"e": 0.0}, count=3, interval=10,
                     deadline=Deadline(), sleep=clock.sleep, clock=clock)
    entry = result["objectives"][0]
    assert entry["verdict"] == "inconclusive" and result["passed"] is False
    assert entry["problems"] == ["measured 1 of 3 times: the deadline came first"]


# -- a query answering several series ---------------------------------------------------

from ansible_collections.golive.core.plugins.module_utils.metrics.gate import worst_series  # noqa: E402


def test_a_query_by_route_is_judged_by_its_worst_series_and_names_those_beyond_the_threshold():
    samples = [({"route": "/healthz"}, 0.0), ({"route": "/api/incidents"}, 0.31), ({"route": "/api/login"}, 0.02)]
    value, series = worst_series(samples, {"max": 0.01})
    assert value == 0.31 and series["count"] == 3
    assert [(s["series"], s["beyond"]) for s in series["worst_first"]] == [
        ("route=/api/incidents", True), ("route=/api/login", True), ("route=/healthz", False)]
    value, series = worst_series([({"pod": "a"}, 3.0), ({"pod": "b"}, 1.0)], {"min": 2})
    assert value == 1.0 and series["worst_first"][0] == {"series": "pod=b", "value": 1.0, "beyond": True}


def test_one_series_or_none_is_judged_as_before():
    assert worst_series([({}, 0.5)], {"max": 1}) == (0.5, None)
    assert worst_series([], {"max": 1}) == (None, None)

import json

import pytest

from ansible_collections.golive.core.plugins.module_utils.common.errors import InvalidInput
from ansible_collections.golive.core.plugins.module_utils.http import load


def scenario(secrets=None, **extra):
    base = {"target": "https://shop.example.com:8443", "users": 5, "duration": 10, "wait": [0, 0.5],
            "requests": [{"path": "/api/items?page=1"}], "resolve": {"shop.example.com": "10.0.0.2",
                                                                     "evil.example.com": "10.0.0.9"}}
    base.update(extra)
    return load.scenario(secrets=secrets, **base)


def test_the_scenario_goes_to_the_target_only_and_is_bounded():
    spec = scenario({"pw": "s3cret"}, requests=[{"path": "/login", "method": "post", "body": {"password": "${pw}"},
                                                 "headers": {"X-Key": "k-${pw}"}}])
    assert spec["target"] == "https://shop.example.com:8443" and spec["resolve"] == {"shop.example.com": "10.0.0.2"}
    request = spec["requests"][0]
    assert request["method"] == "POST" and request["name"] == "post /login"
    assert request["body"] == {"password": "s3cret"} and request["headers"] == {"X-Key": "k-s3cret"}
    for bad in ("https://evil.example.com/", "//evil.example.com/x", "relative", "/x?u=http://evil/"):
        with pytest.raises(InvalidInput, match="must be a path on the target"):
            scenario(requests=[{"path": bad}])
    with pytest.raises(InvalidInput, match=r"request 1 uses \$\{missing\}, which secrets does not give"):
        scenario(requests=[{"path": "/x", "headers": {"X-Key": "${missing}"}}])
    with pytest.raises(InvalidInput, match="users 501 is outside 1..500; duration 0s"):
        scenario(users=501, duration=0)
    with pytest.raises(InvalidInput, match="a scheme, a host and an optional port"):
        scenario(target="https://shop.example.com/api")


STATS = {"tool": "locust", "total": {"name": "Aggregated", "requests": 400, "failures": 8, "avg_ms": 40.0,
                                     "p95_ms": 120.0, "rps": 39.5},
         "requests": [{"name": "a", "requests": 300, "failures": 0, "avg_ms": 20.0, "p95_ms": 60.0, "rps": 30.0},
                      {"name": "b", "requests": 100, "failures": 8, "avg_ms": 100.0, "p95_ms": 200.0, "rps": 9.5}],
         "failures": [{"request": "GET b", "error": "status 500, expected [200]", "occurrences": 8}]}


def test_judging_names_the_miss_and_skips_what_has_no_objective():
    objectives = {"error_rate_max": 0.01, "latency_p95_ms_max": 100, "min_rps": 30}
    checks = dict((c["id"], c) for c in load.judge(STATS, objectives))
    assert checks["load.requests"]["status"] == "pass"
    assert checks["load.error-rate"]["status"] == "fail" and checks["load.error-rate"]["evidence"]["problems"] == [
        "2.00% of 400 requests failed, at most 1.00%"]
    assert checks["load.latency-p95"]["evidence"]["problems"] == ["p95 latency under load 120 ms, at most 100 ms"]
    assert checks["load.latency-p95"]["evidence"]["slowest"][0] == {"name": "b", "p95_ms": 200.0}
    assert checks["load.latency-avg"]["status"] == "skip" and checks["load.throughput"]["status"] == "pass"
    assert "Load testing completed" in checks["load.requests"]["checklist"]
    empty = dict(STATS, total=dict(STATS["total"], requests=0, failures=0), requests=[])
    checks = dict((c["id"], c) for c in load.judge(empty, {}))
    assert checks["load.requests"]["status"] == "fail" and checks["load.error-rate"]["status"] == "skip"


def test_summaries_of_locust_and_k6(tmp_path):
    stats = tmp_path / "run_stats.csv"
    stats.write_text("Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,"
                     "Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,50%,66%,75%,80%,"
                     "90%,95%,98%,99%,99.9%,99.99%,100%\n"
                     "GET,/version,10,1,5,6.5,3,20,30,2.0,0.2,5,6,7,8,9,15,20,20,20,20,20\n"
                     ",Aggregated,10,1,5,6.5,3,20,30,2.0,0.2,5,6,7,8,9,15,20,20,20,20,20\n")
    (tmp_path / "run_failures.csv").write_text("Method,Name,Error,Occurrences\nGET,/version,boom,1\n")
    found = load.read_summary(str(stats))
    assert found["total"]["p95_ms"] == 15.0 and found["failures"][0]["error"] == "boom"
    k6 = tmp_path / "summary.json"
    k6.write_text(json.dumps({"metrics": {"http_req_duration": {"avg": 12.5, "p(95)": 30.1},
                                          "http_reqs": {"count": 200, "rate": 20.0},
                                          "http_req_failed": {"value": 0.01}}}))
    total = load.read_summary(str(k6))["total"]
    assert total == {"name": "Aggregated", "requests": 200, "failures": 2, "avg_ms": 12.5, "p95_ms": 30.1, "rps": 20.0}
    with pytest.raises(InvalidInput, match="no such file"):
        load.read_summary(str(tmp_path / "missing.csv"))
    (tmp_path / "other.csv").write_text("a,b\n1,2\n")
    with pytest.raises(InvalidInput, match="not a Locust statistics file"):
        load.read_summary(str(tmp_path / "other.csv"))

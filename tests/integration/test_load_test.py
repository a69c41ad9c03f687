"""golive.core.load_test: a real Locust run, headless, against a pager of the test's own at the
lab router's new site (its name resolved there, as curl --resolve does), judged."""

import time
import uuid

from helpers import checks_by_id as by_id, run_task, wait


def seen_by_the_router(lab, marker):
    """The requests the lab's router logged whose request line carries ``marker``: what
    reached the site, as its own access log has it."""
    with open(lab["app"]["access_log"]) as log:
        return sum(1 for line in log if marker in line)


def scenario(lab, own_pager, marker, **extra):
    """The test's own pager (its own host on the lab's router, plain HTTP: the router's
    certificate is the application's names'), reached at the router's new site."""
    app = own_pager
    args = {"target": "http://%s:%d" % (app["host"], app["http_port"]), "resolve": {app["host"]: app["sites"]["new"]},
            "users": 3, "duration": 3,
            "requests": [{"name": "version", "path": "/version?load=%s" % marker, "weight": 2},
                         {"name": "incidents", "path": "/api/incidents?load=%s" % marker, "status": [401],
                          "headers": {"X-Probe": "${marker}"}}],
            "secrets": {"marker": "load-secret-7f3a"},
            "objectives": {"latency_p95_ms_max": 5000, "min_requests": 10}}
    args.update(extra)
    return args


def test_a_bounded_locust_run_on_the_new_site_is_judged_seen_by_the_router_and_misses_are_named(
        lab, own_pager, tmp_path):
    marker = uuid.uuid4().hex
    result, proc = run_task(tmp_path, "golive.core.load_test", scenario(lab, own_pager, marker))
    checks = by_id(result)
    assert checks["load.requests"]["status"] == "pass", result
    assert checks["load.error-rate"]["status"] == "pass" and checks["load.latency-p95"]["status"] == "pass"
    assert checks["load.throughput"]["status"] == "skip"  # no min_rps declared: measured, not judged
    stats = result["stats"]
    assert stats["tool"] == "locust" and stats["total"]["failures"] == 0
    assert sorted(r["name"] for r in stats["requests"]) == ["incidents", "version"]
    sent = stats["total"]["requests"]
    assert sent >= 10 and result["scenario"]["users"] == 3
    # The site's router logged them, on the new site: the load reached it, not only Locust's figures.
    wait(lambda: seen_by_the_router(lab, marker) >= sent, timeout=20, what="the router to log the load")
    with open(lab["app"]["access_log"]) as log:
        assert all("site=%s" % lab["app"]["sites"]["new"] in line for line in log if marker in line)
    assert "load-secret-7f3a" not in proc.stdout + proc.stderr

    # Objectives missed under load: named, with the failures by error.
    marker = uuid.uuid4().hex
    strict = scenario(lab, own_pager, marker,
                      requests=[{"name": "incidents", "path": "/api/incidents", "status": [200]}],
                      objectives={"latency_p95_ms_max": 0.001, "error_rate_max": 0.0}, fail_on_failed_checks=True)
    result, _ = run_task(tmp_path, "golive.core.load_test", strict)
    checks = by_id(result)
    assert result["failed"] and checks["load.error-rate"]["status"] == "fail"
    assert checks["load.error-rate"]["evidence"]["failures_by_error"][0]["error"].startswith("status 401, expected [200]")
    assert checks["load.latency-p95"]["evidence"]["problems"][0].startswith("p95 latency under load")
    # A request that would leave the target: refused before any load, clearly, without a traceback.
    quiet = uuid.uuid4().hex
    leaving = [{"path": "https://elsewhere.example/?load=%s" % quiet}, {"path": "/version?load=%s" % quiet}]
    result, _ = run_task(tmp_path, "golive.core.load_test", scenario(lab, own_pager, quiet, requests=leaving))
    assert result["failed"] and "must be a path on the target" in result["msg"], result
    assert "Traceback" not in str(result.get("module_stderr", ""))
    # Check mode sends nothing and says what would run.
    result, _ = run_task(tmp_path, "golive.core.load_test", scenario(lab, own_pager, quiet), check=True)
    assert set(c["status"] for c in result["checks"]) == {"skip"}
    assert result["scenario"]["requests"][0]["path"] == "/version?load=%s" % quiet
    time.sleep(1)
    assert seen_by_the_router(lab, quiet) == 0  # neither the refusal nor check mode sent a request


def test_without_locust_the_module_says_how_to_get_it():
    from ansible_collections.golive.core.plugins.module_utils.common.errors import InvalidInput
    from ansible_collections.golive.core.plugins.module_utils.http import load
    spec = load.scenario("https://app.lab.example", [{"path": "/version"}], users=1, duration=1)
    try:
        load.run_locust(spec, 1, 1, 1, python="/usr/bin/python3")  # the system's Python has no Locust
    except InvalidInput as exc:
        assert "Locust is not installed for /usr/bin/python3" in exc.message and "pip install locust" in exc.message
    else:
        raise AssertionError("a Python without Locust ran the test")

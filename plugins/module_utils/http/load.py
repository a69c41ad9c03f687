# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A declared, bounded load test: Locust run headless against one target, or the summary of
a Locust or k6 run made elsewhere, judged against the objectives.

The scenario is data (requests with a path, a method, a weight), never code: every request
goes to the declared target (paths only, redirects not followed), by as many users for as
long as declared and never more than the bounds. Judging is pure (``judge``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import csv
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

from ansible_collections.golive.core.plugins.module_utils.common.checks import FAIL, PASS, SKIP, make_check
from ansible_collections.golive.core.plugins.module_utils.common.errors import BackendError, InvalidInput
from ansible_collections.golive.core.plugins.module_utils.http.probe import substitute

MAX_USERS = 500
MAX_DURATION = 1800
ITEMS = {
    "load.requests": ["Load testing completed", "Load Testing - Application tested under expected load"],
    "load.error-rate": ["Load testing completed", "Load Testing - Application tested under expected load",
                        "Performance benchmarks met"],
    "load.latency-p95": ["Performance benchmarks met", "API Response Times - API response times meet SLA requirements"],
    "load.latency-avg": ["Performance benchmarks met", "API Response Times - API response times meet SLA requirements"],
    "load.throughput": ["Performance benchmarks met", "Scalability - System handles expected load"],
}

# The scenario Locust runs: the declared requests, to the declared target only. The spec
# (with any secrets filled in) is read from a file only this user can read, removed after.
LOCUSTFILE = r'''
import json
import os
import socket

from locust import HttpUser, between

SPEC = json.load(open(os.environ["GOLIVE_LOAD_SPEC"]))
_ADDRESSES = SPEC.get("resolve") or {}
if _ADDRESSES:
    _getaddrinfo = socket.getaddrinfo

    def _resolved(host, *args, **kwargs):
        # Like curl --resolve: the name stays in the URL, the TLS name and the Host header.
        return _getaddrinfo(_ADDRESSES.get(host, host), *args, **kwargs)

    socket.getaddrinfo = _resolved


def _task(request):
    def run(user):
        with user.client.request(request["method"], request["path"], name=request["name"],
                                 headers=request.get("headers") or None, json=request.get("body"),
                                 allow_redirects=False, catch_response=True) as answer:
            if answer.status_code in request["status"]:
                answer.success()
            else:
                answer.failure("status %s, expected %s" % (answer.status_code, request["status"]))
    run.__name__ = str(request["name"])
    return run


class Declared(HttpUser):
    host = SPEC["target"]
    wait_time = between(SPEC["wait"][0], SPEC["wait"][1])
    tasks = dict((_task(request), int(request["weight"])) for request in SPEC["requests"])

    def on_start(self):
        self.client.verify = SPEC["verify"]
'''


def target_parts(target):
    match = re.match(r"^(https?)://([^/:?#]+)(:\d+)?/?$", target or "")
    if not match:
        raise InvalidInput("load", "target %r" % target, "it is a scheme, a host and an optional port, nothing else",
                           fix="Write it as https://shop.example.com or https://shop.example.com:8443")
    return match.group(1), match.group(2)


def scenario(target, requests, users=10, duration=30, wait=None, resolve=None, ca_cert=None, validate_certs=True,
             secrets=None):
    """The spec Locust reads, checked: paths only, bounded users and duration."""
    _scheme, host = target_parts(target)
    problems = []
    users, duration = int(users), int(duration)
    declared = requests
    if not 1 <= users <= MAX_USERS:
        problems.append("users %d is outside 1..%d" % (users, MAX_USERS))
    if not 1 <= duration <= MAX_DURATION:
        problems.append("duration %ds is outside 1..%ds" % (duration, MAX_DURATION))
    requests = []
    for n, request in enumerate(declared):
        label = request.get("name") or n + 1
        path = request.get("path") or ""
        if not path.startswith("/") or path.startswith("//") or "://" in path:
            problems.append("request %s: path %r must be a path on the target (starting with one /)" % (label, path))
        try:  # ${name} as http_check fills it
            headers, body = substitute(request.get("headers") or {}, secrets or {}), \
                substitute(request.get("body"), secrets or {})
        except KeyError as exc:
            problems.append("request %s uses ${%s}, which secrets does not give" % (label, exc.args[0]))
            headers, body = {}, None
        requests.append({"name": request.get("name") or "%s %s" % (request.get("method") or "GET", path),
                         "method": (request.get("method") or "GET").upper(), "path": path,
                         "weight": max(1, int(request.get("weight") or 1)), "headers": headers, "body": body,
                         "status": list(request.get("status") or [200, 201, 202, 204, 301, 302, 304])})
    if not requests:
        problems.append("no request is declared")
    if problems:
        raise InvalidInput("load", "the declared scenario", "; ".join(problems))
    wait = wait or [0.0, 0.0]
    return {"target": target.rstrip("/"), "requests": requests,
            # Only the target's own name is sent elsewhere: nothing else is ever resolved for the test.
            "resolve": dict((k, v) for k, v in (resolve or {}).items() if k == host), "wait": [float(wait[0]), float(wait[-1])],
            "verify": ca_cert or bool(validate_certs)}


def run_locust(spec, users, spawn_rate, duration, python=None):
    """Run Locust headless with ``spec``; its statistics as :func:`read_locust` gives them."""
    python = python or sys.executable
    work = tempfile.mkdtemp(prefix="golive-load-")
    try:
        os.chmod(work, 0o700)
        spec_path, locustfile = os.path.join(work, "spec.json"), os.path.join(work, "scenario.py")
        fd = os.open(spec_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(spec, handle)
        with open(locustfile, "w") as handle:
            handle.write(LOCUSTFILE)
        command = [python, "-m", "locust", "-f", locustfile, "--headless", "--users", str(users),
                   "--spawn-rate", str(spawn_rate), "--run-time", "%ds" % duration, "--stop-timeout", "5",
                   "--csv", os.path.join(work, "run"), "--only-summary", "--exit-code-on-error", "0",
                   "--loglevel", "ERROR"]
        env = dict(os.environ, GOLIVE_LOAD_SPEC=spec_path, PYTHONDONTWRITEBYTECODE="1")
        try:
            proc = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True,
                                  timeout=duration + 120, check=False)
        except subprocess.TimeoutExpired:
            raise BackendError("run", "the load test", "Locust did not finish within %ds" % (duration + 120))
        if proc.returncode != 0 or not os.path.exists(os.path.join(work, "run_stats.csv")):
            text = (proc.stderr or proc.stdout or "").strip()
            if "No module named locust" in text:
                raise InvalidInput("run", "the load test", "Locust is not installed for %s" % python,
                                   fix="pip install locust (the collection's requirements.txt names it)")
            raise BackendError("run", "the load test", "Locust exited with %d: %s"
                               % (proc.returncode, text.splitlines()[-1] if text else "no output"))
        return read_locust(os.path.join(work, "run_stats.csv"))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _number(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _error_text(text):
    """Locust writes a failure as its exception's repr: ``CatchResponseError('status 401, ...')``."""
    match = re.match(r"^[A-Za-z]+\((['\"])(.*)\1\)$", text or "")
    return match.group(2) if match else text


def read_locust(path):
    """Locust's ``*_stats.csv`` (and ``*_failures.csv`` next to it): the aggregate and each request."""
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    if not rows or "Request Count" not in rows[0]:
        raise InvalidInput("read", "summary %s" % path, "it is not a Locust statistics file (*_stats.csv)")
    requests, total = [], None
    for row in rows:
        entry = {"name": row.get("Name"), "method": row.get("Type"), "requests": int(_number(row["Request Count"]) or 0),
                 "failures": int(_number(row["Failure Count"]) or 0), "avg_ms": _number(row.get("Average Response Time")),
                 "p95_ms": _number(row.get("95%")), "rps": _number(row.get("Requests/s"))}
        if row.get("Name") == "Aggregated":
            total = entry
        else:
            requests.append(entry)
    failures = []
    failures_path = path.replace("_stats.csv", "_failures.csv")
    if failures_path != path and os.path.exists(failures_path):
        with open(failures_path, newline="") as handle:
            failures = [{"request": "%s %s" % (r.get("Method"), r.get("Name")), "error": _error_text(r.get("Error")),
                         "occurrences": int(_number(r.get("Occurrences")) or 0)} for r in csv.DictReader(handle)]
    if total is None:
        raise InvalidInput("read", "summary %s" % path, "it has no Aggregated row")
    return {"tool": "locust", "total": total, "requests": requests, "failures": failures}


def read_k6(path):
    """k6's ``--summary-export`` JSON."""
    with open(path) as handle:
        data = json.load(handle)
    metrics = data.get("metrics") or {}
    duration, reqs, failed = metrics.get("http_req_duration") or {}, metrics.get("http_reqs") or {}, \
        metrics.get("http_req_failed") or {}
    if not reqs:
        raise InvalidInput("read", "summary %s" % path, "it has no http_reqs metric (k6 --summary-export)")
    count = int(reqs.get("count") or 0)
    rate = failed.get("value", failed.get("rate"))
    total = {"name": "Aggregated", "requests": count,
             "failures": int(round(count * float(rate))) if rate is not None else 0,
             "avg_ms": _number(duration.get("avg")), "p95_ms": _number(duration.get("p(95)")),
             "rps": _number(reqs.get("rate"))}
    return {"tool": "k6", "total": total, "requests": [], "failures": []}


def read_summary(path):
    if not os.path.exists(path):
        raise InvalidInput("read", "summary %s" % path, "no such file")
    if path.endswith(".json"):
        return read_k6(path)
    return read_locust(path)


def judge(stats, objectives, bounds=None):
    """The checks of a load test's statistics against the objectives (pure)."""
    total = stats["total"]
    requests, failures = total["requests"], total["failures"]
    base = {"tool": stats["tool"], "requests": requests, "failures": failures}
    base.update(bounds or {})
    worst = sorted((r for r in stats["requests"] if r["requests"]), key=lambda r: -(r["p95_ms"] or 0))[:5]
    checks = []
    minimum = int(objectives.get("min_requests") or 1)
    checks.append(make_check("load.requests", "The load test made the requests it was declared to make",
                             PASS if requests >= minimum else FAIL,
                             dict(base, min_requests=minimum, per_request=stats["requests"],
                                  problems=[] if requests >= minimum else
                                  ["%d requests, at least %d" % (requests, minimum)]), ITEMS["load.requests"]))
    rate = float(failures) / requests if requests else None
    goal = objectives.get("error_rate_max")
    goal = 0.01 if goal is None else goal
    problems = [] if rate is None or rate <= goal else [
        "%.2f%% of %d requests failed, at most %.2f%%" % (100 * rate, requests, 100 * goal)]
    checks.append(make_check("load.error-rate", "The error rate under load is within the objective",
                             SKIP if rate is None else PASS if not problems else FAIL,
                             dict(base, value=rate, objective=goal, failures_by_error=stats["failures"][:10],
                                  problems=problems), ITEMS["load.error-rate"]))
    for check_id, key, field, title in (
            ("load.latency-p95", "latency_p95_ms_max", "p95_ms", "p95 latency under load"),
            ("load.latency-avg", "latency_avg_ms_max", "avg_ms", "Average latency under load")):
        value, goal = total.get(field), objectives.get(key)
        evidence = dict(base, value=value, objective=goal, slowest=[
            {"name": r["name"], field: r[field]} for r in worst])
        if value is None or goal is None:
            evidence["reason"] = "no objective declared (%s)" % key if value is not None else "no requests measured"
            checks.append(make_check(check_id, title, SKIP, evidence, ITEMS[check_id]))
            continue
        if value > goal:
            evidence["problems"] = ["%s %.0f ms, at most %.0f ms" % (title, value, goal)]
        checks.append(make_check(check_id, title, PASS if value <= goal else FAIL, evidence, ITEMS[check_id]))
    value, goal = total.get("rps"), objectives.get("min_rps")
    evidence = dict(base, value=value, objective=goal)
    if goal is None or value is None:
        evidence["reason"] = "no objective declared (min_rps)"
        checks.append(make_check("load.throughput", "Throughput under load", SKIP, evidence, ITEMS["load.throughput"]))
    else:
        if value < goal:
            evidence["problems"] = ["%.1f requests/s, at least %.1f" % (value, goal)]
        checks.append(make_check("load.throughput", "Throughput under load", PASS if value >= goal else FAIL,
                                 evidence, ITEMS["load.throughput"]))
    return checks

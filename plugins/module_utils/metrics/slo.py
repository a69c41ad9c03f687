# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The SLO gate: objectives measured ``count`` times, ``interval`` apart, judged the way
Argo Rollouts' analysis judges its metrics.

Each measurement is a success, a failure, or inconclusive (no data, where the objective's
``no_data`` policy says so; by default no data is a failure). An objective fails when its
failures exceed ``failure_limit``, is inconclusive when its inconclusive measurements
exceed ``inconclusive_limit``, and passes otherwise. Inconclusive is never a pass. The
gate stops early once an objective has failed for good.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.golive.core.plugins.module_utils.common.checks import make_check

SUCCESS = "success"
FAILURE = "failure"
INCONCLUSIVE = "inconclusive"
HTTP_METRICS = {"error_ratio": ("error_ratio", None), "latency_avg_ms": ("latency_ms", "avg"),
                "latency_p50_ms": ("latency_ms", "p50"), "latency_p95_ms": ("latency_ms", "p95"),
                "latency_p99_ms": ("latency_ms", "p99")}


def classify(value, objective):
    """The outcome of one measurement."""
    if value is None:
        policy = objective.get("no_data") or "fail"
        return {"fail": FAILURE, "inconclusive": INCONCLUSIVE, "pass": SUCCESS}[policy]
    if objective.get("max") is not None and value > objective["max"]:
        return FAILURE
    if objective.get("min") is not None and value < objective["min"]:
        return FAILURE
    return SUCCESS


def verdict(outcomes, objective):
    failures = outcomes.count(FAILURE)
    inconclusive = outcomes.count(INCONCLUSIVE)
    if failures > int(objective.get("failure_limit") or 0):
        return "failed"
    if inconclusive > int(objective.get("inconclusive_limit") or 0):
        return "inconclusive"
    return "passed"


def http_value(stats, metric):
    field, sub = HTTP_METRICS[metric]
    value = (stats or {}).get(field)
    if sub is not None:
        value = (value or {}).get(sub)
    return value


def threshold_text(objective):
    parts = []
    if objective.get("max") is not None:
        parts.append("<= %s" % objective["max"])
    if objective.get("min") is not None:
        parts.append(">= %s" % objective["min"])
    return " and ".join(parts) or "any value"


def _schedule(objectives, count, interval):
    plan = {}
    for objective in objectives:
        times = int(objective["count"]) if objective.get("count") is not None else int(count)
        every = float(objective["interval"]) if objective.get("interval") is not None else float(interval)
        if times < 1 or every < 0:
            raise ValueError("objective %s: count is at least 1 and interval at least 0" % objective["name"])
        plan[objective["name"]] = (times, every)
    return plan


def run(objectives, measure, count=3, interval=10.0, deadline=None, sleep=time.sleep, clock=time.time):
    """Measure every objective its ``count`` times, its ``interval`` apart (the gate's when the
    objective has none); return ``{objectives, checks, passed, rounds}``.

    ``measure(round_index, names)`` returns ``{objective name: value or None}`` for the
    objectives due in that round (those whose next measurement time has come).
    """
    plan = _schedule(objectives, count, interval)
    history = dict((o["name"], []) for o in objectives)
    started = clock()
    due = dict((o["name"], started) for o in objectives)
    rounds = 0
    out_of_time = False
    while True:
        if any(verdict([m["outcome"] for m in history[o["name"]]], o) == "failed" for o in objectives):
            break  # failed for good: no later measurement can pass it
        pending = [o for o in objectives if len(history[o["name"]]) < plan[o["name"]][0]]
        if not pending:
            break
        wait = min(due[o["name"]] for o in pending) - clock()
        if wait > 0:
            if deadline is not None and deadline.remaining() < wait:
                out_of_time = True
                break
            sleep(wait)
        now = clock()
        names = [o["name"] for o in pending if due[o["name"]] <= now + 1e-6]
        values = measure(rounds, names)
        rounds += 1
        for objective in pending:
            name = objective["name"]
            if name not in names:
                continue
            value = values.get(name)
            history[name].append({"round": len(history[name]) + 1, "at": round(clock(), 3), "value": value,
                                  "outcome": classify(value, objective)})
            due[name] = max(due[name] + plan[name][1], now)
    results, checks = [], []
    for objective in objectives:
        measurements = history[objective["name"]]
        result = verdict([m["outcome"] for m in measurements], objective)
        short = len(measurements) < plan[objective["name"]][0] and (out_of_time or not measurements)
        if short and result != "failed":
            result = "inconclusive"
        entry = {"name": objective["name"], "source": objective.get("source"), "verdict": result,
                 "threshold": threshold_text(objective), "measurements": measurements,
                 "count": plan[objective["name"]][0], "interval": plan[objective["name"]][1],
                 "failure_limit": int(objective.get("failure_limit") or 0),
                 "no_data": objective.get("no_data") or "fail"}
        for field in ("query", "metric"):
            if objective.get(field):
                entry[field] = objective[field]
        entry.update(objective.get("evidence") or {})
        if short and result == "inconclusive":
            entry["problems"] = ["measured %d of %d times: the %s" % (
                len(measurements), plan[objective["name"]][0],
                "deadline came first" if out_of_time else "gate stopped at a failed objective")]
        elif result != "passed":
            bad = [m for m in measurements if m["outcome"] != SUCCESS]
            entry["problems"] = ["%d of %d measurements %s (%s), threshold %s" % (
                len(bad), len(measurements), "failed" if result == "failed" else "had no data",
                ", ".join("no data" if m["value"] is None else "%g" % m["value"] for m in bad),
                threshold_text(objective))]
        results.append(entry)
        status = {"passed": "pass", "failed": "fail", "inconclusive": "warn"}[result]
        checks.append(make_check("slo.%s" % objective["name"], "Objective %s: %s" % (
            objective["name"], threshold_text(objective)), status, entry, objective.get("checklist")))
    return {"objectives": results, "checks": checks, "rounds": rounds,
            "passed": all(r["verdict"] == "passed" for r in results)}

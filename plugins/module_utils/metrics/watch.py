# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The weeks after a go-live: figures over a window, from Prometheus, judged against the
objectives, compared with the window before and with the window before the cutover, and
projected (capacity).

Every figure is a query over the whole window (``increase`` of the request counters and the
duration histogram, ``avg_over_time`` of the probes), evaluated at the window's end; each
also comes as a series over the window (for the report's chart). Judging is pure
(``judge_*``), so tables drive it in the unit tests.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import re

from ansible_collections.golive.core.plugins.module_utils.common.checks import FAIL, PASS, SKIP, WARN, make_check
from ansible_collections.golive.core.plugins.module_utils.common.clock import format_time

WINDOWS = {"1h": 3600, "24h": 86400, "7d": 7 * 86400, "30d": 30 * 86400}
WEEK = 7 * 86400
POINTS = 48  # samples of a chart
# The checklist items each window gives evidence for.
ITEMS = {
    "1h": {"error-rate": ["Error Rates - Error rates within acceptable limits", "System Stability - System running stably"],
           "latency-p95": ["Performance Monitoring - Performance metrics stable", "System Stability - System running stably"],
           "latency-avg": "Performance Monitoring - Performance metrics stable",
           "availability": "System Stability - System running stably", "capacity": None},
    "24h": {"error-rate": "Error Analysis - Error patterns analyzed", "latency-p95": "Performance Tracking - Performance metrics tracked hourly",
            "latency-avg": "Performance Tracking - Performance metrics tracked hourly",
            "availability": "Continuous Monitoring - 24/7 monitoring active",
            "capacity": "Capacity Monitoring - Resource capacity monitored"},
    "7d": {"error-rate": "Trend Analysis - Performance and error trends analyzed",
           "latency-p95": "Trend Analysis - Performance and error trends analyzed",
           "latency-avg": "Trend Analysis - Performance and error trends analyzed",
           "availability": "Trend Analysis - Performance and error trends analyzed",
           "capacity": "Capacity Planning - Resource capacity planning updated"},
    "30d": {"error-rate": "Performance Review - Comprehensive performance review",
            "latency-p95": "Performance Review - Comprehensive performance review",
            "latency-avg": "Performance Review - Comprehensive performance review",
            "availability": "Performance Review - Comprehensive performance review",
            "capacity": "Scaling Plan - Scaling plan updated based on usage"},
}
SECURITY_ITEMS = {"1h": "Error Rates - Error rates within acceptable limits",
                  "24h": "Security Monitoring - Security events monitored",
                  "7d": "Security Review - Security posture reviewed", "30d": "Security Audit - Post-go-live security audit"}
for _window, _items in ITEMS.items():
    _items["auth-failures"] = _items["rate-limited"] = SECURITY_ITEMS[_window]
SUCCESS = {"uptime-week": ["99.9% uptime during go-live week", "Uptime > 99.9% - System uptime exceeds 99.9%"],
           "error-rate-week": ["Error Rate < 0.1% - Error rate below 0.1%", "< 1% error rate"],
           "latency-p95-week": "Response Time < 200ms - API response time under 200ms"}
_QUANTITY = {"": 1, "k": 1e3, "M": 1e6, "G": 1e9, "Ki": 1024, "Mi": 1024 ** 2, "Gi": 1024 ** 3, "Ti": 1024 ** 4}


def window_seconds(window):
    if window not in WINDOWS:
        raise ValueError("window %r: one of %s" % (window, ", ".join(WINDOWS)))
    return WINDOWS[window]


def quantity(value):
    """``128Mi`` -> 134217728.0; numbers pass."""
    if isinstance(value, (int, float)):
        return float(value)
    match = re.fullmatch(r"\s*([0-9.]+)\s*(k|M|G|Ki|Mi|Gi|Ti)?\s*", str(value or ""))
    if not match:
        raise ValueError("%r is not a quantity (128Mi, 2Gi, 1e9)" % (value,))
    return float(match.group(1)) * _QUANTITY[match.group(2) or ""]


def _duration(seconds):
    seconds = int(seconds)
    return "%dd" % (seconds // 86400) if seconds % 86400 == 0 else "%dh" % (seconds // 3600) \
        if seconds % 3600 == 0 else "%ds" % seconds


def expressions(requests, availability):
    """PromQL of each figure over a range ``%(range)s`` (filled at query time)."""
    sel = requests.get("selector") or ""
    total, duration = requests.get("metric") or "http_requests_total", requests.get("duration_metric") \
        or "http_request_duration_seconds"
    errors = '%s{%s%scode=~"%s"}' % (total, sel, "," if sel else "", requests.get("error_codes") or "5..")
    found = {
        "error-rate": "(sum(increase(%s[%%(range)s])) or vector(0)) / sum(increase(%s{%s}[%%(range)s]))"
                      % (errors, total, sel),
        "latency-p95": "histogram_quantile(0.95, sum by (le) (increase(%s_bucket{%s}[%%(range)s])))" % (duration, sel),
        "latency-avg": "sum(increase(%s_sum{%s}[%%(range)s])) / sum(increase(%s_count{%s}[%%(range)s]))"
                       % (duration, sel, duration, sel),
    }
    if availability:
        found["availability"] = "avg(avg_over_time(%s[%%(range)s]))" % availability
    # Security events from the same counter: refused authentications and authorisations, and
    # requests the rate limiter turned away, as shares of all requests.
    for name, codes in (("auth-failures", "401|403"), ("rate-limited", "429")):
        found[name] = "(sum(increase(%s{%s%scode=~\"%s\"}[%%(range)s])) or vector(0)) / sum(increase(%s{%s}[%%(range)s]))" \
            % (total, sel, "," if sel else "", codes, total, sel)
    return found


UNITS = {"error-rate": ("ratio", 1.0), "latency-p95": ("ms", 1000.0), "latency-avg": ("ms", 1000.0),
         "availability": ("ratio", 1.0), "auth-failures": ("ratio", 1.0), "rate-limited": ("ratio", 1.0)}
# Which way is worse, and the objective's key in ``objectives``.
WORSE_WHEN = {"error-rate": ("higher", "error_rate_max"), "latency-p95": ("higher", "latency_p95_ms_max"),
              "latency-avg": ("higher", "latency_avg_ms_max"), "availability": ("lower", "availability_min"),
              "auth-failures": ("higher", "auth_failure_rate_max"), "rate-limited": ("higher", "rate_limited_max")}
# How a declared signal's series is folded into the window's figure.
FOLDS = ("max", "min", "avg", "last")


def show(name, value, unit=None):
    if value is None:
        return "no data"
    unit = unit or UNITS.get(name, ("", 1))[0]
    if unit == "ratio":
        return "%.3f%%" % (value * 100)
    if unit in ("ms", "s"):
        return ("%.1f %s" if value < 10 else "%.0f %s") % (value, unit)
    if unit == "bytes":
        return _amount(value) + "B" if value >= 1024 else "%.0f B" % value
    return "%.4g%s" % (value, " " + unit if unit else "")


# -- judging (pure) ----------------------------------------------------------------

def judge_figure(window, name, now_value, previous, before, objectives, tolerance, series=None):
    """One check: the figure against its objective (fail), then against the previous window and
    the window before the cutover (warn when worse beyond ``tolerance``, naming both numbers)."""
    worse, key = WORSE_WHEN[name]
    goal = objectives.get(key)
    return _judge("watch.%s.%s" % (window, name), name, None, ITEMS[window][name], window, worse, goal,
                  now_value, previous, before, tolerance, series, {},
                  "%s %s over the last %s, objective %s" % (name, show(name, now_value), window, show(name, goal)))


def _judge(check_id, name, unit, item, window, worse, goal, value, previous, before, tolerance, series, extra, miss,
           noise=None):
    """A figure of the window (a built-in one or a declared signal) against its objective (fail,
    ``miss`` names it), then against the window before and the window before the go-live (warn)."""
    evidence = dict(extra, window=window, value=value, shown=show(name, value, unit), previous_window=previous,
                    before_golive=before, objective=goal)
    if series:
        evidence["series"] = series
        if goal is not None:
            evidence["threshold"] = goal
    title = "%s over the last %s" % (name, window)
    if value is None:
        return make_check(check_id, title, SKIP, dict(evidence, reason="no data over the window"), item)
    status = PASS
    if goal is not None and ((worse == "higher" and value > goal) or (worse == "lower" and value < goal)):
        evidence["problems"] = [miss]
        status = FAIL
    warnings = ["%s %s over the last %s vs %s %s" % (name, show(name, value, unit), window, show(name, other, unit), label)
                for label, other in (("the %s before" % window, previous), ("the %s before the go-live" % window, before))
                if other is not None and _regressed(worse, value, other, tolerance, name, unit, noise)]
    if warnings:
        evidence["regressions"] = warnings
        if status == PASS:
            status = WARN
    return make_check(check_id, title, status, evidence, item)


def _regressed(worse, value, other, tolerance, name, unit=None, floor=None):
    if unit is None:  # a built-in figure; a declared signal without a unit has ""
        unit = UNITS[name][0]
    if worse == "lower" and unit == "ratio":  # availability: a drop of more than the tolerance of what was missing
        return value < other - max(tolerance * (1 - other), 0.0005)
    if floor is None:
        floor = 0.0005 if unit == "ratio" else 5.0 if unit == "ms" else 0.0  # noise below 0.05 % or 5 ms
    if worse == "lower":
        return value < other * (1 - tolerance) and other - value > floor
    return value > other * (1 + tolerance) and value - other > floor


def signal_id(name):
    return re.sub(r"[^a-z0-9_:-]+", "-", str(name).lower()).strip("-")


def judge_signal(window, signal, value, previous, before, tolerance, series=None):
    """A declared signal (database, cache, ...): its window's figure against ``max``/``min``
    (fail), then against the window before and the window before the go-live (warn)."""
    name, unit = signal["name"], signal.get("unit") or ""
    worse = "lower" if signal.get("min") is not None and signal.get("max") is None else "higher"
    goal = signal.get("min") if worse == "lower" else signal.get("max")
    fold = signal.get("over") or "max"
    bound = "at most" if worse == "higher" else "at least"
    miss = "%s %s (%s over the last %s), %s %s" % (
        name, show(name, value, unit), fold, window, bound, show(name, goal, unit))
    return _judge("watch.%s.%s" % (window, signal_id(name)), name, unit, signal.get("checklist") or None, window, worse,
                  goal, value, previous, before, tolerance, series, {"name": name, "fold": fold}, miss,
                  signal.get("noise"))


def slope_per_day(points):
    """Least-squares slope of ``[(epoch, value)]`` per day (None with fewer than two points)."""
    points = [point for point in points if point[1] is not None]
    if len(points) < 2:
        return None
    n = float(len(points))
    mean_t = sum(point[0] for point in points) / n
    mean_v = sum(point[1] for point in points) / n
    var = sum((point[0] - mean_t) ** 2 for point in points)
    if not var:
        return None
    return sum((t - mean_t) * (v - mean_v) for t, v in points) / var * 86400


def judge_capacity(window, item, points, now_epoch, warn_days, date_of):
    """``capacity.<name>``: the trend of the window projected to the date the limit is reached."""
    limit = quantity(item["limit"])
    current = points[-1][1] if points else None
    slope = slope_per_day(points)
    evidence = {"window": window, "limit": limit, "current": current, "growth_per_day": slope,
                "series": [[t, v] for t, v in points], "threshold": limit}
    name = item["name"]
    check_id = "watch.%s.capacity.%s" % (window, re.sub(r"[^a-z0-9_:-]+", "-", name.lower()).strip("-"))
    evidence["name"] = name
    if current is None:
        return make_check(check_id, "%s capacity" % name, SKIP,
                          dict(evidence, reason="no data over the window"), ITEMS[window]["capacity"])
    if current >= limit:
        evidence["problems"] = ["%s is at its limit (%s of %s)" % (name, _amount(current), _amount(limit))]
        return make_check(check_id, "%s capacity" % name, FAIL, evidence,
                          ITEMS[window]["capacity"])
    if slope and slope > 0:
        days = (limit - current) / slope
        evidence["days_to_limit"] = round(days, 1)
        evidence["limit_date"] = date_of(now_epoch + days * 86400)
        line = "%s reaches its limit (%s) in ~%d days, on %s, at this %s's growth (%s a day)" % (
            name, _amount(limit), round(days), evidence["limit_date"], "window" if window == "1h" else window,
            _amount(slope))
        if days <= warn_days:
            evidence["warnings"] = [line]
            return make_check(check_id, "%s capacity" % name, WARN, evidence,
                              ITEMS[window]["capacity"])
        evidence["projection"] = line
    return make_check(check_id, "%s capacity" % name, PASS, evidence,
                      ITEMS[window]["capacity"])


def _amount(value):
    if value is None:
        return "?"
    for unit, size in (("Gi", 1024 ** 3), ("Mi", 1024 ** 2), ("Ki", 1024)):
        if abs(value) >= size:
            return "%.1f%s" % (value / size, unit)
    return "%.3g" % value


def judge_success(name, value, goal, worse, measurable_in, unit_name):
    """A success criterion over the go-live week: passed, failed, or not measurable yet."""
    evidence = {"value": value, "objective": goal, "shown": show(unit_name, value)}
    check_id = "watch.success.%s" % name
    title = "Success criterion %s over the go-live week" % name
    if measurable_in > 0:
        days = measurable_in / 86400.0
        evidence["reason"] = "not measurable yet (needs %s more day%s)" % (
            ("%.1f" % days).rstrip("0").rstrip("."), "" if round(days, 1) == 1 else "s")
        return make_check(check_id, title, SKIP, evidence, SUCCESS[name])
    if value is None:
        return make_check(check_id, title, SKIP, dict(evidence, reason="no data over the go-live week"), SUCCESS[name])
    ok = value <= goal if worse == "higher" else value >= goal
    if not ok:
        evidence["problems"] = ["%s %s over the go-live week, objective %s" % (unit_name, show(unit_name, value),
                                                                               show(unit_name, goal))]
    return make_check(check_id, title, PASS if ok else FAIL, evidence, SUCCESS[name])


# -- observing ------------------------------------------------------------------------

def observe(prometheus, window, now, cutover, requests, availability=None, capacity=(), deadline=None, signals=()):
    """Query every figure at ``now`` over the window, the window before, and the window before
    the cutover; the series of each over the window; the capacity series."""
    seconds = window_seconds(window)
    exprs = expressions(requests, availability)
    rng = _duration(seconds)
    step = max(60, seconds // POINTS)
    out = {"figures": {}, "capacity": {}, "week": {}}
    for name, expr in exprs.items():
        scale = UNITS[name][1]
        value = _one(prometheus, expr % {"range": rng}, now, deadline, scale)
        previous = _one(prometheus, expr % {"range": rng}, now - seconds, deadline, scale)
        before = _one(prometheus, expr % {"range": rng}, cutover, deadline, scale) if cutover else None
        series = prometheus.query_range(expr % {"range": _duration(step * 2)}, now - seconds, now, step, deadline)
        out["figures"][name] = {"value": value, "previous": previous, "before": before,
                                "series": [[t, round(v * scale, 6)] for t, v in series]}
        if cutover and name in ("availability", "error-rate", "latency-p95"):
            end = cutover + WEEK
            out["week"][name] = _one(prometheus, expr % {"range": _duration(WEEK)}, end, deadline, scale) \
                if end <= now else None
    for item in (capacity or ()) if seconds >= WINDOWS["24h"] else ():
        out["capacity"][item["name"]] = prometheus.query_range(item["query"], now - seconds, now, step, deadline)
    out["signals"] = {}
    for signal in signals or ():
        fold = signal.get("over") or "max"
        # A subquery folds the signal over the whole window, at a minute's resolution or a
        # 1440th of the window (finer than the chart: a short peak is not lost between points).
        expr = "(%s)" % signal["query"] if fold == "last" else "%s_over_time((%s)[%s:%ds])" % (
            fold, signal["query"], rng, max(60, seconds // 1440))
        scale = float(signal.get("scale") or 1.0)
        out["signals"][signal["name"]] = {
            "value": _one(prometheus, expr, now, deadline, scale),
            "previous": _one(prometheus, expr, now - seconds, deadline, scale),
            "before": _one(prometheus, expr, cutover, deadline, scale) if cutover and cutover - seconds >= 0 else None,
            "series": [[t, round(v * scale, 6)] for t, v in
                       prometheus.query_range(signal["query"], now - seconds, now, step, deadline)]}
    return out


def _one(prometheus, expr, at, deadline, scale):
    samples = prometheus.query(expr, deadline, at=at)
    if not samples:
        return None
    return round(samples[0][1] * scale, 6)


def run(prometheus, window, now, cutover, requests, availability=None, objectives=None, tolerance=0.2,
        capacity=(), warn_days=30.0, deadline=None, signals=()):
    """Observe and judge one window; ``now`` and ``cutover`` are aware datetimes."""
    if now <= cutover:
        raise ValueError("now (%s) is before the cutover (%s): the release was not live yet"
                         % (format_time(now), format_time(cutover)))
    objectives = dict((k, v) for k, v in (objectives or {}).items() if v is not None)
    at, live = now.timestamp(), cutover.timestamp()
    seconds = window_seconds(window)
    names = [signal_id(signal["name"]) for signal in signals or ()]
    clash = sorted(set(n for n in names if names.count(n) > 1 or n in UNITS or n in ("capacity", "success") or not n))
    if clash:
        raise ValueError("signal names must be distinct from each other and from the figures (%s): %s"
                         % (", ".join(sorted(UNITS)), ", ".join(repr(n) for n in clash)))
    for signal in signals or ():
        if (signal.get("over") or "max") not in FOLDS:
            raise ValueError("signal %r: over is one of %s" % (signal["name"], ", ".join(FOLDS)))
    observed = observe(prometheus, window, at, live, requests, availability, capacity, deadline, signals)
    checks = []
    for name, figure in observed["figures"].items():
        checks.append(judge_figure(window, name, figure["value"], figure["previous"],
                                   figure["before"] if live - seconds >= 0 else None, objectives, tolerance,
                                   figure["series"]))

    for signal in signals or ():
        figure = observed["signals"][signal["name"]]
        checks.append(judge_signal(window, signal, figure["value"], figure["previous"], figure["before"], tolerance,
                                   figure["series"]))

    def date_of(epoch):
        return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime("%Y-%m-%d")
    # An hour's trend says nothing about weeks: capacity is projected from a day or more.
    for item in (capacity or ()) if seconds >= WINDOWS["24h"] else ():
        checks.append(judge_capacity(window, item, observed["capacity"].get(item["name"]) or [], at,
                                     warn_days, date_of))
    wait = max(0.0, live + WEEK - at)
    week = observed["week"]
    if availability:
        checks.append(judge_success("uptime-week", week.get("availability"), objectives.get("availability_min", 0.999),
                                    "lower", wait, "availability"))
    checks.append(judge_success("error-rate-week", week.get("error-rate"), objectives.get("error_rate_max", 0.001),
                                "higher", wait, "error-rate"))
    checks.append(judge_success("latency-p95-week", week.get("latency-p95"),
                                objectives.get("latency_p95_ms_max", 200.0), "higher", wait, "latency-p95"))
    failed = [c for c in checks if c["status"] == FAIL]
    warned = [c for c in checks if c["status"] == WARN]
    verdict = "failed" if failed else "warnings" if warned else "passed"
    return {"changed": False, "checks": checks, "window": window, "now": format_time(now),
            "since": format_time(now - datetime.timedelta(seconds=seconds)),
            "cutover": format_time(cutover), "days_live": round((at - live) / 86400.0, 2), "verdict": verdict,
            "figures": dict((name, dict((k, v) for k, v in f.items() if k != "series"))
                            for name, f in list(observed["figures"].items()) + list(observed["signals"].items()))}

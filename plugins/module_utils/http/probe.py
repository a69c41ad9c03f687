# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""HTTP checks with statistics: each request sent N times with a concurrency limit,
judged by status, JMESPath assertions on the JSON answer and a body regex.

Requests run in the order given, so a smoke test can register, log in (``save`` the
token from the answer) and use it (``${token}`` in a later URL, header or body). Saved
values are secrets: they are masked wherever they could appear in a result. Failure
samples carry the answer's status and a truncated body with secret-looking JSON fields
masked; request headers and bodies are never echoed.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import math
import re
import time
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.golive.core.plugins.module_utils.common.checks import make_check, redact
from ansible_collections.golive.core.plugins.module_utils.common.errors import GoliveError, InvalidInput
from ansible_collections.golive.core.plugins.module_utils.http import transport

try:
    import jmespath
    import jmespath.exceptions
    import jmespath.visitor
    JMESPATH_IMPORT_ERROR = None
except ImportError:  # pragma: no cover - reported by the module entry point
    import traceback
    JMESPATH_IMPORT_ERROR = traceback.format_exc()

BODY_SAMPLE = 300
FAILURE_SAMPLES = 3
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_SECRET_FIELD = re.compile(r"pass|token|secret|key|auth|cookie|session", re.I)


# -- pure helpers --------------------------------------------------------------------------

def percentile(sorted_values, q):
    """Nearest-rank percentile of an ascending list (``None`` when empty)."""
    if not sorted_values:
        return None
    rank = max(1, int(math.ceil(q / 100.0 * len(sorted_values))))
    return sorted_values[rank - 1]


def statistics(latencies_ms, errors, total):
    values = sorted(latencies_ms)
    stats = {"requests": total, "errors": errors, "error_ratio": round(float(errors) / total, 4) if total else None}
    if values:
        stats["latency_ms"] = {"avg": round(sum(values) / len(values), 2), "p50": round(percentile(values, 50), 2),
                               "p95": round(percentile(values, 95), 2), "p99": round(percentile(values, 99), 2),
                               "max": round(values[-1], 2)}
    else:
        stats["latency_ms"] = None
    return stats


def substitute(value, saved):
    """Replace ``${name}`` in strings (recursively); raise ``KeyError`` for an unknown name."""
    if isinstance(value, str):
        return _PLACEHOLDER.sub(lambda m: str(saved[m.group(1)]), value)
    if isinstance(value, dict):
        return dict((k, substitute(v, saved)) for k, v in value.items())
    if isinstance(value, list):
        return [substitute(v, saved) for v in value]
    return value


def mask_fields(value):
    """A JSON value with every secret-looking field's value masked."""
    if isinstance(value, dict):
        return dict((k, "********" if _SECRET_FIELD.search(str(k)) and v not in (None, "") else mask_fields(v))
                    for k, v in value.items())
    if isinstance(value, list):
        return [mask_fields(v) for v in value]
    return value


def body_sample(data, secrets):
    text = data.decode("utf-8", "replace")
    try:
        text = json.dumps(mask_fields(json.loads(text)), sort_keys=True)
    except ValueError:
        pass
    text = redact(text, secrets)
    return text if len(text) <= BODY_SAMPLE else text[:BODY_SAMPLE] + "...(truncated)"


# HSTS must hold for half a year at least (ingress-nginx sends 15724800 s by default).
HSTS_MIN_AGE = 15552000


def security_header_problems(wanted, headers):
    """What the security headers of an answer lack, for each of ``wanted`` (``hsts``,
    ``content_type_options``, ``csp``): ``[text]``, empty when they are all there (pure)."""
    headers = headers or {}
    found = []
    if "hsts" in wanted:
        hsts = headers.get("strict-transport-security")
        age = re.search(r"max-age\s*=\s*\"?(\d+)", hsts or "", re.I)
        if hsts is None:
            found.append("no Strict-Transport-Security header")
        elif not age or int(age.group(1)) < HSTS_MIN_AGE:
            found.append("Strict-Transport-Security %r holds for less than %d s" % (hsts, HSTS_MIN_AGE))
    if "content_type_options" in wanted and (headers.get("x-content-type-options") or "").strip().lower() != "nosniff":
        found.append("no X-Content-Type-Options: nosniff")
    if "csp" in wanted and not (headers.get("content-security-policy") or "").strip():
        found.append("no Content-Security-Policy header")
    return found


def judge(spec, status, data, headers=None):
    """``(ok, reason, document)`` for one answer against a request's expectations."""
    if status not in spec["status"]:
        return False, "status %d, expected %s" % (status, " or ".join(str(s) for s in spec["status"])), None
    lacking = security_header_problems(spec.get("security_headers") or (), headers)
    if lacking:
        return False, "; ".join(lacking), None
    for name, pattern in sorted((spec.get("header_regex") or {}).items()):
        value = (headers or {}).get(name.lower())
        if value is None:
            return False, "no %s header" % name, None
        if not re.search(pattern, value):
            return False, "header %s is %r, which does not match %r" % (name, value, pattern), None
    if spec.get("sha256") and hashlib.sha256(data).hexdigest() != spec["sha256"].lower():
        return False, "the body's sha256 is %s, expected %s" % (hashlib.sha256(data).hexdigest(), spec["sha256"]), None
    document = None
    if spec.get("assertions") or spec.get("save"):
        try:
            document = json.loads(data.decode("utf-8"))
        except ValueError:
            return False, "the answer is not JSON", None
    for expression in spec.get("assertions") or []:
        try:
            value = jmespath.search(expression, document)
        except jmespath.exceptions.JMESPathError as exc:
            raise InvalidInput("evaluate", "JMESPath assertion %r" % expression, str(exc))
        if not value:
            return False, "assertion %r is %s%s" % (expression, json.dumps(value), _compared(expression, document)), \
                document
    if spec.get("body_regex") and not re.search(spec["body_regex"], data.decode("utf-8", "replace")):
        return False, "the body does not match %r" % spec["body_regex"], document
    return True, None, document


def _compared(expression, document):
    """For a comparison (``version == '2026.11.2'``), what its left side is in the answer:
    ``" (version is \"2026.11.3\")"``; else ``""``."""
    try:
        parsed = jmespath.compile(expression).parsed
        if parsed.get("type") != "comparator":
            return ""
        left = parsed["children"][0]
        value = jmespath.visitor.TreeInterpreter().visit(left, document)
    except (jmespath.exceptions.JMESPathError, KeyError, IndexError, TypeError, AttributeError):
        return ""
    text = expression.rsplit(_COMPARATORS[parsed["value"]], 1)[0].strip()
    if _SECRET_FIELD.search(text):
        return ""  # what a secret-looking field holds is never shown
    try:
        if jmespath.compile(text).parsed != left:
            text = "its left side"
    except jmespath.exceptions.JMESPathError:
        text = "its left side"
    return " (%s is %s)" % (text, json.dumps(value)[:200])


_COMPARATORS = {"eq": "==", "ne": "!=", "lt": "<", "lte": "<=", "gt": ">", "gte": ">="}


def check_id(name):
    text = re.sub(r"[^a-z0-9_.:-]+", "-", str(name).lower()).strip("-") or "request"
    return "http." + text


# -- running -------------------------------------------------------------------------------

def run(requests, resolver=None, context=None, deadline=None, count=1, concurrency=4, request_timeout=10.0,
        max_error_ratio=0.0, checklist=None, secrets=None):
    """Send every request; return ``{endpoints, overall, checks, saved, secrets}``.

    ``secrets`` (name -> value) are usable as ``${name}`` like saved values and are masked
    the same way; the result's ``secrets`` lists every value to mask (never return it).
    """
    if not requests:
        raise InvalidInput("check", "HTTP endpoints", "requests is empty: there is nothing to send",
                           fix="Declare the requests to send; a check of nothing would pass having checked nothing")
    given = [("checklist", checklist)]
    given += [("requests[%s].checklist" % r.get("name"), r.get("checklist")) for r in requests]
    for where, value in given:
        if not (value is None or isinstance(value, str)
                or (isinstance(value, list) and all(isinstance(v, str) for v in value))):
            raise InvalidInput("use", where, "it is a checklist item or a list of items, not %s"
                               % type(value).__name__)
    given = secrets
    saved = dict((k, v) for k, v in (secrets or {}).items() if v is not None)
    secrets = [str(v) for v in saved.values() if str(v)]
    endpoints, checks = [], []
    all_latencies, all_errors, all_total = [], 0, 0
    for item in requests:
        spec = dict(item)
        spec.setdefault("method", "GET")
        spec["status"] = spec.get("status") or [200]
        repeats = int(spec.get("count") or count)
        try:
            url = substitute(spec["url"], saved)
            headers = substitute(spec.get("headers") or {}, saved)
            body = substitute(spec.get("body"), saved)
            missing = None
        except KeyError as exc:
            url, headers, body, missing = spec["url"], {}, None, exc.args[0]
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
            headers = dict(headers, **{"Content-Type": "application/json"}) \
                if not any(k.lower() == "content-type" for k in headers) else headers
        if missing is not None:
            results = [{"ok": False, "reason": "needs ${%s}, which no earlier request saved" % missing}] * repeats
        else:
            request = (spec, url, headers, body.encode("utf-8") if isinstance(body, str) else body)
            workers = max(1, min(int(spec.get("concurrency") or concurrency), repeats))
            if workers == 1:
                results = [send_once(request, resolver, context, deadline, request_timeout) for i in range(repeats)]
            else:
                with ThreadPoolExecutor(max_workers=workers) as pool:
                    results = list(pool.map(lambda i: send_once(request, resolver, context, deadline, request_timeout),
                                            range(repeats)))
        latencies = [r["ms"] for r in results if r.get("ms") is not None]
        errors = sum(1 for r in results if not r["ok"])
        failures = []
        for answer in results:
            if not answer["ok"] and len(failures) < FAILURE_SAMPLES:
                failure = {"reason": redact(answer["reason"], secrets), "status": answer.get("status")}
                if answer.get("data") is not None:
                    failure["body"] = body_sample(answer["data"], secrets)
                failures.append(failure)
        good = [r for r in results if r["ok"]]
        if good and spec.get("save"):
            for name, expression in spec["save"].items():
                value = jmespath.search(expression, good[0].get("document"))
                if value is not None:
                    saved[name] = value
                    secrets.append(str(value))
        stats = statistics(latencies, errors, repeats)
        address, proxy = None, None
        try:
            address, proxy = transport.route(url, resolver) if missing is None else (None, None)
        except GoliveError:
            address = None
        endpoint = dict(stats, name=spec["name"], method=spec["method"], url=redact(url, secrets), address=address,
                        failures=failures)
        if proxy:
            endpoint["proxy"] = proxy
        limit = spec.get("max_error_ratio", max_error_ratio)
        limit = max_error_ratio if limit is None else limit
        ok = stats["error_ratio"] is not None and stats["error_ratio"] <= limit
        max_p95 = spec.get("max_p95_ms")
        if ok and max_p95 is not None and stats["latency_ms"] is not None:
            ok = stats["latency_ms"]["p95"] <= max_p95
        endpoint["passed"] = ok
        if not ok:
            problems = []
            if errors:
                problems.append("%d of %d failed (error ratio %s > %s), first: %s" % (
                    errors, repeats, stats["error_ratio"], limit, failures[0]["reason"] if failures else "?"))
            if max_p95 is not None and stats["latency_ms"] and stats["latency_ms"]["p95"] > max_p95:
                problems.append("p95 latency %.1f ms > %s ms" % (stats["latency_ms"]["p95"], max_p95))
            endpoint["problems"] = problems
        endpoints.append(endpoint)
        evidence = dict((k, v) for k, v in endpoint.items() if k != "passed")
        evidence["max_error_ratio"] = limit
        evidence["expected_status"] = spec["status"]
        if spec.get("assertions"):  # what the answers were judged by (a version that must answer, say)
            evidence["assertions"] = [redact(a, secrets) for a in spec["assertions"]]
        if max_p95 is not None:
            evidence["max_p95_ms"] = max_p95
        checks.append(make_check(check_id(spec["name"]), "%s %s answers as expected" % (
            spec["method"], redact(url, secrets)), "pass" if ok else "fail", evidence,
            spec.get("checklist") or checklist))
        all_latencies.extend(latencies)
        all_errors += errors
        all_total += repeats
    overall = statistics(all_latencies, all_errors, all_total)
    return {"endpoints": endpoints, "overall": overall, "checks": checks, "secrets": secrets,
            "saved": sorted(k for k in saved if k not in (given or {}))}


def send_once(request, resolver, context, deadline, request_timeout):
    """One send of ``request`` (spec, url, headers, body): ``{ok, reason, status, ms, data, document}``."""
    spec, url, headers, body = request
    if deadline is not None and deadline.expired():
        return {"ok": False, "reason": "the task's deadline ran out before this request"}
    timeout = request_timeout if deadline is None else max(0.5, min(request_timeout, deadline.remaining()))
    try:
        status, headers_in, data, elapsed, peer = transport.send(spec["method"], url, headers, body, resolver, context,
                                                                 timeout)
    except GoliveError as exc:
        return {"ok": False, "reason": exc.cause}
    ok, reason, document = judge(spec, status, data, headers_in)
    return {"ok": ok, "reason": reason, "status": status, "ms": elapsed * 1000.0, "data": data, "document": document}


def timed_run(*args, **kwargs):
    started = time.monotonic()
    result = run(*args, **kwargs)
    result["duration"] = round(time.monotonic() - started, 3)
    return result

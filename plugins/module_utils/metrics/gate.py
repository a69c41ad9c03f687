# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``slo_gate`` service: validates the objectives, measures them from Prometheus and
synthetic traffic, and judges them (``slo.run``)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.golive.core.plugins.module_utils.common.checks import failure_message, summarize
from ansible_collections.golive.core.plugins.module_utils.common.errors import InvalidInput
from ansible_collections.golive.core.plugins.module_utils.http import probe, transport
from ansible_collections.golive.core.plugins.module_utils.common.paths import resource_path
from ansible_collections.golive.core.plugins.module_utils.metrics import resources, slo
from ansible_collections.golive.core.plugins.module_utils.metrics.prometheus import Prometheus

HTTP_METRICS = slo.HTTP_METRICS
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")


def validate(objectives, traffic):
    if not objectives:
        raise InvalidInput("measure", "the objectives", "there are none: the gate would pass having measured nothing",
                           fix="Declare the objectives to measure")
    for objective in objectives:
        if not _NAME.match(objective["name"]):
            raise InvalidInput("use", "objective %r" % objective["name"],
                               "names are lower-case letters, digits, '.', '_' and '-'")
        if objective["source"] == "prometheus" and not objective.get("query"):
            raise InvalidInput("use", "objective %s" % objective["name"], "a prometheus objective needs a query")
        if objective["source"] == "http" and (not objective.get("metric") or not traffic):
            raise InvalidInput("use", "objective %s" % objective["name"], "an http objective needs a metric and traffic")
        workload = objective.get("workload") or {}
        if objective["source"] == "resources" and (not objective.get("resource") or not workload.get("name")
                                                   or not workload.get("namespace")):
            raise InvalidInput("use", "objective %s" % objective["name"],
                               "a resources objective needs resource and workload (namespace and name)")
        if objective.get("max") is None and objective.get("min") is None:
            raise InvalidInput("use", "objective %s" % objective["name"], "give max, min or both")


def resource_objectives(objectives, kube):
    """Resolve each ``resources`` objective: what its workload's containers declare, and the
    usage query of each container (the evidence shows both)."""
    for objective in objectives:
        if objective["source"] != "resources":
            continue
        workload = objective["workload"]
        kind = workload.get("kind") or "Deployment"
        if kind not in resources.KINDS:
            raise InvalidInput("use", "objective %s" % objective["name"],
                               "workload kind is one of %s" % ", ".join(sorted(resources.KINDS)))
        group_version, plural, _pattern = resources.KINDS[kind]
        found = kube.get(resource_path(group_version, plural, workload["namespace"], workload["name"]))
        against = objective.get("against") or "limits"
        amounts = resources.declared(found, objective["resource"], against)
        queries = dict((c, resources.usage_query(kind, workload["namespace"], workload["name"], c,
                                                 objective["resource"], objective.get("window") or "2m"))
                       for c in amounts)
        objective["resolved"] = {"amounts": amounts, "queries": queries}
        objective["evidence"] = {"workload": "%s %s/%s" % (kind, workload["namespace"], workload["name"]),
                                 "resource": objective["resource"], "against": against, "declared": amounts, "queries": queries}


SERIES_SHOWN = 10


def worst_series(samples, objective):
    """The value a query's answer is judged by, and the series it answered (pure).

    One series: its value. Several (a query ``by (service, route)``): the worst of them for
    the objective (the highest against a ``max``, the lowest against a ``min``), and the
    series themselves, worst first, the ones beyond the threshold named, so the evidence
    says which service or route it is. No series: None."""
    if not samples:
        return None, None
    if len(samples) == 1:
        return samples[0][1], None
    lowest = objective.get("max") is None and objective.get("min") is not None
    ordered = sorted(samples, key=lambda s: s[1], reverse=not lowest)
    shown = []
    for labels, value in ordered[:SERIES_SHOWN]:
        beyond = (objective.get("max") is not None and value > objective["max"]) or \
            (objective.get("min") is not None and value < objective["min"])
        shown.append({"series": ",".join("%s=%s" % kv for kv in sorted(labels.items())) or "{}",
                      "value": round(value, 6), "beyond": bool(beyond)})
    return ordered[0][1], {"count": len(samples), "worst_first": shown}


def evaluate(objectives, count, interval, traffic, prometheus_url, prometheus_token, deadline, fail_on_failed=True,
             kube=None):
    validate(objectives, traffic)
    resource_objectives(objectives, kube)
    prom = Prometheus(prometheus_url, prometheus_token) if any(
        o["source"] in ("prometheus", "resources") for o in objectives) else None
    resolver = context = None
    secrets = []
    if traffic:
        resolver = transport.Resolver(traffic.get("resolve"), traffic.get("dns_server"), traffic.get("dns_port"))
        context = transport.tls_context(traffic.get("ca_cert"))
    samples = []

    def measure(index, names):
        values = {}
        stats = None
        due = [o for o in objectives if o["name"] in names]
        if any(o["source"] == "http" for o in due):
            # A fresh resolver per measurement: traffic that follows DNS sees a cutover.
            fresh = transport.Resolver(resolver.fixed, resolver.dns_server, resolver.dns_port)
            answer = probe.run(traffic["requests"], fresh, context, deadline, traffic.get("count") or 20,
                               traffic.get("concurrency") or 4, traffic.get("request_timeout") or 10.0)
            secrets.extend(answer.pop("secrets"))
            stats = answer["overall"]
            samples.append({"round": index + 1, "overall": stats,
                            "addresses": sorted(set(e["address"] for e in answer["endpoints"] if e["address"]))})
        for objective in due:
            if objective["source"] == "http":
                values[objective["name"]] = slo.http_value(stats, objective["metric"])
            elif objective["source"] == "resources":
                usage = {}
                for container, query in objective["resolved"]["queries"].items():
                    found = prom.query(query, deadline)
                    usage[container] = found[0][1] if found else None
                values[objective["name"]], seen = resources.utilisation(objective["resolved"]["amounts"], usage)
                objective["evidence"].setdefault("ratios", []).append(seen["ratios"])
                if seen["undeclared"]:
                    objective["evidence"]["undeclared"] = seen["undeclared"]
            else:
                found = prom.query(objective["query"], deadline)
                values[objective["name"]], series = worst_series(found, objective)
                if series is not None:
                    objective.setdefault("evidence", {})["series"] = series
        return values

    result = slo.run(objectives, measure, count, interval, deadline)
    for entry in result["objectives"]:
        beyond = [s for s in (entry.get("series") or {}).get("worst_first") or [] if s["beyond"]]
        if beyond and entry["verdict"] != "passed":
            entry.setdefault("problems", []).append("beyond the threshold: %s" % ", ".join(
                "%s %g" % (s["series"], s["value"]) for s in beyond))
        if entry.get("undeclared") and entry["verdict"] != "passed":
            entry.setdefault("problems", []).append("container %s of %s declares no %s %s" % (
                ", ".join(entry["undeclared"]), entry["workload"], entry["resource"], entry["against"][:-1]))
    if samples:
        result["traffic"] = samples
    result["summary"] = summarize(result["checks"])
    if not result["passed"]:
        names = ", ".join("%s (%s)" % (o["name"], o["verdict"]) for o in result["objectives"] if o["verdict"] != "passed")
        message = failure_message(result["checks"], "objectives") or "objectives not passed: %s" % names
        if "inconclusive" in names and "inconclusive" not in message:
            message += "; inconclusive: %s" % names
        result["msg"] = message
        if fail_on_failed:
            result["failed"] = True
    return result

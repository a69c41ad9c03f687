# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Grafana dashboards as clusters ship them: JSON in ConfigMaps labelled for the Grafana
sidecar (``grafana_dashboard: "1"``, as kube-prometheus-stack does), one dashboard per
``*.json`` key.

Pure helpers: the dashboards a set of ConfigMaps holds (with the JSON errors of the keys
that do not parse), the Prometheus queries of a dashboard's panels (rows' panels included)
with Grafana's variables filled in, and the judgement of what Prometheus answered.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

# Grafana's built-in interval variables, as a dashboard shows them over the last hour.
BUILTINS = {"__rate_interval": "5m", "__interval": "1m", "__interval_ms": "60000", "__range": "1h",
            "__range_s": "3600", "__range_ms": "3600000"}
_VARIABLE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\[\[(\w+)\]\]|\$(\w+)")


def from_configmaps(configmaps):
    """``(dashboards, broken)``: ``{uid: {"configmap", "key", "title", "json"}}`` and
    ``[{"configmap", "key", "error"}]`` for the keys whose JSON does not parse."""
    found, broken = {}, []
    for cm in configmaps:
        meta = cm.get("metadata") or {}
        where = "%s/%s" % (meta.get("namespace"), meta.get("name"))
        for key, text in sorted((cm.get("data") or {}).items()):
            if not key.endswith(".json"):
                continue
            try:
                dashboard = json.loads(text)
            except ValueError as exc:
                broken.append({"configmap": where, "key": key, "error": str(exc)})
                continue
            if not isinstance(dashboard, dict):
                broken.append({"configmap": where, "key": key, "error": "not a JSON object"})
                continue
            uid = dashboard.get("uid") or key[:-len(".json")]
            found[uid] = {"configmap": where, "key": key, "title": dashboard.get("title"), "json": dashboard}
    return found, broken


def _panels(panels):
    for panel in panels or []:
        if not isinstance(panel, dict):
            continue
        if panel.get("type") == "row":
            yield from _panels(panel.get("panels"))
        else:
            yield panel


def _template_values(dashboard):
    values = {}
    for variable in ((dashboard.get("templating") or {}).get("list") or []):
        current = (variable.get("current") or {}).get("value")
        if isinstance(current, list):
            current = "|".join(str(v) for v in current)
        if variable.get("name") and current not in (None, "", "$__all"):
            values[variable["name"]] = str(current)
    return values


def fill(expr, values):
    """``expr`` with Grafana variables (``$name``, ``${name}``, ``[[name]]``) replaced; the
    names left unknown are returned too."""
    unknown = []

    def repl(match):
        name = match.group(1) or match.group(2) or match.group(3)
        if name in values:
            return values[name]
        unknown.append(name)
        return match.group(0)
    return _VARIABLE.sub(repl, expr), unknown


def queries(dashboard, variables=None):
    """``[{"panel", "ref", "expr", "unknown"}]``: each Prometheus target of each panel."""
    values = dict(BUILTINS)
    values.update(_template_values(dashboard))
    values.update(dict((k, str(v)) for k, v in (variables or {}).items()))
    found = []
    for panel in _panels(dashboard.get("panels")):
        for target in panel.get("targets") or []:
            expr = target.get("expr")
            if not isinstance(expr, str) or not expr.strip() or target.get("hide"):
                continue
            filled, unknown = fill(expr, values)
            found.append({"panel": panel.get("title") or "panel %s" % panel.get("id"),
                          "ref": target.get("refId") or "A", "expr": filled, "unknown": sorted(set(unknown))})
    return found


def judge(declared, dashboards, broken, answers, require_data=True):
    """Pure: ``(ok, evidence)`` over the declared UIDs. ``answers``: ``{uid: [{"panel", "ref",
    "expr", "series"|"error"|"unknown"}]}`` as queried."""
    problems, seen = [], []
    # A key that does not parse is the declared dashboard it is named after (``<uid>.json``);
    # others are listed, not judged (they are not this check's to declare).
    broken_by_uid = dict((item["key"][:-len(".json")], item) for item in broken)
    for uid in declared:
        board = dashboards.get(uid)
        if board is None and uid in broken_by_uid:
            item = broken_by_uid[uid]
            problems.append("dashboard %s (ConfigMap %s key %s) is not valid JSON: %s"
                            % (uid, item["configmap"], item["key"], item["error"]))
            continue
        if board is None:
            problems.append("dashboard %s is not in any labelled ConfigMap" % uid)
            continue
        results = answers.get(uid) or []
        empty = [r for r in results if not r.get("error") and not r.get("unknown") and not r.get("series")]
        failing = [r for r in results if r.get("error") or r.get("unknown")]
        for r in failing:
            problems.append("dashboard %s panel %r (%s): %s" % (
                uid, r["panel"], r["ref"], r.get("error") or "unknown variable %s" % ", ".join(r["unknown"])))
        if require_data:
            for r in empty:
                problems.append("dashboard %s panel %r (%s) has no data: %s" % (uid, r["panel"], r["ref"], r["expr"]))
        if not results:
            problems.append("dashboard %s has no Prometheus queries" % uid)
        seen.append({"uid": uid, "title": board.get("title"), "configmap": board["configmap"], "key": board["key"],
                     "queries": len(results), "with_data": sum(1 for r in results if r.get("series")),
                     "no_data": [r["panel"] for r in empty]})
    evidence = {"dashboards": seen}
    others = [item for uid, item in sorted(broken_by_uid.items()) if uid not in declared]
    if others:
        evidence["unparsed_elsewhere"] = ["ConfigMap %s key %s: %s" % (i["configmap"], i["key"], i["error"])
                                          for i in others]
    if problems:
        evidence["problems"] = problems
    return not problems, evidence

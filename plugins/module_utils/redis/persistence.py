# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ensure persistence settings on the master and its replicas.

``plan`` is pure (observed settings per node + desired settings -> steps). Applying
uses ``CONFIG SET`` and, when allowed, ``CONFIG REWRITE`` so the settings survive a
restart. Check mode stops after planning. Managed services often disable ``CONFIG``;
that is reported as a clear error, or skipped with evidence when asked to.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.golive.core.plugins.module_utils.common.checks import check, make_check, SKIP
from ansible_collections.golive.core.plugins.module_utils.common.errors import (
    PermissionDenied,
    PreconditionFailed,
    describe_exception,
)
from ansible_collections.golive.core.plugins.module_utils.common.retry import Deadline, wait_until
from ansible_collections.golive.core.plugins.module_utils.redis import connection as rds
from ansible_collections.golive.core.plugins.module_utils.redis.health import config_values

CHECKLIST = "Configure persistence"
PARAMETERS = ("appendonly", "appendfsync", "save")


def normalize(parameter, value):
    """The form Redis reports a value in, so that equal settings compare equal (pure)."""
    if value is None:
        return None
    if isinstance(value, bool):
        value = "yes" if value else "no"
    text = str(value).strip()
    if parameter == "save":
        return " ".join(text.split())
    return text.lower()


def desired_settings(appendonly=None, appendfsync=None, save=None):
    wanted = {"appendonly": appendonly, "appendfsync": appendfsync, "save": save}
    return dict((k, normalize(k, v)) for k, v in wanted.items() if v is not None)


def plan(observed, desired):
    """Steps that bring every node to ``desired``: ``[{node, parameter, before, after}]`` (pure).

    ``observed`` maps a node address to its current settings.
    """
    steps = []
    for node in sorted(observed):
        for parameter in PARAMETERS:
            if parameter not in desired:
                continue
            before = normalize(parameter, observed[node].get(parameter))
            if before != desired[parameter]:
                steps.append({"node": node, "parameter": parameter, "before": before,
                              "after": desired[parameter]})
    return steps


def _config_unavailable(exc):
    text = describe_exception(exc).lower()
    return "unknown command" in text or "noperm" in text or "no permissions" in text


def _nodes(server, include_replicas):
    client, address = rds.connect(server)
    nodes = [address]
    if include_replicas:
        nodes += rds.replica_addresses(client.info("replication"))
    return nodes


def run(server, desired, include_replicas=True, persist_config=False, on_config_unavailable="fail",
        timeout=300, check_mode=False):
    deadline = Deadline(timeout)
    try:
        nodes = _nodes(server, include_replicas)
    except rds.redis.RedisError as exc:
        raise rds.classify(exc, server, verb="inspect")
    observed = {}
    for node in nodes:
        try:
            observed[node] = config_values(rds.node(server, node), PARAMETERS)
        except rds.redis.ResponseError as exc:
            if not _config_unavailable(exc):
                raise rds.classify(exc, server, verb="read the configuration of")
            evidence = {"node": node, "answer": describe_exception(exc)}
            if on_config_unavailable == "skip":
                return {"changed": False, "nodes": nodes, "steps": [], "checks": [make_check(
                    "redis.persistence.ensured", "Persistence settings are as required", SKIP,
                    dict(evidence, reason="CONFIG is not available; persistence is managed elsewhere"),
                    CHECKLIST)]}
            raise PermissionDenied(
                "read", "the configuration of Redis at %s" % node,
                "CONFIG is disabled or not permitted (%s)" % evidence["answer"],
                fix="Managed services disable CONFIG: set persistence through the provider, "
                    "or set on_config_unavailable=skip")
        except rds.redis.RedisError as exc:
            raise rds.classify(exc, server, verb="read the configuration of")
    steps = plan(observed, desired)
    before = dict((node, dict((p, normalize(p, v)) for p, v in values.items())) for node, values in observed.items())
    after = dict((node, dict(values, **desired)) for node, values in before.items())
    result = {"changed": bool(steps), "nodes": nodes, "steps": steps, "diff": {"before": before, "after": after},
              "undo": {"action": "config_set", "nodes": {}}}
    for step in steps:
        result["undo"]["nodes"].setdefault(step["node"], {})[step["parameter"]] = step["before"]
    if check_mode or not steps:
        result["checks"] = [check("redis.persistence.ensured", "Persistence settings are as required", True,
                                  {"nodes": nodes, "pending_changes": len(steps), "check_mode": check_mode,
                                   "settings": before}, CHECKLIST)]
        return result
    applied = []
    for node in sorted(set(step["node"] for step in steps)):
        client = rds.node(server, node)
        pairs = [(s["parameter"], s["after"]) for s in steps if s["node"] == node]
        try:
            for parameter, value in pairs:
                client.config_set(parameter, value)
                applied.append({"node": node, "parameter": parameter})
            if dict(pairs).get("appendonly") == "yes":
                wait_until(lambda: _aof_ready(client), deadline, "the AOF rewrite on %s to finish" % node)
            if persist_config:
                client.config_rewrite()
        except rds.redis.ResponseError as exc:
            result["applied"] = applied
            text = describe_exception(exc)
            if "config file" in text.lower() or _config_unavailable(exc):
                raise PreconditionFailed(
                    "persist", "the configuration of Redis at %s" % node, text,
                    fix="The settings are live but will not survive a restart; set them in the server's "
                        "configuration or through the provider, or set persist_config=false", result=result)
            raise rds.classify(exc, server, verb="change the configuration of")
        except rds.redis.RedisError as exc:
            raise rds.classify(exc, server, verb="change the configuration of")
    result["applied"] = applied
    result["persisted"] = bool(persist_config)
    now = {}
    for node in nodes:
        now[node] = dict((p, normalize(p, v)) for p, v in config_values(rds.node(server, node), PARAMETERS).items())
    remaining = plan(now, desired)
    result["checks"] = [check("redis.persistence.ensured", "Persistence settings are as required", not remaining,
                              {"nodes": nodes, "settings": now, "persisted": bool(persist_config),
                               "still_different": remaining}, CHECKLIST)]
    return result


def _aof_ready(client):
    info = client.info("persistence")
    observed = {"aof_enabled": info.get("aof_enabled"), "aof_rewrite_in_progress": info.get("aof_rewrite_in_progress"),
                "aof_rewrite_scheduled": info.get("aof_rewrite_scheduled"),
                "aof_last_bgrewrite_status": info.get("aof_last_bgrewrite_status")}
    done = str(info.get("aof_enabled")) == "1" and str(info.get("aof_rewrite_in_progress")) == "0" \
        and str(info.get("aof_rewrite_scheduled")) == "0"
    return done, observed

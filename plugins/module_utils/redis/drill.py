# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A real failover drill through Sentinel.

Write a marker on the master and wait until a replica has it, ask a Sentinel for a
failover, measure the time until the new master accepts writes, check the marker
survived, and wait until the old master is back as a replica of the new one and every
Sentinel agrees. Running the drill again fails back (with one replica, to the old master).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import time

from ansible_collections.golive.core.plugins.module_utils.common.checks import check
from ansible_collections.golive.core.plugins.module_utils.common.errors import (
    GoliveError,
    InvalidInput,
    PreconditionFailed,
    Refused,
    describe_exception,
)
from ansible_collections.golive.core.plugins.module_utils.common.retry import Deadline, wait_until
from ansible_collections.golive.core.plugins.module_utils.redis import connection as rds

CHECKLIST = "Test failover scenarios"
_RETRY_ANSWERS = ("NOGOODSLAVE", "INPROG")


def sentinel_masters(sentinels, name):
    """``{sentinel address: master address or None}`` as each Sentinel reports it now."""
    view = {}
    for address, client in sentinels:
        try:
            host, port = client.sentinel_get_master_addr_by_name(name)
            view[address] = "%s:%s" % (host, port)
        except (rds.redis.RedisError, TypeError, ValueError):
            view[address] = None
    return view


def agreed_master(view, quorum):
    """The master a quorum of the Sentinels reports, or ``None`` (pure)."""
    counts = {}
    for master in view.values():
        if master:
            counts[master] = counts.get(master, 0) + 1
    best = sorted(counts.items(), key=lambda item: -item[1])
    if best and best[0][1] >= quorum and (len(best) == 1 or best[1][1] < best[0][1]):
        return best[0][0]
    return None


def eligible_replicas(client, name):
    """Replicas a Sentinel would promote: link up, not down or disconnected, priority > 0."""
    good = []
    for replica in client.sentinel_slaves(name):
        flags = set(str(replica.get("flags", "")).split(","))
        if flags - {"slave"} or replica.get("master-link-status") != "ok":
            continue
        if int(replica.get("slave-priority", replica.get("replica-priority", 100)) or 0) <= 0:
            continue
        good.append(replica["name"])
    return good


def _quorum(sentinels, name):
    for _address, client in sentinels:
        try:
            return int(client.sentinel_master(name).get("quorum", 1))
        except rds.redis.RedisError:
            continue
    return len(sentinels) // 2 + 1


def _request_failover(sentinels, name, deadline):
    """Ask Sentinels in turn until one starts a failover; return ``(sentinel, started_monotonic)``."""
    answers = {}

    def attempt():
        for address, client in sentinels:
            try:
                if not eligible_replicas(client, name):
                    answers[address] = "no eligible replica yet"
                    continue
                started = time.monotonic()
                client.execute_command("SENTINEL", "FAILOVER", name)
                return True, (address, started)
            except rds.redis.ResponseError as exc:
                answers[address] = describe_exception(exc)
                if not any(word in answers[address] for word in _RETRY_ANSWERS):
                    raise GoliveError("request", "a failover of %r from Sentinel %s" % (name, address),
                                      answers[address])
            except rds.redis.RedisError as exc:
                answers[address] = describe_exception(exc)
        return False, dict(answers)

    return wait_until(attempt, deadline.child(max(5.0, deadline.remaining() / 2)),
                      "a Sentinel to accept the failover of %r" % name, interval=0.2, maximum=1.0)


def _write_probe(server, address, key, value):
    try:
        client = rds.node(server, address)
        client.set(key, value, ex=3600)
        return True
    except rds.redis.RedisError:
        return False


def _rejoined(server, old, new):
    try:
        info = rds.node(server, old).info("replication")
    except rds.redis.RedisError as exc:
        return False, {"error": describe_exception(exc)}
    observed = {"role": info.get("role"), "master": "%s:%s" % (info.get("master_host"), info.get("master_port")),
                "master_link_status": info.get("master_link_status")}
    return (observed["role"] == "slave" and observed["master"] == new
            and observed["master_link_status"] == "up"), observed


def plan(view, quorum, master_info, allow_drill):
    """What a drill would do, and why it cannot start (pure). Returns ``(plan, problems)``."""
    old = agreed_master(view, quorum)
    replicas = [r for r in master_info.get("replicas", []) if r.get("state") == "online"]
    problems = []
    if not allow_drill:
        problems.append("drills are not allowed for this inventory (allow_drill is false)")
    if old is None:
        problems.append("the Sentinels do not agree on a master (%s)" % view)
    if not replicas:
        problems.append("the master has no online replica to promote")
    return {"master": old, "replicas": [r["address"] for r in replicas], "sentinels": view,
            "quorum": quorum}, problems


def run(server, allow_drill, max_downtime, timeout, marker_key, marker_ttl, check_mode):
    name = server.master_name
    if not server.sentinels:
        raise InvalidInput("run", "a failover drill", "redis_sentinels is not set",
                           fix="A drill goes through Sentinel; set redis_sentinels and redis_master_name")
    if not allow_drill:
        raise Refused("run", "a failover drill of Redis master %r" % name,
                      "this inventory does not allow drills (allow_drill is false)",
                      fix="Set allow_drill (golive_allow_drills) to true only where a failover is acceptable")
    deadline = Deadline(timeout)
    answers = rds.ask_sentinels(server, name)
    problem = rds.discovery_problem(answers, name)
    if problem:
        # Unreachable Sentinels and an unknown master name are told apart, in one line.
        raise PreconditionFailed("start", "a failover drill of Redis master %r" % name, problem[0], fix=problem[1])
    sentinels = rds.sentinel_nodes(server)
    quorum = _quorum(sentinels, name)
    view = dict((a["address"], a["master"]) for a in answers)
    master_info = {"replicas": []}
    old = agreed_master(view, quorum)
    if old:
        try:
            info = rds.node(server, old).info("replication")
        except rds.redis.RedisError as exc:
            raise rds.classify(exc, server, verb="inspect")
        master_info["replicas"] = rds.replica_entries(info)
    steps, problems = plan(view, quorum, master_info, allow_drill)
    result = {"changed": True, "plan": steps, "old_master": old, "max_downtime": max_downtime}
    if problems:
        raise PreconditionFailed("start", "a failover drill of Redis master %r" % name, "; ".join(problems),
                                 result=dict(result, changed=False))
    if check_mode:
        result["msg"] = "Would fail over %r from %s to one of %s" % (name, old, ", ".join(steps["replicas"]))
        return result

    drill_id = "%s-%s" % (time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()), os.urandom(3).hex())
    master = rds.node(server, old)
    try:
        master.set(marker_key, drill_id, ex=marker_ttl)
        acked = master.wait(1, int(min(5.0, deadline.remaining()) * 1000))
    except rds.redis.RedisError as exc:
        raise rds.classify(exc, server, verb="write the drill marker to")
    result.update({"drill_id": drill_id, "marker_key": marker_key, "marker_replicas_acked": acked})
    if acked < 1:
        raise PreconditionFailed("start", "a failover drill of Redis master %r" % name,
                                 "no replica acknowledged the marker within 5s", result=result)

    asked, started = _request_failover(sentinels, name, deadline)
    result["asked_sentinel"] = asked

    def switched():
        current = sentinel_masters(sentinels, name)
        new = agreed_master(current, quorum)
        return bool(new and new != old), current

    try:
        switched_view = wait_until(switched, deadline, "the Sentinels to report a new master of %r" % name,
                                   interval=0.05, maximum=0.25)
        new = agreed_master(switched_view, quorum)
        result["new_master"] = new
        result["switch_seconds"] = round(time.monotonic() - started, 3)
        wait_until(lambda: _write_probe(server, new, marker_key + ":write", drill_id), deadline,
                   "the new master %s to accept writes" % new, interval=0.02, maximum=0.1)
        downtime = round(time.monotonic() - started, 3)
        result["downtime_seconds"] = downtime
        marker = rds.node(server, new).get(marker_key)
        rejoined = wait_until(lambda: _rejoined(server, old, new), deadline,
                              "the old master %s to rejoin as a replica of %s" % (old, new), interval=0.2)
        result["rejoin_seconds"] = round(time.monotonic() - started, 3)

        def settled():
            current = sentinel_masters(sentinels, name)
            ready = [a for a, c in sentinels if old in eligible_replicas(c, name)]
            return all(m == new for m in current.values()) and len(ready) == len(sentinels), \
                {"masters": current, "sentinels_listing_old_master_as_replica": ready}

        final_view = wait_until(settled, deadline, "every Sentinel to report %s with %s as its replica"
                                % (new, old), interval=0.2)
        result["settle_seconds"] = round(time.monotonic() - started, 3)
    except GoliveError as exc:
        exc.result = dict(result, **exc.result)
        raise
    except rds.redis.RedisError as exc:
        raise rds.classify(exc, server, verb="follow the failover of")

    result["sentinels_after"] = final_view
    result["checks"] = [
        check("redis.drill.failover", "Sentinel failed over to a new master", new != old,
              {"old_master": old, "new_master": new, "sentinels": final_view["masters"],
               "switch_seconds": result["switch_seconds"]}, CHECKLIST),
        check("redis.drill.marker", "The marker written before the failover survived",
              marker == drill_id, {"key": marker_key, "found": marker == drill_id}, CHECKLIST),
        check("redis.drill.old_master_rejoined", "The old master came back as a replica of the new one",
              True, dict(rejoined, old_master=old), CHECKLIST),
        check("redis.drill.downtime", "Writes resumed within the allowed downtime", downtime <= max_downtime,
              {"downtime_seconds": downtime, "max_downtime_seconds": max_downtime}, CHECKLIST),
    ]
    result["undo"] = {"action": "failover", "master_name": name, "previous_master": old,
                      "how": "run the drill again to fail back"}
    return result

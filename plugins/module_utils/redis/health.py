# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Redis health: observe a deployment (master, replicas, Sentinels), then judge it.

``observe`` talks to the servers and returns plain data; ``evaluate`` is pure and turns
observations plus limits into checks, so every rule is unit-tested with tables.
Observations never hold a secret: configuration is read parameter by parameter, and
``requirepass``/``masterauth`` are never asked for.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.golive.core.plugins.module_utils.common.checks import FAIL, PASS, SKIP, WARN, check, make_check
from ansible_collections.golive.core.plugins.module_utils.common.errors import describe_exception
from ansible_collections.golive.core.plugins.module_utils.redis import connection as rds
from ansible_collections.golive.core.plugins.module_utils.redis import tls as redis_tls

DEPLOYED = "Redis deployed and healthy"
PERSISTENCE = "Persistence enabled"
SECURITY = "Security (password) configured"

CONFIG_PARAMETERS = ("appendonly", "appendfsync", "save", "protected-mode", "maxmemory",
                     "maxmemory-policy", "dir", "dbfilename")
PERSISTENCE_FIELDS = ("loading", "rdb_changes_since_last_save", "rdb_bgsave_in_progress",
                      "rdb_last_save_time", "rdb_last_bgsave_status", "aof_enabled",
                      "aof_rewrite_in_progress", "aof_last_bgrewrite_status", "aof_last_write_status")

STATS_FIELDS = ("keyspace_hits", "keyspace_misses", "evicted_keys", "expired_keys", "rejected_connections")
DEFAULT_LIMITS = {
    "expected_role": "master",
    "require_persistence": "any",
    "max_save_age": 86400,
    "min_replicas": 0,
    "max_replica_lag_bytes": 1048576,
    "require_maxmemory": False,
    "maxmemory_policies": [],
    "restricted_commands": [],
    "restricted_for_users": ["default"],
    "require_tls": False,
}


def _ms(started):
    return round((time.monotonic() - started) * 1000.0, 1)


def config_values(client, names=CONFIG_PARAMETERS):
    """``{name: value}`` of the named parameters, or raise the redis error (CONFIG disabled)."""
    values = {}
    for name in names:
        values.update(client.config_get(name))
    return dict((name, values.get(name)) for name in names)


def _anonymous_answer(server, address):
    """Whether a client without credentials is refused by the node at ``address``."""
    try:
        rds.anonymous_node(server, address).ping()
        return {"required": False, "answer": "PONG"}
    except rds.redis.AuthenticationError as exc:
        return {"required": True, "answer": describe_exception(exc)}
    except rds.redis.ResponseError as exc:
        text = describe_exception(exc)
        return {"required": "noauth" in text.lower() or "auth" in text.lower(), "answer": text}
    except rds.redis.RedisError as exc:
        return {"required": None, "answer": describe_exception(exc)}


def raw_command(client, *args):
    """Send one command and return the reply unparsed (redis-py has no parser for some replies)."""
    conn = client.connection_pool.get_connection()
    try:
        conn.send_command(*args)
        return conn.read_response()
    finally:
        client.connection_pool.release(conn)


def _text(value):
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _dryrun_argvs(name, info):
    """Argument lists that exercise ``name`` (each subcommand of a container) with a legal arity."""
    def padding(arity, used):
        return ["x"] * max(0, (arity if arity > 0 else -arity) - used)

    subcommands = info[9] if len(info) > 9 and info[9] else []
    if subcommands:
        return [[name] + _text(sub[0]).split("|", 1)[1:] + padding(int(sub[1]), 2) for sub in subcommands]
    return [[name] + padding(int(info[1]), 1)]


def _command_restrictions(client, commands, users):
    observed = {}
    for name in [c.lower() for c in commands]:
        entry = {"renamed_or_disabled": None, "allowed_for": {}}
        try:
            reply = raw_command(client, "COMMAND", "INFO", name)
            info = reply[0] if reply else None
            entry["renamed_or_disabled"] = info is None
        except rds.redis.RedisError as exc:
            entry["error"] = describe_exception(exc)
            info = None
        for user in users if info is not None else []:
            try:
                answers = [_text(raw_command(client, "ACL", "DRYRUN", user, *argv))
                           for argv in _dryrun_argvs(name, info)]
                entry["allowed_for"][user] = any(a == "OK" for a in answers)
            except rds.redis.RedisError as exc:
                entry["allowed_for"][user] = None
                entry.setdefault("acl_errors", {})[user] = describe_exception(exc)
        observed[name.upper()] = entry
    return observed


def _sentinel_view(server):
    views = []
    name = server.master_name
    for address, client in rds.sentinel_nodes(server):
        view = {"address": address, "reachable": False}
        try:
            master = client.sentinel_master(name)
            view.update({
                "reachable": True,
                "master": "%s:%s" % (master.get("ip"), master.get("port")),
                "flags": master.get("flags"),
                "quorum": int(master.get("quorum", 0)),
                "known_sentinels": int(master.get("num-other-sentinels", 0)) + 1,
                "known_replicas": int(master.get("num-slaves", 0)),
            })
            try:
                view["ckquorum"] = str(client.execute_command("SENTINEL", "CKQUORUM", name))
                view["quorum_ok"] = True
            except rds.redis.ResponseError as exc:
                view["ckquorum"] = describe_exception(exc)
                view["quorum_ok"] = False
        except rds.redis.RedisError as exc:
            view["error"] = rds.brief(exc)
        views.append(view)
    return views


def observe(server, restricted_commands=(), restricted_for_users=("default",), require_tls=False):
    """Read everything the checks need from the master, its replicas and the Sentinels."""
    started = time.monotonic()
    client, address = rds.connect(server)
    obs = {"address": address, "via_sentinel": bool(server.sentinels), "now": int(time.time())}
    try:
        info = client.info("server")
        obs["server"] = {"redis_version": info.get("redis_version"), "redis_mode": info.get("redis_mode"),
                         "uptime_in_seconds": info.get("uptime_in_seconds")}
        obs["latency_ms"] = _ms(started)
        replication = client.info("replication")
        obs["replication"] = {
            "role": replication.get("role"),
            "connected_replicas": int(replication.get("connected_slaves", 0) or 0),
            "master_repl_offset": int(replication.get("master_repl_offset", 0) or 0),
            "replicas": [],
        }
        obs["replication"]["replicas"] = rds.replica_entries(replication)
        obs["replication"]["snapshot_transfers"] = rds.snapshot_transfers(replication)
        persistence = client.info("persistence")
        obs["persistence"] = dict((k, persistence.get(k)) for k in PERSISTENCE_FIELDS)
        stats = client.info("stats")
        obs["stats"] = dict((k, int(stats.get(k) or 0)) for k in STATS_FIELDS)
        memory = client.info("memory")
        obs["memory"] = {"used_memory": memory.get("used_memory"), "maxmemory": memory.get("maxmemory"),
                         "maxmemory_policy": memory.get("maxmemory_policy")}
        try:
            obs["config"] = config_values(client)
        except rds.redis.ResponseError as exc:
            obs["config"] = None
            obs["config_error"] = describe_exception(exc)
        obs["commands"] = _command_restrictions(client, restricted_commands, restricted_for_users)
        if require_tls:
            obs["tls"] = redis_tls.observe(server, client, address,
                                           [r["address"] for r in obs["replication"]["replicas"]])
    except rds.redis.RedisError as exc:
        raise rds.classify(exc, server, verb="inspect")
    nodes = [address] + [r["address"] for r in obs["replication"]["replicas"]]
    obs["auth"] = dict((node, _anonymous_answer(server, node)) for node in nodes)
    obs["sentinels"] = _sentinel_view(server) if server.sentinels else []
    return obs


# -- evaluation (pure) --------------------------------------------------------------

def _save_points(value):
    return (value or "").strip()


def evaluate(obs, limits=None):
    """Turn observations into checks. Pure: depends only on its arguments."""
    lim = dict(DEFAULT_LIMITS)
    lim.update(dict((k, v) for k, v in (limits or {}).items() if v is not None))
    checks = [
        check("redis.ping", "Redis answers PING", True,
              dict(address=obs["address"], latency_ms=obs.get("latency_ms"), **obs.get("server", {})), DEPLOYED),
    ]
    role = obs["replication"]["role"]
    checks.append(check(
        "redis.role", "Redis has the expected role",
        lim["expected_role"] in ("any", role) or (lim["expected_role"] == "replica" and role == "slave"),
        {"role": role, "expected": lim["expected_role"], "via_sentinel": obs.get("via_sentinel")}, DEPLOYED))
    checks.extend(_persistence_checks(obs, lim))
    checks.extend(_security_checks(obs, lim))
    checks.append(_memory_check(obs, lim))
    checks.append(_replication_check(obs, lim))
    checks.extend(_sentinel_checks(obs))
    if lim["require_tls"]:
        checks.append(redis_tls.judge(obs.get("tls") or []))
    if lim.get("min_hit_ratio") is not None:
        checks.append(_hit_ratio_check(obs, lim))
    return checks


def _hit_ratio_check(obs, lim):
    """Keyspace hits over hits and misses since the statistics were last reset (INFO stats)."""
    stats = obs.get("stats") or {}
    hits, misses = stats.get("keyspace_hits", 0), stats.get("keyspace_misses", 0)
    lookups = hits + misses
    evidence = dict(stats, lookups=lookups, min_hit_ratio=lim["min_hit_ratio"],
                    min_lookups=lim.get("min_hit_lookups") or 0,
                    uptime_in_seconds=(obs.get("server") or {}).get("uptime_in_seconds"))
    title = "The cache's hit ratio is at least the threshold (INFO stats)"
    item = "Cache Performance - Cache hit rates acceptable"
    if lookups < (lim.get("min_hit_lookups") or 1):
        return make_check("redis.hit_ratio", title, SKIP,
                          dict(evidence, reason="%d lookups since the statistics were reset: too few to judge" % lookups),
                          item)
    ratio = hits / float(lookups)
    evidence["hit_ratio"] = round(ratio, 4)
    if ratio < lim["min_hit_ratio"]:
        evidence["problems"] = ["hit ratio %.1f%% (%d hits, %d misses), at least %.1f%%"
                                % (100 * ratio, hits, misses, 100 * lim["min_hit_ratio"])]
    return check("redis.hit_ratio", title, ratio >= lim["min_hit_ratio"], evidence, item)


def _persistence_checks(obs, lim):
    cfg = obs.get("config") or {}
    pers = obs["persistence"]
    aof = str(pers.get("aof_enabled")) in ("1", "True", "true")
    save = _save_points(cfg.get("save")) if obs.get("config") is not None else None
    rdb = bool(save) if save is not None else None
    wanted = lim["require_persistence"]
    ok = {"any": aof or bool(rdb), "aof": aof, "rdb": bool(rdb), "both": aof and bool(rdb), "none": True}[wanted]
    configured = check("redis.persistence.configured", "AOF and/or RDB persistence is configured", ok, {
        "aof_enabled": aof, "appendfsync": cfg.get("appendfsync"), "rdb_save_points": save,
        "required": wanted}, PERSISTENCE)
    statuses = {"rdb_last_bgsave_status": pers.get("rdb_last_bgsave_status"),
                "aof_last_write_status": pers.get("aof_last_write_status"),
                "aof_last_bgrewrite_status": pers.get("aof_last_bgrewrite_status")}
    status = check("redis.persistence.status", "The last RDB save and AOF write succeeded",
                   all(v in (None, "ok") for v in statuses.values()), statuses, PERSISTENCE)
    last = int(pers.get("rdb_last_save_time") or 0)
    age = max(0, int(obs["now"]) - last) if last else None
    changes = int(pers.get("rdb_changes_since_last_save") or 0)
    evidence = {"last_save_age_seconds": age, "changes_since_last_save": changes,
                "max_save_age_seconds": lim["max_save_age"], "rdb_save_points": save}
    if rdb is False and aof:
        age_check = make_check("redis.persistence.last_save_age", "The last RDB save is recent enough",
                               SKIP, dict(evidence, reason="RDB save points are off; AOF persists writes"),
                               PERSISTENCE)
    else:
        # An old snapshot only matters when something changed since it was taken.
        age_check = check("redis.persistence.last_save_age", "The last RDB save is recent enough",
                          age is not None and (age <= lim["max_save_age"] or changes == 0), evidence, PERSISTENCE)
    return [configured, status, age_check]


def _security_checks(obs, lim):
    checks = []
    auth = obs.get("auth") or {}
    open_nodes = sorted(node for node, a in auth.items() if a.get("required") is False)
    unknown = sorted(node for node, a in auth.items() if a.get("required") is None)
    evidence = {"nodes": dict((node, {"password_required": a.get("required"), "answer": a.get("answer")})
                              for node, a in sorted(auth.items()))}
    checks.append(check("redis.security.password", "Clients without a password are refused",
                        False if open_nodes else (None if unknown else True),
                        dict(evidence, open_nodes=open_nodes), SECURITY))
    cfg = obs.get("config")
    if cfg is None:
        checks.append(make_check("redis.security.protected_mode", "Protected mode or a password guards the server",
                                 SKIP, {"reason": obs.get("config_error")}, SECURITY))
    else:
        protected = cfg.get("protected-mode") == "yes"
        checks.append(check(
            "redis.security.protected_mode", "Protected mode or a password guards the server",
            protected or (bool(auth) and not open_nodes),
            {"protected_mode": cfg.get("protected-mode"), "password_required_everywhere": not open_nodes},
            SECURITY))
    commands = obs.get("commands") or {}
    if not lim["restricted_commands"]:
        checks.append(make_check("redis.security.commands", "Dangerous commands are renamed or ACL-restricted",
                                 SKIP, {"reason": "no restricted_commands configured"}, SECURITY))
    else:
        exposed = {}
        for name in [c.upper() for c in lim["restricted_commands"]]:
            entry = commands.get(name, {})
            if entry.get("renamed_or_disabled"):
                continue
            allowed = [u for u, ok in sorted(entry.get("allowed_for", {}).items()) if ok is not False]
            if allowed:
                exposed[name] = allowed
        checks.append(check("redis.security.commands", "Dangerous commands are renamed or ACL-restricted",
                            not exposed, {"exposed": exposed, "observed": commands}, SECURITY))
    return checks


def _memory_check(obs, lim):
    mem = obs.get("memory") or {}
    maxmemory = int(mem.get("maxmemory") or 0)
    policy = mem.get("maxmemory_policy")
    used = int(mem.get("used_memory") or 0)
    evidence = {"maxmemory": maxmemory, "maxmemory_policy": policy, "used_memory": used,
                "used_percent": round(100.0 * used / maxmemory, 1) if maxmemory else None,
                "allowed_policies": lim["maxmemory_policies"]}
    policy_ok = not lim["maxmemory_policies"] or policy in lim["maxmemory_policies"]
    if not maxmemory:
        if not policy_ok:
            return check("redis.memory", "maxmemory and its eviction policy are set as required", False,
                         evidence, DEPLOYED)
        return make_check("redis.memory", "maxmemory and its eviction policy are set as required",
                          "fail" if lim["require_maxmemory"] else WARN,
                          dict(evidence, reason="maxmemory is 0 (unlimited)"), DEPLOYED)
    return check("redis.memory", "maxmemory and its eviction policy are set as required", policy_ok,
                 evidence, DEPLOYED)


def _replication_check(obs, lim):
    rep = obs["replication"]
    master_offset = rep.get("master_repl_offset", 0)
    replicas = []
    lagging = []
    for r in rep.get("replicas", []):
        lag = max(0, master_offset - int(r.get("offset") or 0))
        replicas.append({"address": r["address"], "state": r.get("state"), "offset_lag_bytes": lag,
                         "ack_lag_seconds": r.get("lag")})
        if r.get("state") != "online" or lag > lim["max_replica_lag_bytes"]:
            lagging.append(r["address"])
    healthy = len(replicas) - len(lagging)
    evidence = {"role": rep.get("role"), "connected_replicas": rep.get("connected_replicas"), "replicas": replicas,
                "healthy_replicas": healthy, "min_replicas": lim["min_replicas"],
                "max_replica_lag_bytes": lim["max_replica_lag_bytes"], "lagging_or_syncing": lagging,
                "snapshot_transfers": rep.get("snapshot_transfers", 0)}
    title = "Enough replicas are connected and in sync"
    if healthy < lim["min_replicas"]:
        return make_check("redis.replication", title, "fail", evidence, DEPLOYED)
    return make_check("redis.replication", title, WARN if lagging else "pass", evidence, DEPLOYED)


def _sentinel_checks(obs):
    views = obs.get("sentinels") or []
    if not views:
        return [make_check("redis.sentinel", "Sentinels agree on the master and reach quorum", SKIP,
                           {"reason": "no redis_sentinels configured"}, DEPLOYED)]
    reachable = [v for v in views if v.get("reachable")]
    quorum = max([v.get("quorum", 0) for v in reachable] or [0])
    masters = sorted(set(v.get("master") for v in reachable))
    base = {"configured": len(views), "reachable": len(reachable), "quorum": quorum}

    def per_sentinel(*keys):
        return [dict((k, v.get(k)) for k in ("address",) + keys if v.get(k) is not None) for v in views]

    unreachable = [v["address"] for v in views if not v.get("reachable")]
    if unreachable:
        base["unreachable"] = unreachable
    quorum_ok = bool(reachable) and len(reachable) >= quorum and all(v.get("quorum_ok") for v in reachable)
    agree = len(masters) == 1 and masters[0] == obs["address"]
    expected_replicas = len(obs["replication"].get("replicas", []))
    known_ok = bool(reachable) and all(v.get("known_sentinels", 0) >= len(views) and v.get("known_replicas", 0)
                                       >= expected_replicas for v in reachable)
    down = [v["address"] for v in reachable if "down" in str(v.get("flags", ""))]

    def verdict(ok):
        # A Sentinel that does not answer weakens every conclusion drawn from the others:
        # a warning naming it while the rest still pass (and hold a quorum), never a pass.
        if not ok:
            return FAIL
        return WARN if unreachable else PASS

    return [
        make_check("redis.sentinel.quorum", "A quorum of Sentinels is reachable and can authorise a failover",
                   verdict(quorum_ok), dict(base, sentinels=per_sentinel("reachable", "ckquorum", "error")),
                   DEPLOYED),
        make_check("redis.sentinel.agreement", "Every Sentinel reports the same master, the one in use",
                   verdict(agree and not down), dict(base, masters_reported=masters, connected_master=obs["address"],
                                                     master_flagged_down_by=down,
                                                     sentinels=per_sentinel("master", "flags")), DEPLOYED),
        make_check("redis.sentinel.topology", "Sentinels know each other and every replica", verdict(known_ok),
                   dict(base, expected_sentinels=len(views), expected_replicas=expected_replicas,
                        sentinels=per_sentinel("known_sentinels", "known_replicas")), DEPLOYED),
    ]


def run(server, limits):
    """Observe and evaluate; the module's one service call."""
    lim = dict(DEFAULT_LIMITS)
    lim.update(dict((k, v) for k, v in (limits or {}).items() if v is not None))
    obs = observe(server, lim["restricted_commands"], lim["restricted_for_users"], lim["require_tls"])
    checks = evaluate(obs, lim)
    result = {"changed": False, "checks": checks, "master": obs["address"],
              "redis_version": obs["server"].get("redis_version"), "role": obs["replication"]["role"]}
    return result

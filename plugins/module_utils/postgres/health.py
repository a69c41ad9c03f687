# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read-only health of a PostgreSQL deployment, as checks with evidence.

Observations are gathered first (``observe_*``), then judged by pure functions
(``judge_*``) that the unit tests drive with tables.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.golive.core.plugins.module_utils.common import clock
from ansible_collections.golive.core.plugins.module_utils.common.checks import FAIL, PASS, SKIP, check, make_check
from ansible_collections.golive.core.plugins.module_utils.common.errors import GoliveError
from ansible_collections.golive.core.plugins.module_utils.common.retry import Deadline
from ansible_collections.golive.core.plugins.module_utils.postgres import connection as pg
from ansible_collections.golive.core.plugins.module_utils.postgres import tls as pgtls

HEALTHY = "PostgreSQL deployed and healthy"
POOLING = "Connection pooling configured"
BACKUPS = "Backup strategy validated"
HA = "High availability configured"


# -- judging (pure) ----------------------------------------------------------------

def judge_server(server, expect_role="any"):
    role = "replica" if server["in_recovery"] else "primary"
    ok = expect_role in ("any", role)
    return check("pg.server", "PostgreSQL answers as the expected role", ok,
                 {"server_version": server["server_version"], "role": role, "expected_role": expect_role,
                  "database": server["database"], "uptime_seconds": server.get("uptime_seconds")}, HEALTHY)


def judge_connections(conns, min_headroom_percent=20.0):
    usable = conns["max_connections"] - conns["reserved"]
    free = usable - conns["used"]
    percent = round(100.0 * free / usable, 1) if usable > 0 else 0.0
    return check("pg.connections", "Connection headroom against max_connections",
                 percent >= min_headroom_percent,
                 {"max_connections": conns["max_connections"], "reserved": conns["reserved"],
                  "used": conns["used"], "free": free, "headroom_percent": percent,
                  "min_headroom_percent": min_headroom_percent}, HEALTHY)


def judge_replication(server, replicas, min_replicas=1, max_lag_bytes=None, max_lag_seconds=None):
    """On a primary: enough streaming replicas, each under the lag limits."""
    if server["in_recovery"]:
        lag = server.get("replay_lag_bytes")
        ok = server.get("wal_receiver") == "streaming" and (max_lag_bytes is None or (lag or 0) <= max_lag_bytes)
        return check("pg.replication", "This replica streams from its primary within the lag limit", ok,
                     {"role": "replica", "wal_receiver": server.get("wal_receiver"), "lag_bytes": lag,
                      "max_lag_bytes": max_lag_bytes}, HA)
    streaming = [r for r in replicas if r["state"] == "streaming"]
    too_far = [r["name"] for r in streaming
               if (max_lag_bytes is not None and (r["lag_bytes"] or 0) > max_lag_bytes)
               or (max_lag_seconds is not None and (r["lag_seconds"] or 0) > max_lag_seconds)]
    ok = len(streaming) >= min_replicas and not too_far
    return check("pg.replication", "Replicas stream from the primary within the lag limits", ok,
                 {"connected_replicas": len(replicas), "streaming_replicas": len(streaming),
                  "min_replicas": min_replicas, "max_lag_bytes": max_lag_bytes, "max_lag_seconds": max_lag_seconds,
                  "lagging": too_far,
                  "replicas": [dict((k, r[k]) for k in ("name", "address", "state", "sync_state", "lag_bytes",
                                                        "lag_seconds", "slot")) for r in replicas]}, HA)


def judge_pgbouncer(bouncer, database=None, expect_pool_mode=None, max_waiting=None):
    if bouncer.get("error"):
        return check("pg.pgbouncer", "PgBouncer answers with its pool settings", False,
                     {"address": bouncer["address"], "error": bouncer["error"]}, POOLING)
    config = bouncer["config"]
    pools = [p for p in bouncer["pools"] if database is None or p["database"] == database]
    mode_ok = expect_pool_mode is None or config.get("pool_mode") == expect_pool_mode
    waiting = sum(_int(p.get("cl_waiting")) or 0 for p in pools)
    problems = []
    if not mode_ok:
        problems.append("pool_mode is %s, expected %s" % (config.get("pool_mode"), expect_pool_mode))
    if max_waiting is not None and waiting > max_waiting:
        problems.append("%d clients wait for a server connection (at most %d): %s" % (
            waiting, max_waiting, ", ".join("%s/%s %s" % (p["database"], p["user"], p.get("cl_waiting"))
                                            for p in pools if _int(p.get("cl_waiting")))))
    extra = {"waiting_clients": waiting, "max_waiting_clients": max_waiting}
    if problems:
        extra["problems"] = problems
    evidence = {"address": bouncer["address"], "version": bouncer.get("version"),
                "pool_mode": config.get("pool_mode"), "expected_pool_mode": expect_pool_mode,
                "max_client_conn": _int(config.get("max_client_conn")),
                "default_pool_size": _int(config.get("default_pool_size")),
                "databases": sorted(set(p["database"] for p in bouncer["pools"])),
                "pools": [_pick(p, ("database", "user", "cl_active", "cl_waiting", "sv_active", "sv_idle",
                                    "pool_mode")) for p in pools]}
    evidence.update(extra)
    return check("pg.pgbouncer", "PgBouncer answers with its pool settings", not problems, evidence, POOLING)


SLOW = "Database Performance - Database performance stable"


def observe_statements(conn, top=5, min_calls=5):
    """The statements with the highest mean time from ``pg_stat_statements`` (normalised text:
    constants are ``$n``), or None when the extension is not installed in this database."""
    installed = pg.query(conn, "SELECT extversion FROM pg_extension WHERE extname = 'pg_stat_statements'")
    if not installed:
        return None
    try:
        rows = pg.query(conn, "SELECT s.queryid::text AS queryid, s.calls, s.mean_exec_time AS mean_ms, "
                              "s.total_exec_time AS total_ms, "
                              "left(regexp_replace(s.query, '\\s+', ' ', 'g'), 160) AS query "
                              "FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid "
                              "WHERE d.datname = current_database() AND s.calls >= %s "
                              "ORDER BY s.mean_exec_time DESC LIMIT %s", (min_calls, top))
    except pg.psycopg2.Error as exc:  # installed, but not in shared_preload_libraries
        return {"version": installed[0]["extversion"], "error": " ".join(str(exc).split())}
    return {"version": installed[0]["extversion"],
            "statements": [dict(r, mean_ms=round(float(r["mean_ms"]), 2), total_ms=round(float(r["total_ms"]), 1))
                           for r in rows]}


def judge_statements(observed, mean_ms_max, database):
    title = "No statement's mean time exceeds the limit (pg_stat_statements)"
    if observed is None:
        return make_check("pg.slow_queries", title, SKIP, {
            "reason": "pg_stat_statements is not installed in %s (shared_preload_libraries = 'pg_stat_statements', "
                      "then CREATE EXTENSION pg_stat_statements)" % database}, SLOW)
    if observed.get("error"):
        return make_check("pg.slow_queries", title, SKIP, {"reason": "pg_stat_statements cannot be read in %s: %s"
                                                                     % (database, observed["error"])}, SLOW)
    slow = [s for s in observed["statements"] if s["mean_ms"] > mean_ms_max]
    evidence = {"mean_ms_max": mean_ms_max, "top": observed["statements"], "extension": observed["version"]}
    if slow:
        evidence["problems"] = ["query %s: %.1f ms on average over %d calls (at most %.0f ms): %s"
                                % (s["queryid"], s["mean_ms"], s["calls"], mean_ms_max, s["query"]) for s in slow]
    return make_check("pg.slow_queries", title, FAIL if slow else PASS, evidence, SLOW)


def judge_backup_age(newest, rpo_seconds, now, identity=None):
    """Pure: the RPO check of the newest backup of one source (``identity``)."""
    evidence = {"database": identity.source, "environment": identity.environment} if identity else {}
    evidence["rpo_seconds"] = rpo_seconds
    if newest is None:
        evidence["newest"] = None
        return check("pg.backup_rpo", "The newest complete backup is within the RPO", False, evidence, BACKUPS)
    age = (now - clock.parse_time(newest["completed_at"] or newest["created_at"])).total_seconds()
    dump = newest.get("objects", {}).get("dump") or {}
    evidence.update(backup_id=newest["id"], label=newest["label"], completed_at=newest.get("completed_at"),
                    age_seconds=int(age), size=dump.get("size"))
    return check("pg.backup_rpo", "The newest complete backup is within the RPO", age <= rpo_seconds,
                 evidence, BACKUPS)


def _pick(row, keys):
    return dict((k, row.get(k)) for k in keys)


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return value


# -- observing --------------------------------------------------------------------

def observe_server(conn):
    row = pg.query(conn, """
        SELECT current_setting('server_version') AS server_version, pg_is_in_recovery() AS in_recovery,
               current_database() AS database,
               extract(epoch FROM now() - pg_postmaster_start_time())::int AS uptime_seconds""")[0]
    if row["in_recovery"]:
        extra = pg.query(conn, """
            SELECT (SELECT status FROM pg_stat_wal_receiver LIMIT 1) AS wal_receiver,
                   pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())::bigint AS replay_lag_bytes""")[0]
        row.update(extra)
    return row


def observe_connections(conn):
    return pg.query(conn, """
        SELECT current_setting('max_connections')::int AS max_connections,
               current_setting('superuser_reserved_connections')::int AS reserved,
               (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')::int AS used""")[0]


def observe_replicas(conn):
    rows = pg.query(conn, """
        SELECT r.application_name AS name, coalesce(r.client_addr::text, 'local') AS address, r.state,
               r.sync_state, pg_wal_lsn_diff(pg_current_wal_lsn(), r.replay_lsn)::bigint AS lag_bytes,
               extract(epoch FROM coalesce(r.replay_lag, interval '0'))::float AS lag_seconds,
               s.slot_name AS slot
          FROM pg_stat_replication r LEFT JOIN pg_replication_slots s ON s.active_pid = r.pid
         ORDER BY 1""")
    for row in rows:
        row["lag_seconds"] = round(row["lag_seconds"] or 0.0, 3)
    return rows


def observe_pgbouncer(options):
    server = pg.PgServer.pgbouncer(options)
    address = "%s:%s" % (server.host, server.port)
    try:
        conn = pg.connect(server, autocommit=True, application_name="golive.core/health")
    except GoliveError as exc:
        return {"address": address, "error": exc.message}
    try:
        config = dict((r["key"], r["value"]) for r in pg.query(conn, "SHOW CONFIG"))
        pools = pg.query(conn, "SHOW POOLS")
        version = pg.query(conn, "SHOW VERSION")
    except pg.psycopg2.Error as exc:
        return {"address": address, "error": pg.classify(exc, server, verb="query").message}
    finally:
        conn.close()
    return {"address": address, "config": config, "pools": pools,
            "version": list(version[0].values())[0] if version else None}


def health(target, expect_role="any", min_connection_headroom=20.0, min_replicas=None, max_lag_bytes=None,
           max_lag_seconds=None, pgbouncer=None, store=None, backup_identity=None, backup_label=None,
           rpo_seconds=None, replication_wait=0, tls=None, slow_queries=None):
    """``tls``: None, or {roles, require_connection, min_protocol} for the ``pg.tls`` check;
    ``slow_queries``: None, or {mean_ms_max, min_calls, top} for ``pg.slow_queries``."""
    wants_replication = min_replicas is not None or max_lag_bytes is not None or max_lag_seconds is not None
    conn = pg.connect(target, autocommit=True, application_name="golive.core/health")
    try:
        try:
            server = observe_server(conn)
            conns = observe_connections(conn)
            replicas = [] if server["in_recovery"] else observe_replicas(conn)
            if wants_replication and replication_wait:
                # A replica catching up after a burst of writes is not a failure: give it
                # up to ``replication_wait`` seconds to come within the limits.
                deadline = Deadline(replication_wait)
                while judge_replication(server, replicas, min_replicas or 0, max_lag_bytes,
                                        max_lag_seconds)["status"] != PASS and not deadline.expired():
                    time.sleep(min(1.0, max(deadline.remaining(), 0.01)))
                    server = observe_server(conn)
                    replicas = [] if server["in_recovery"] else observe_replicas(conn)
            bouncer = observe_pgbouncer(pgbouncer) if pgbouncer and pgbouncer.get("host") else None
            encryption = pgtls.observe_tls(conn, tls.get("roles") or (), bouncer) if tls is not None else None
            statements = observe_statements(conn, slow_queries.get("top") or 5, slow_queries.get("min_calls") or 1) \
                if slow_queries is not None else None
        except pg.psycopg2.Error as exc:
            raise pg.classify(exc, target, verb="query")
    finally:
        conn.close()
    checks = [judge_server(server, expect_role), judge_connections(conns, min_connection_headroom)]
    if wants_replication:
        checks.append(judge_replication(server, replicas, min_replicas or 0, max_lag_bytes, max_lag_seconds))
    if bouncer is not None:
        checks.append(judge_pgbouncer(bouncer, pgbouncer.get("database"), pgbouncer.get("pool_mode"),
                                      pgbouncer.get("max_waiting_clients")))
    if slow_queries is not None:
        checks.append(judge_statements(statements, float(slow_queries.get("mean_ms_max") or 500.0), server["database"]))
    if encryption is not None:
        checks.append(pgtls.judge_tls(encryption, tls.get("roles") or (), tls.get("require_connection", True),
                                      tls.get("min_protocol") or "TLSv1.2"))
    newest = None
    if store is not None:
        found = store.manifests(backup_identity, label=backup_label)
        newest = found[0] if found else None
        if rpo_seconds is not None:
            checks.append(judge_backup_age(newest, rpo_seconds, clock.utcnow(), backup_identity))
        else:
            checks.append(make_check("pg.backup_rpo", "The newest complete backup is within the RPO", SKIP,
                                     {"reason": "rpo_seconds not set"}, BACKUPS))
    return {
        "changed": False,
        "checks": checks,
        "server": {"version": server["server_version"], "role": "replica" if server["in_recovery"] else "primary",
                   "database": server["database"]},
        "replicas": replicas,
        "connections": conns,
        "newest_backup": {"id": newest["id"], "label": newest["label"], "completed_at": newest.get("completed_at")}
        if newest else None,
    }

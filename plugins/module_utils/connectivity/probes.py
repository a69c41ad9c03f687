# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reachability of every system a run touches, as checks with evidence.

Each probe connects with the same code the action modules use, runs one real
operation, and reports what it saw. With ``write_probe`` it also proves it can write:
a marker key in Redis (with a TTL), a marker object in the bucket, a marker TXT record
through a signed RFC 2136 update, and a write transaction id in PostgreSQL. Markers
are written only when missing or different, so a second run changes nothing.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import time

from ansible_collections.golive.core.plugins.module_utils.common.checks import FAIL, PASS, make_check
from ansible_collections.golive.core.plugins.module_utils.common.errors import GoliveError, InvalidInput
from ansible_collections.golive.core.plugins.module_utils.postgres import connection as pg
from ansible_collections.golive.core.plugins.module_utils.redis import connection as rds
from ansible_collections.golive.core.plugins.module_utils.aws import session as aws
from ansible_collections.golive.core.plugins.module_utils.storage import s3

SYSTEMS = ("postgres", "redis", "s3", "dns")
PROBE_KEY = "golive:probe"
PROBE_OBJECT = "golive-probe/marker"
PROBE_RECORD = "_golive-probe"


def _ms(started):
    return round((time.monotonic() - started) * 1000.0, 1)


def probe_postgres(server, write, check_mode):
    started = time.monotonic()
    conn = pg.connect(server)
    try:
        row = pg.query(conn, "SELECT current_setting('server_version') AS version, current_database() AS database, "
                             "current_user AS user_name, pg_is_in_recovery() AS in_recovery")[0]
        evidence = {
            "address": "%s:%s" % (server.host, server.port),
            "server_version": row["version"],
            "database": row["database"],
            "user": row["user_name"],
            "in_recovery": row["in_recovery"],
        }
        changed = False
        if write:
            if row["in_recovery"]:
                raise GoliveError("write to", server.describe(), "the server is a read-only replica")
            if not check_mode:
                # A write transaction that leaves nothing behind: proves the primary accepts writes.
                conn.autocommit = False
                evidence["write_txid"] = int(pg.query(conn, "SELECT txid_current() AS txid")[0]["txid"])
                conn.rollback()
                evidence["write_checked"] = not check_mode
    except pg.psycopg2.Error as exc:
        raise pg.classify(exc, server, verb="query")
    finally:
        conn.close()
    evidence["latency_ms"] = _ms(started)
    return changed, evidence


def probe_redis(server, write, check_mode, value, ttl=86400):
    started = time.monotonic()
    client, address = rds.connect(server)
    try:
        info = client.info("server")
        replication = client.info("replication")
        evidence = {
            "master": address,
            "redis_version": info.get("redis_version"),
            "role": replication.get("role"),
            "connected_replicas": replication.get("connected_slaves", 0),
        }
        changed = False
        if write:
            current = client.get(PROBE_KEY)
            changed = current != value
            if changed and not check_mode:
                client.set(PROBE_KEY, value, ex=int(ttl or 86400))
                if client.get(PROBE_KEY) != value:
                    raise GoliveError("read back", "the probe key %s" % PROBE_KEY, "the value differs")
            evidence["probe_key"] = PROBE_KEY
            evidence["probe_written"] = changed
    except rds.redis.RedisError as exc:
        raise rds.classify(exc, server, verb="probe")
    evidence["latency_ms"] = _ms(started)
    return changed, evidence


def probe_s3(settings, bucket, write, check_mode, value):
    started = time.monotonic()
    client = aws.session_client("s3", settings, max_attempts=2)
    evidence = {"bucket": bucket, "endpoint": settings.endpoint_url or "aws"}
    changed = False
    try:
        client.head_bucket(Bucket=bucket)
        if write:
            body = value.encode("utf-8")
            digest = hashlib.sha256(body).hexdigest()
            current = None
            try:
                current = client.get_object(Bucket=bucket, Key=PROBE_OBJECT)["Body"].read()
            except client.exceptions.NoSuchKey:
                current = None
            changed = current != body
            if changed and not check_mode:
                client.put_object(Bucket=bucket, Key=PROBE_OBJECT, Body=body,
                                  Metadata={"sha256": digest})
                read_back = client.get_object(Bucket=bucket, Key=PROBE_OBJECT)["Body"].read()
                if hashlib.sha256(read_back).hexdigest() != digest:
                    raise GoliveError("read back", "s3://%s/%s" % (bucket, PROBE_OBJECT), "the content differs")
            evidence["probe_object"] = PROBE_OBJECT
            evidence["probe_written"] = changed
            evidence["probe_sha256"] = digest
    except s3.aws_errors() as exc:
        raise s3.classify(exc, "probe", "bucket %s" % bucket)
    evidence["latency_ms"] = _ms(started)
    return changed, evidence


def probe_dns(server, write, check_mode, value):
    started = time.monotonic()
    evidence = {"zone": server.zone.to_text(omit_final_dot=True), "server": "%s:%s" % (server.server, server.port)}
    serial = server.soa_serial()
    if serial is None:
        raise GoliveError("query", server.describe(), "the server has no SOA for the zone (not authoritative)")
    evidence["soa_serial"] = serial
    changed = False
    if write:
        wanted = ['"%s"' % value.replace('"', '')]
        current = server.query(PROBE_RECORD, "TXT")
        changed = current != wanted
        if changed and not check_mode:
            server.replace(PROBE_RECORD, "TXT", 60, wanted)
            if server.query(PROBE_RECORD, "TXT") != wanted:
                raise GoliveError("read back", "%s TXT in %s" % (PROBE_RECORD, server.describe()),
                                  "the server does not answer the new value")
        evidence["probe_record"] = "%s.%s" % (PROBE_RECORD, str(server.zone).rstrip(".") + ".")
        evidence["probe_written"] = changed
    evidence["latency_ms"] = _ms(started)
    return changed, evidence


TITLES = {
    "postgres": "PostgreSQL answers a query",
    "redis": "Redis master answers (Sentinel discovery when configured)",
    "s3": "Object store bucket is reachable",
    "dns": "DNS server is authoritative for the zone",
}


def run_probes(targets, systems, write_probe=False, check_mode=False, probe_value="golive.core", probe_ttl=86400):
    """Probe each system; one failing system does not hide the others.

    ``targets`` holds what each named system needs: ``postgres`` a ``PgServer``, ``redis`` a
    ``RedisServer``, ``s3`` ``(AwsSettings, bucket)``, ``dns`` an ``Rfc2136Server``."""
    systems = list(systems or [])
    if not systems:
        raise InvalidInput("probe", "the systems", "systems is empty: there is nothing to reach",
                           fix="Name the systems to probe (postgres, redis, s3, dns); a check of nothing would pass "
                               "having checked nothing")
    checks = []
    changed = False
    for name in systems:
        try:
            if name == "postgres":
                sys_changed, evidence = probe_postgres(targets["postgres"], write_probe, check_mode)
            elif name == "redis":
                sys_changed, evidence = probe_redis(targets["redis"], write_probe, check_mode, probe_value, probe_ttl)
            elif name == "s3":
                sys_changed, evidence = probe_s3(targets["s3"][0], targets["s3"][1], write_probe, check_mode,
                                                 probe_value)
            else:
                sys_changed, evidence = probe_dns(targets["dns"], write_probe, check_mode, probe_value)
            changed = changed or sys_changed
            status = PASS
        except GoliveError as exc:
            evidence = {"error": exc.message}
            status = FAIL
        checks.append(make_check("connectivity.%s" % name, TITLES[name], status, evidence,
                                 checklist="Environment configurations validated"))
    return {"changed": changed, "checks": checks, "systems": systems}

# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a database holds, in figures a restored copy can be compared with: per-table row
counts and order-independent content checksums, and a hash of the schema, computed by
parallel connections (optionally all in one exported snapshot)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import threading

from ansible_collections.golive.core.plugins.module_utils.postgres import connection as pg

_USER_RELATIONS = """
    FROM pg_catalog.pg_class c
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'
      AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                      WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid
                        AND d.deptype = 'e')
"""

TABLES_SQL = "SELECT n.nspname AS schema, c.relname AS name" + _USER_RELATIONS + \
    " AND c.relkind = 'r' ORDER BY 1, 2"

# Every line names its object with schema-qualified names (search_path is pg_catalog)
# and none holds an OID or a database name, so a restored copy hashes the same.
SCHEMA_SQL = """
SELECT 'column ' || c.oid::regclass::text || '.' || quote_ident(a.attname) || ' '
       || format_type(a.atttypid, a.atttypmod) || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
       || coalesce(' default ' || pg_get_expr(ad.adbin, ad.adrelid), '') AS line
  FROM pg_catalog.pg_attribute a
  JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_catalog.pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
 WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
   AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
UNION ALL
SELECT 'constraint ' || co.conrelid::regclass::text || ' ' || quote_ident(co.conname) || ' '
       || pg_get_constraintdef(co.oid)
  FROM pg_catalog.pg_constraint co JOIN pg_catalog.pg_namespace n ON n.oid = co.connamespace
 WHERE co.conrelid <> 0 AND n.nspname NOT IN ('pg_catalog', 'information_schema')
   AND n.nspname NOT LIKE 'pg\\_%'
UNION ALL
SELECT 'index ' || pg_get_indexdef(i.indexrelid)
  FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
UNION ALL
SELECT 'view ' || c.oid::regclass::text || ' ' || pg_get_viewdef(c.oid)
  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('v', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
   AND n.nspname NOT LIKE 'pg\\_%'
UNION ALL
SELECT 'function ' || p.oid::regprocedure::text || ' ' || md5(coalesce(p.prosrc, ''))
  FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
UNION ALL
SELECT 'trigger ' || pg_get_triggerdef(t.oid)
  FROM pg_catalog.pg_trigger t WHERE NOT t.tgisinternal
UNION ALL
SELECT 'sequence ' || c.oid::regclass::text
  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind = 'S' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
   AND n.nspname NOT LIKE 'pg\\_%'
"""


CHECKSUM_METHODS = {
    # 64-bit hash_any of each row's text form (the server's own hash; fast).
    "sum-hashtextextended": "sum(hashtextextended(t::text, 0))",
    # First 64 bits of md5 of each row's text form (portable across platforms).
    "sum-md5-64": "sum(('x' || left(md5(t::text), 16))::bit(64)::bigint)",
}
DEFAULT_CHECKSUM = "sum-hashtextextended"


def table_stats_sql(schema, name, method=DEFAULT_CHECKSUM):
    """Row count and an order-independent checksum of one table's rows.

    The checksum is a sum of 64-bit hashes of each row's text form, so it does not
    depend on the physical order a restore writes rows in.
    """
    rel = "%s.%s" % (pg.quote_ident(schema), pg.quote_ident(name))
    return ("SELECT count(*) AS row_count, coalesce(%s, 0)::text AS checksum FROM ONLY %s AS t"
            % (CHECKSUM_METHODS[method], rel))


def schema_hash(lines):
    digest = hashlib.sha256()
    for line in sorted(lines):
        digest.update(line.encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()


def compare_manifest(expected, observed):
    """Pure: the differences between a manifest's figures and those of a restored copy.

    ``expected``/``observed`` hold ``schema_hash`` and ``tables`` (``{name: {rows,
    checksum}}``). Returns a list of readable differences (empty when they agree).
    """
    diffs = []
    if expected.get("schema_hash") != observed.get("schema_hash"):
        diffs.append("schema hash %s, expected %s" % (
            (observed.get("schema_hash") or "")[:12], (expected.get("schema_hash") or "")[:12]))
    want = expected.get("tables") or {}
    got = observed.get("tables") or {}
    for name in sorted(set(want) - set(got)):
        diffs.append("table %s missing" % name)
    for name in sorted(set(got) - set(want)):
        diffs.append("table %s not in the manifest" % name)
    for name in sorted(set(want) & set(got)):
        if want[name]["rows"] != got[name]["rows"]:
            diffs.append("table %s has %s rows, expected %s" % (name, got[name]["rows"], want[name]["rows"]))
        elif want[name]["checksum"] != got[name]["checksum"]:
            diffs.append("table %s content checksum differs" % name)
    return diffs


# ---------------------------------------------------------------------------
# Figures of a database (in one snapshot)
# ---------------------------------------------------------------------------

def _begin_snapshot(conn, snapshot=None):
    """Pin ``conn`` to ``snapshot`` (a transaction kept open), or, without one, only set
    the search path: each query then runs on its own and holds no lock afterwards (a
    restore going on in parallel must be able to add constraints)."""
    with conn.cursor() as cur:
        if snapshot:
            cur.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            cur.execute("SET TRANSACTION SNAPSHOT %s", (snapshot,))
            cur.execute("SET LOCAL search_path = pg_catalog")
        else:
            cur.execute("SET search_path = pg_catalog")


class FigureWorkers:
    """Connections that compute per-table figures from a queue, in threads.

    Tables can be submitted while other work runs (a dump, a restore); ``finish``
    computes whatever was not submitted, the schema hash, and returns the figures.
    With ``snapshot`` every connection imports it, so the figures describe exactly
    what ``pg_dump --snapshot`` dumps.
    """

    def __init__(self, server, dbname, jobs=1, snapshot=None, method=DEFAULT_CHECKSUM):
        self.server = server.on(dbname)
        self.snapshot = snapshot
        self.method = method
        self.figures = {}
        self.errors = []
        self.queue = []
        self.submitted = set()
        self.lock = threading.Condition()
        self.closing = False
        self.conns = []
        self.threads = []
        try:
            for _index in range(max(1, int(jobs or 1))):
                conn = pg.connect(self.server, autocommit=True, application_name="golive.core/figures")
                self.conns.append(conn)
                _begin_snapshot(conn, snapshot)
        except pg.psycopg2.Error as exc:
            self.close()
            raise pg.classify(exc, self.server, verb="read the figures of")
        except Exception:
            self.close()
            raise
        for conn in self.conns:
            thread = threading.Thread(target=self._work, args=(conn,))
            thread.daemon = True
            thread.start()
            self.threads.append(thread)

    def submit(self, schema, name):
        with self.lock:
            if (schema, name) in self.submitted:
                return
            self.submitted.add((schema, name))
            self.queue.append((schema, name))
            self.lock.notify()

    def _work(self, conn):
        while True:
            with self.lock:
                while not self.queue and not self.closing:
                    self.lock.wait()
                if not self.queue or self.errors:
                    return
                schema, name = self.queue.pop(0)
            try:
                row = pg.query(conn, table_stats_sql(schema, name, self.method))[0]
            except Exception as exc:  # noqa: BLE001 - re-raised by finish()
                with self.lock:
                    self.errors.append(exc)
                    self.lock.notify_all()
                return
            with self.lock:
                self.figures["%s.%s" % (schema, name)] = {"rows": int(row["row_count"]), "checksum": row["checksum"]}

    def finish(self):
        try:
            conn = self.conns[0]
            tables = pg.query(conn, TABLES_SQL)
            lines = [row["line"] for row in pg.query(conn, SCHEMA_SQL)]
        except pg.psycopg2.Error as exc:
            self.close()
            raise pg.classify(exc, self.server, verb="read the figures of")
        for table in tables:
            self.submit(table["schema"], table["name"])
        with self.lock:
            self.closing = True
            self.lock.notify_all()
        for thread in self.threads:
            thread.join()
        self.close()
        if self.errors:
            exc = self.errors[0]
            if isinstance(exc, pg.psycopg2.Error):
                raise pg.classify(exc, self.server, verb="read the figures of")
            raise exc
        wanted = set("%s.%s" % (t["schema"], t["name"]) for t in tables)
        return {"tables": dict((k, v) for k, v in self.figures.items() if k in wanted),
                "schema_hash": schema_hash(lines), "checksum_method": self.method}

    def close(self):
        with self.lock:
            self.closing = True
            self.lock.notify_all()
        for conn in self.conns:
            try:
                conn.close()
            except Exception:  # noqa: BLE001 - closing is best effort
                pass


def collect_figures(server, dbname, snapshot=None, jobs=1, method=DEFAULT_CHECKSUM):
    """Per-table row counts and checksums plus the schema hash of ``dbname``."""
    return FigureWorkers(server, dbname, jobs, snapshot, method).finish()


def compare_object(expected, observed):
    """Pure: differences between a manifest's object record and what was downloaded."""
    diffs = []
    if expected.get("size") != observed.get("size"):
        diffs.append("size %s bytes, expected %s" % (observed.get("size"), expected.get("size")))
    if expected.get("sha256") != observed.get("sha256"):
        diffs.append("sha256 %s, expected %s" % (observed.get("sha256", "")[:12], expected.get("sha256", "")[:12]))
    return diffs

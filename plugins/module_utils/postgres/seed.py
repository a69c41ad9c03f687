# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Idempotent seed data: rows keyed by a natural key, upserted.

Every row is one ``INSERT ... ON CONFLICT (key) DO UPDATE ... WHERE <a column differs>
RETURNING``, so only rows that are new or different come back, and a second run
returns nothing. All tables go in one transaction; check mode rolls it back, so the
prediction is what the server itself would do.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.golive.core.plugins.module_utils.common.errors import InvalidInput
from ansible_collections.golive.core.plugins.module_utils.postgres import connection as pg

try:
    from psycopg2.extras import Json
except ImportError:  # pragma: no cover - reported by the module entry point
    Json = None


def validate(tables):
    """Pure: check the shape of the seed data; return ``[(table, key, columns, rows)]``."""
    out = []
    for index, spec in enumerate(tables or []):
        name = spec.get("table")
        key = list(spec.get("key") or [])
        rows = list(spec.get("rows") or [])
        where = "tables[%d] (%s)" % (index, name)
        if not name or not key:
            raise InvalidInput("seed", where, "every entry needs table and key")
        columns = []
        for row in rows:
            if not isinstance(row, dict):
                raise InvalidInput("seed", where, "rows must be mappings of column to value")
            missing = [k for k in key if row.get(k) is None]
            if missing:
                raise InvalidInput("seed", where, "a row lacks its key column(s) %s: %s" % (", ".join(missing), row))
            for column in row:
                if column not in columns:
                    columns.append(column)
        keys = [tuple(str(row[k]) for k in key) for row in rows]
        if len(set(keys)) != len(keys):
            raise InvalidInput("seed", where, "two rows have the same key")
        out.append((name, key, columns, rows))
    return out


def upsert_sql(table, key, columns):
    """Pure: the statement that inserts a row or updates it only when a value differs."""
    ident = pg.quote_qualified(table)
    cols = ", ".join(pg.quote_ident(c) for c in columns)
    values = ", ".join(["%s"] * len(columns))
    others = [c for c in columns if c not in key]
    conflict = ", ".join(pg.quote_ident(k) for k in key)
    if others:
        sets = ", ".join("%s = EXCLUDED.%s" % (pg.quote_ident(c), pg.quote_ident(c)) for c in others)
        olds = ", ".join("t.%s" % pg.quote_ident(c) for c in others)
        news = ", ".join("EXCLUDED.%s" % pg.quote_ident(c) for c in others)
        action = "DO UPDATE SET %s WHERE (%s) IS DISTINCT FROM (%s)" % (sets, olds, news)
    else:
        action = "DO NOTHING"
    return ("INSERT INTO %s AS t (%s) VALUES (%s) ON CONFLICT (%s) %s "
            "RETURNING (xmax = 0) AS inserted, row_to_json(t)::text AS after" % (ident, cols, values, conflict, action))


def select_sql(table, key):
    ident = pg.quote_qualified(table)
    cond = " AND ".join("t.%s = %%s" % pg.quote_ident(k) for k in key)
    return "SELECT row_to_json(t)::text AS before FROM %s AS t WHERE %s" % (ident, cond)


def _row_name(change):
    """A row's name in a diff: its table and natural key, e.g. "public.plans code=team"."""
    return "%s %s" % (change["table"], " ".join("%s=%s" % kv for kv in sorted(change["key"].items())))


def _adapt(value):
    if isinstance(value, (dict, list)):
        return Json(value)
    return value


def seed(server, tables, check_mode=False):
    import json

    specs = validate(tables)
    conn = pg.connect(server, autocommit=False, application_name="golive.core/seed")
    changes = []
    counts = {"inserted": 0, "updated": 0, "unchanged": 0}
    try:
        try:
            with conn.cursor() as cur:
                for table, key, columns, rows in specs:
                    statement = upsert_sql(table, key, columns)
                    lookup = select_sql(table, key)
                    for row in rows:
                        cur.execute(lookup, [_adapt(row[k]) for k in key])
                        before = cur.fetchone()
                        cur.execute(statement, [_adapt(row.get(c)) for c in columns])
                        outcome = cur.fetchone()
                        if outcome is None:
                            counts["unchanged"] += 1
                            continue
                        kind = "inserted" if outcome[0] else "updated"
                        counts[kind] += 1
                        changes.append({"table": table, "key": dict((k, row[k]) for k in key), "action": kind,
                                        "before": json.loads(before[0]) if before else None,
                                        "after": json.loads(outcome[1])})
            if check_mode:
                conn.rollback()
            else:
                conn.commit()
        except pg.psycopg2.Error as exc:
            conn.rollback()
            raise pg.classify(exc, server, verb="seed data into")
    finally:
        conn.close()
    return {
        "changed": bool(changes),
        "changes": changes,
        "counts": counts,
        "diff": {"before": dict((_row_name(c), c["before"]) for c in changes if c["before"]),
                 "after": dict((_row_name(c), c["after"]) for c in changes)},
        "undo": {"action": "restore the pre-deploy backup", "rows": len(changes)},
    }

# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rows written since a backup, per table, from PostgreSQL's statistics (no table scan).

A backup keeps the write counters of every table (``pg_stat_user_tables``: rows inserted,
updated, deleted) as they were when its snapshot was taken; the difference with the
counters now is what a restore of that backup would set aside. Counters count aborted
writes too and lag by up to a second, so the figures are statistics, said as such. A
statistics reset since the backup makes them unknowable (and said so); a backup taken
before counters were kept is compared by live row estimates against its exact row counts,
a net figure.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

COUNTERS_SQL = """
SELECT s.schemaname || '.' || s.relname AS name, s.n_tup_ins AS ins, s.n_tup_upd AS upd, s.n_tup_del AS del,
       s.n_live_tup AS live
  FROM pg_catalog.pg_stat_user_tables s
"""
RESET_SQL = "SELECT stats_reset FROM pg_catalog.pg_stat_database WHERE datname = current_database()"


def counters(query):
    """The database's write counters now: ``{stats_reset, tables: {name: {ins, upd, del, live}}}``.

    ``query(sql)`` returns rows as dicts (a connection's ``pg.query`` bound to it)."""
    reset = query(RESET_SQL)
    stamp = reset[0]["stats_reset"] if reset else None
    tables = {}
    for row in query(COUNTERS_SQL):
        tables[row["name"]] = dict((k, int(row[k] or 0)) for k in ("ins", "upd", "del", "live"))
    return {"stats_reset": stamp.isoformat() if hasattr(stamp, "isoformat") else stamp, "tables": tables}


def since(backup, now, backup_rows=None):
    """What was written between ``backup``'s counters and ``now``'s, per table (pure).

    ``backup_rows`` (table -> exact row count of the backup) is the fallback for a backup
    without counters. Returns ``{method, tables: {name: {inserted, updated, deleted}}, total,
    note}``; tables without writes are left out."""
    tables, total = {}, {"inserted": 0, "updated": 0, "deleted": 0}
    if backup and backup.get("tables") is not None:
        if backup.get("stats_reset") != now.get("stats_reset"):
            return {"method": "unknown", "tables": {}, "total": None,
                    "note": "the statistics were reset since the backup (%s, then %s): the writes since cannot be "
                            "counted without scanning the tables" % (backup.get("stats_reset"),
                                                                     now.get("stats_reset"))}
        for name, seen in sorted(now["tables"].items()):
            then = backup["tables"].get(name) or {"ins": 0, "upd": 0, "del": 0}
            delta = {"inserted": max(0, seen["ins"] - then["ins"]), "updated": max(0, seen["upd"] - then["upd"]),
                     "deleted": max(0, seen["del"] - then["del"])}
            if any(delta.values()):
                tables[name] = dict(delta, new_table=name not in backup["tables"]) if name not in backup["tables"] \
                    else delta
                for key in total:
                    total[key] += delta[key]
        return {"method": "statistics", "tables": tables, "total": total,
                "note": "from the write counters of pg_stat_user_tables (they count aborted writes too)"}
    if backup_rows is not None:
        for name, seen in sorted(now["tables"].items()):
            net = seen["live"] - int(backup_rows.get(name, 0) or 0)
            if net:
                tables[name] = {"net_rows": net}
        return {"method": "estimate", "tables": tables, "total": {"net_rows": sum(t["net_rows"] for t in tables.values())},
                "note": "the backup kept no write counters: live row estimates against its exact row counts (a net "
                        "figure: updates and deleted inserts do not show)"}
    return {"method": "unknown", "tables": {}, "total": None, "note": "the backup kept neither counters nor row counts"}

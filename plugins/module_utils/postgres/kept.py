# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The databases a restore kept aside (``<database>_before_<UTC time>``): list and prune.

A rollback's restore keeps the database as it was, with every write made after the
pre-deploy backup, and says so in a comment on it (the release, the backup, the rows
written since). Nothing removes them by itself; ``prune`` applies an explicit retention
(the newest ``keep``, and/or those older than ``older_than``) and never drops one whose
comment says a rollback kept post-go-live writes there, unless ``drop_named``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import json
import re

from ansible_collections.golive.core.plugins.module_utils.common.clock import UTC, format_time
from ansible_collections.golive.core.plugins.module_utils.common.errors import GoliveError, InvalidInput
from ansible_collections.golive.core.plugins.module_utils.common.journal import NoJournal
from ansible_collections.golive.core.plugins.module_utils.postgres import connection as pg

NAME = re.compile(r"^(?P<stem>.+)_before_(?P<stamp>\d{14})$")
MARK = "golive.core"
MAX_IDENT = 63
_AGE = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}

LIST_SQL = """
SELECT d.datname AS name, pg_catalog.pg_database_size(d.oid) AS size,
       pg_catalog.shobj_description(d.oid, 'pg_database') AS comment,
       (SELECT count(*) FROM pg_catalog.pg_stat_activity a WHERE a.datname = d.datname) AS sessions
  FROM pg_catalog.pg_database d
 WHERE d.datname LIKE %s
"""


def comment_of(database, manifest, release, writes):
    """The comment a restore writes on the database it keeps: why it is there."""
    total = (writes or {}).get("total")
    return json.dumps({"kept_by": MARK, "database": database, "release": release, "backup_id": manifest.get("id"),
                       "holds": "the database as it was before the rollback, with every write made after backup %s"
                                % manifest.get("id"),
                       "writes_since_backup": total, "method": (writes or {}).get("method")}, sort_keys=True)


def seconds_of(text):
    """``30d`` -> 2592000; a retention age in s, m, h, d or w."""
    if text is None:
        return None
    found = _AGE.match(str(text))
    if not found:
        raise InvalidInput("use", "older_than %r" % text, "an age is a number and a unit: s, m, h, d or w (30d)")
    return int(found.group(1)) * _SECONDS[found.group(2)]


def belongs(name, database):
    """Whether ``name`` is a kept copy of ``database`` (whose name may have been shortened
    to fit the 63-character limit)."""
    found = NAME.match(name)
    if not found:
        return False
    stem = found.group("stem")
    return stem == database or (len(name) == MAX_IDENT and database.startswith(stem))


def describe(row, database):
    """One kept database, from its pg_database row (pure)."""
    found = NAME.match(row["name"])
    kept_at = datetime.datetime.strptime(found.group("stamp"), "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    meta = {}
    try:
        meta = json.loads(row.get("comment") or "{}")
    except ValueError:
        meta = {}
    named = isinstance(meta, dict) and meta.get("kept_by") == MARK
    entry = {"name": row["name"], "database": database, "kept_at": format_time(kept_at),
             "size_bytes": int(row.get("size") or 0), "sessions": int(row.get("sessions") or 0),
             "named_by_a_rollback": named}
    if named:
        entry.update(release=meta.get("release"), backup_id=meta.get("backup_id"),
                     writes_since_backup=meta.get("writes_since_backup"))
    return entry, kept_at


def plan(kept, now, keep=None, older_than=None, drop_named=False):
    """What a prune does with each kept database (pure): ``[dict(entry, action, why)]``,
    newest first. ``kept`` is ``[(entry, kept_at)]``; a database goes when it is beyond the
    newest ``keep`` and (when given) older than ``older_than`` seconds."""
    if keep is None and older_than is None:
        raise InvalidInput("prune", "kept databases", "no retention given",
                           fix="Give keep (how many of the newest to keep) or older_than (for example 30d), or both")
    if keep is not None and int(keep) < 0:
        raise InvalidInput("use", "keep", "%s is not a count (0 or more)" % keep)
    out = []
    for index, (entry, kept_at) in enumerate(sorted(kept, key=lambda k: k[1], reverse=True)):
        age = (now - kept_at).total_seconds()
        reasons = []
        if keep is not None and index < int(keep):
            reasons.append("one of the newest %d" % int(keep))
        if older_than is not None and age <= older_than:
            reasons.append("younger than %ds" % older_than)
        entry = dict(entry, age_days=round(age / 86400.0, 1))
        if reasons:
            entry.update(action="keep", why="; ".join(reasons))
        elif entry["named_by_a_rollback"] and not drop_named:
            entry.update(action="refused", why="the rollback of release %s keeps the writes made after its "
                                               "pre-deploy backup here; copy what is needed, then prune with "
                                               "drop_named=true" % entry.get("release"))
        else:
            entry.update(action="drop", why="beyond the retention")
        out.append(entry)
    return out


def find(admin, database):
    """The kept copies of ``database`` on the server: ``[(entry, kept_at)]``."""
    if not database:
        raise InvalidInput("list", "kept databases", "database is required (the live database they are copies of)")
    stem = database[:MAX_IDENT - len("_before_") - 14]
    rows = pg.query(admin, LIST_SQL, (stem.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
                                      + "\\_before\\_%",))
    return [describe(row, database) for row in rows if belongs(row["name"], database)]


def run(admin, database, state="listed", keep=None, older_than=None, drop_named=False, now=None, check_mode=False,
        recorder=None, server=None):
    """List (``listed``) or prune (``pruned``) the kept copies of ``database``; the module result."""
    now = now or datetime.datetime.now(UTC)
    found = find(admin, database)
    if state == "listed":
        entries = [dict(e, age_days=round((now - k).total_seconds() / 86400.0, 1))
                   for e, k in sorted(found, key=lambda k: k[1], reverse=True)]
        return {"changed": False, "kept": entries, "dropped": [], "refused": []}
    planned = plan(found, now, keep, seconds_of(older_than), drop_named)
    drop = [e for e in planned if e["action"] == "drop"]
    refused = [e for e in planned if e["action"] == "refused"]
    result = {"changed": bool(drop), "kept": planned, "dropped": [], "refused": refused,
              "diff": {"before": "".join("%s\n" % e["name"] for e in planned),
                       "after": "".join("%s\n" % e["name"] for e in planned if e["action"] != "drop")}}
    if result["refused"]:
        result["warnings"] = ["Kept, because a rollback keeps post-go-live writes there: %s (drop_named=true drops "
                              "them)" % ", ".join(e["name"] for e in result["refused"])]
    if not drop or check_mode:
        return result
    journal = recorder or NoJournal()
    with journal.step({"database": database, "drop": [e["name"] for e in drop]},
                      objects=["postgres database %s" % e["name"] for e in drop], undo=None,
                      before={"kept": [e["name"] for e in planned]}) as outcome:
        outcome["outputs"] = {"dropped": result["dropped"]}
        try:
            for entry in drop:
                if entry["sessions"]:
                    raise GoliveError("drop", "database %s" % entry["name"],
                                      "%d session(s) are connected to it" % entry["sessions"],
                                      fix="Disconnect them (someone may be copying writes back from it), then re-run",
                                      result=result)
                pg.query(admin, "DROP DATABASE %s" % pg.quote_ident(entry["name"]))
                result["dropped"].append(entry["name"])
        except pg.psycopg2.Error as exc:
            raise pg.classify(exc, server or pg.PgServer(), verb="drop a kept database on")
        finally:
            outcome["changed"] = bool(result["dropped"])
    return result

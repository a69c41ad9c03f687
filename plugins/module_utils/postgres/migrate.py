# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Versioned SQL migrations (``V<version>__<name>.sql``) with a history table.

- Files are applied in version order; each in its own transaction together with its
  history row, so a run killed half-way leaves either the whole migration or nothing.
- A file whose first lines hold ``-- golive:no-transaction`` runs statement by
  statement outside a transaction (``CREATE INDEX CONCURRENTLY``); it must be safe to
  run again, because a run interrupted inside it runs it again.
- A session-level advisory lock serialises runs: a second run waits (up to
  ``lock_timeout``) and then finds the work done.
- A changed checksum of an applied file fails the run before anything is touched, and
  so does an applied file renamed to another description under the same version (as
  Flyway's validation does), unless renames are accepted explicitly: then the history
  row takes the new name, and that is the run's change.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import getpass
import hashlib
import os
import re
import time

from ansible_collections.golive.core.plugins.module_utils.common.errors import (
    Conflict,
    InvalidInput,
    PreconditionFailed,
)
from ansible_collections.golive.core.plugins.module_utils.common.journal import NoJournal
from ansible_collections.golive.core.plugins.module_utils.common.retry import Deadline
from ansible_collections.golive.core.plugins.module_utils.postgres import connection as pg

FILE_RE = re.compile(r"^V(?P<version>\d+(?:[._]\d+)*)__(?P<name>[^/]+)\.sql$")
NO_TRANSACTION = re.compile(r"^\s*--\s*golive:\s*no-transaction\s*$", re.IGNORECASE | re.MULTILINE)


def version_key(version):
    """``"1.2.0"`` -> ``(1, 2)``: numeric parts, trailing zeros dropped (1 and 1.0 are one version)."""
    parts = [int(part) for part in re.split(r"[._]", str(version))]
    while len(parts) > 1 and parts[-1] == 0:
        parts.pop()
    return tuple(parts)


def normalise_version(version):
    return ".".join(str(part) for part in version_key(str(version)))


def parse_migration(filename, content):
    """Pure: ``{version, name, filename, checksum, transactional, sql}`` or ``None``."""
    match = FILE_RE.match(filename)
    if not match:
        return None
    text = content.decode("utf-8") if isinstance(content, bytes) else content
    head = "\n".join(text.splitlines()[:5])
    return {
        "version": normalise_version(match.group("version")),
        "name": match.group("name").replace("_", " "),
        "filename": filename,
        "checksum": hashlib.sha256(text.encode("utf-8")).hexdigest(),
        "transactional": not NO_TRANSACTION.search(head),
        "sql": text,
    }


def load_migrations(path):
    """Read every ``V*.sql`` of a directory; fail on two files with one version."""
    if not os.path.isdir(path):
        raise InvalidInput("read", "migrations in %s" % path, "not a directory", fix="Check path")
    found = []
    for filename in sorted(os.listdir(path)):
        if not filename.endswith(".sql"):
            continue
        with open(os.path.join(path, filename), "rb") as handle:
            migration = parse_migration(filename, handle.read())
        if migration is None:
            raise InvalidInput("read", "migration %s" % filename,
                               "the name does not match V<version>__<name>.sql")
        found.append(migration)
    seen = {}
    for migration in found:
        if migration["version"] in seen:
            raise InvalidInput("read", "migrations in %s" % path, "version %s is used by both %s and %s" % (
                migration["version"], seen[migration["version"]], migration["filename"]))
        seen[migration["version"]] = migration["filename"]
    return sorted(found, key=lambda m: version_key(m["version"]))


def plan(migrations, history, target=None):
    """Pure: what to run, given the files and the history rows.

    ``history`` rows hold ``version, filename, checksum, success``. Returns ``{pending,
    drifted, renamed, missing, out_of_order, current}``; ``pending`` keeps file order and
    stops at ``target``; ``renamed`` lists applied versions whose file (same content)
    now has another name. A failed history row (a non-transactional migration that did not
    finish) makes its migration pending again.
    """
    done = dict((row["version"], row) for row in history if row.get("success"))
    files = dict((m["version"], m) for m in migrations)
    drifted = [{"version": v, "filename": files[v]["filename"], "applied_checksum": row["checksum"],
                "file_checksum": files[v]["checksum"]}
               for v, row in sorted(done.items(), key=lambda i: version_key(i[0]))
               if v in files and files[v]["checksum"] != row["checksum"]]
    renamed = [{"version": v, "applied_filename": row["filename"], "filename": files[v]["filename"],
                "name": files[v]["name"]}
               for v, row in sorted(done.items(), key=lambda i: version_key(i[0]))
               if v in files and files[v]["checksum"] == row["checksum"] and files[v]["filename"] != row["filename"]]
    missing = [row["filename"] for v, row in sorted(done.items(), key=lambda i: version_key(i[0]))
               if v not in files]
    current = max(done, key=version_key) if done else None
    limit = version_key(target) if target is not None else None
    pending = [m for m in migrations if m["version"] not in done
               and (limit is None or version_key(m["version"]) <= limit)]
    out_of_order = [m["filename"] for m in pending
                    if current is not None and version_key(m["version"]) < version_key(current)]
    return {"pending": pending, "drifted": drifted, "renamed": renamed, "missing": missing, "out_of_order": out_of_order,
            "current": current}


def split_statements(sql):
    """Pure: split SQL text into statements at top-level semicolons.

    Knows quoted strings, quoted identifiers, dollar quoting and both comment styles.
    Statements that hold only comments or blanks are dropped.
    """
    statements = []
    buf = []
    i = 0
    n = len(sql)
    while i < n:
        ch = sql[i]
        if ch == "-" and sql.startswith("--", i):
            end = sql.find("\n", i)
            end = n if end == -1 else end
            buf.append(sql[i:end])
            i = end
            continue
        if ch == "/" and sql.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if sql.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif sql.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            buf.append(sql[i:j])
            i = j
            continue
        if ch in ("'", '"'):
            j = i + 1
            while j < n:
                if sql[j] == ch:
                    if j + 1 < n and sql[j + 1] == ch:
                        j += 2
                        continue
                    break
                j += 1
            buf.append(sql[i:j + 1])
            i = j + 1
            continue
        if ch == "$":
            match = re.match(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$", sql[i:])
            if match and not (buf and re.match(r"[A-Za-z0-9_]", buf[-1][-1:] or " ")):
                tag = match.group(0)
                end = sql.find(tag, i + len(tag))
                end = n if end == -1 else end + len(tag)
                buf.append(sql[i:end])
                i = end
                continue
        if ch == ";":
            statements.append("".join(buf))
            buf = []
            i += 1
            continue
        buf.append(ch)
        i += 1
    statements.append("".join(buf))
    return [s.strip() for s in statements if _has_code(s)]


def _has_code(statement):
    text = re.sub(r"--[^\n]*", "", statement)
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.DOTALL)
    return bool(text.strip())


HISTORY_DDL = """
CREATE TABLE IF NOT EXISTS {table} (
    version       text PRIMARY KEY,
    name          text NOT NULL,
    filename      text NOT NULL,
    checksum      text NOT NULL,
    transactional boolean NOT NULL,
    success       boolean NOT NULL,
    applied_by    text NOT NULL,
    applied_as    text NOT NULL DEFAULT current_user,
    release       text,
    applied_at    timestamptz NOT NULL DEFAULT now(),
    duration_ms   integer NOT NULL DEFAULT 0
)"""


def lock_key(table):
    """A stable 63-bit advisory lock key per history table."""
    return int(hashlib.sha256(("golive.core.migrate:" + table).encode()).hexdigest()[:15], 16)


def _table_exists(conn, table):
    return pg.query(conn, "SELECT to_regclass(%s) IS NOT NULL AS present", (table,))[0]["present"]


def read_history(conn, table):
    if not _table_exists(conn, table):
        return []
    return pg.query(conn, "SELECT version, name, filename, checksum, success, applied_by, applied_at::text, "
                          "duration_ms FROM %s" % pg.quote_qualified(table))


def _acquire(conn, key, deadline, table):
    while True:
        if pg.query(conn, "SELECT pg_try_advisory_lock(%s) AS ok", (key,))[0]["ok"]:
            return
        if deadline.expired():
            holder = pg.query(conn, "SELECT a.pid, a.application_name, a.client_addr::text AS client, "
                                    "a.backend_start::text AS since FROM pg_locks l JOIN pg_stat_activity a "
                                    "ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted "
                                    "AND (l.classid::bigint << 32 | l.objid::bigint) = %s", (key,))
            raise Conflict("lock", "migration history %s" % table,
                           "another run holds the migration lock%s and did not release it within %.0fs" % (
                               " (pid %s, %s)" % (holder[0]["pid"], holder[0]["application_name"]) if holder else "",
                               deadline.seconds),
                           fix="Wait for the other run to finish, then run again", retryable=False)
        time.sleep(min(0.5, max(deadline.remaining(), 0.01)))


def _apply(conn, migration, table, applied_by, release):
    started = time.monotonic()
    ident = pg.quote_qualified(table)
    record = ("INSERT INTO " + ident + " (version, name, filename, checksum, transactional, success, applied_by, "
              "release, duration_ms) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (version) DO UPDATE "
              "SET name = EXCLUDED.name, filename = EXCLUDED.filename, checksum = EXCLUDED.checksum, "
              "success = EXCLUDED.success, applied_by = EXCLUDED.applied_by, applied_as = current_user, "
              "release = EXCLUDED.release, applied_at = now(), duration_ms = EXCLUDED.duration_ms")

    def row(success):
        return (migration["version"], migration["name"], migration["filename"], migration["checksum"],
                migration["transactional"], success, applied_by, release,
                int((time.monotonic() - started) * 1000))

    if migration["transactional"]:
        conn.autocommit = False
        try:
            with conn.cursor() as cur:
                cur.execute(migration["sql"])
                cur.execute(record, row(True))
            conn.commit()
        except Exception:
            if not conn.closed:
                conn.rollback()
            raise
        finally:
            if not conn.closed:
                conn.autocommit = True
    else:
        pg.query(conn, record, row(False))
        for statement in split_statements(migration["sql"]):
            pg.query(conn, statement)
        pg.query(conn, record, row(True))
    return int((time.monotonic() - started) * 1000)


def _diff(before, after, applied, renamed):
    out = {"before": {"version": before}, "after": {"version": after, "applied": applied}}
    if renamed:
        out["before"]["names"] = dict((r["version"], r["applied_filename"]) for r in renamed)
        out["after"]["names"] = dict((r["version"], r["filename"]) for r in renamed)
    return out


def _public(migration):
    return dict((k, migration[k]) for k in ("version", "name", "filename", "checksum", "transactional"))


def _rename(conn, table, renamed):
    ident = pg.quote_qualified(table)
    for item in renamed:
        pg.query(conn, "UPDATE " + ident + " SET name = %s, filename = %s WHERE version = %s",
                 (item["name"], item["filename"], item["version"]))


def migrate(server, path, target=None, table="public.golive_schema_history", lock_timeout=300,
            applied_by=None, release=None, session_role=None, accept_renames=False, check_mode=False, recorder=None):
    journal = recorder or NoJournal()
    migrations = load_migrations(path)
    if target is not None:
        target = normalise_version(target)
        if target not in [m["version"] for m in migrations]:
            raise InvalidInput("migrate", "to version %s" % target, "no migration file has that version")
    applied_by = applied_by or getpass.getuser()
    conn = pg.connect(server, autocommit=True, application_name="golive.core/migrate")
    applied = []
    result = {"changed": False, "applied": applied}
    try:
        key = lock_key(table)
        try:
            if session_role:
                pg.query(conn, "SET ROLE %s" % pg.quote_ident(session_role))
            _acquire(conn, key, Deadline(lock_timeout), table)
            history = read_history(conn, table)
        except pg.psycopg2.Error as exc:
            raise pg.classify(exc, server, verb="read the migration history of")
        steps = plan(migrations, history, target)
        result.update({"current_version": steps["current"], "pending": [_public(m) for m in steps["pending"]],
                       "target": target})
        if steps["drifted"]:
            raise PreconditionFailed(
                "migrate", server.describe(),
                "applied migration files changed since they ran: %s" % ", ".join(
                    "%s (applied %s, file now %s)" % (d["filename"], d["applied_checksum"][:12], d["file_checksum"][:12])
                    for d in steps["drifted"]),
                fix="Restore the original files; put changes in a new migration", result=result)
        renamed = steps["renamed"]
        result["renamed"] = renamed
        if renamed and not accept_renames:
            raise PreconditionFailed(
                "migrate", server.describe(),
                "applied migrations were renamed: %s" % ", ".join(
                    "version %s was applied as %s, the file is now %s" % (
                        r["version"], r["applied_filename"], r["filename"]) for r in renamed),
                fix="Restore the original names, or set accept_renames=true to record the new ones",
                result=result)
        if steps["missing"]:
            raise PreconditionFailed("migrate", server.describe(),
                                     "applied migrations have no file: %s" % ", ".join(steps["missing"]),
                                     fix="Restore the missing files", result=result)
        if steps["out_of_order"]:
            raise PreconditionFailed("migrate", server.describe(),
                                     "migrations older than the applied version %s are not applied: %s" % (
                                         steps["current"], ", ".join(steps["out_of_order"])),
                                     fix="Give them versions above %s" % steps["current"], result=result)
        after = steps["pending"][-1]["version"] if steps["pending"] else steps["current"]
        result["diff"] = _diff(steps["current"], after, [m["filename"] for m in steps["pending"]], renamed)
        result["undo"] = {"action": "restore the pre-migration backup", "version_before": steps["current"]}
        database = server.dbname
        backup = journal.outputs_of("golive.core.pg_backup", source=database) or {}
        undo = {"module": "golive.core.pg_restore", "database": database, "backup_id": backup.get("backup_id"),
                "environment": backup.get("environment")}
        if check_mode:
            result["changed"] = bool(steps["pending"] or renamed)
            return result
        with journal.step({"path": path, "target": target or ""}, pending=bool(steps["pending"] or renamed),
                          objects=["postgres database %s" % database], undo=undo,
                          before={"version": steps["current"]}) as outcome:
            outcome["changed"] = False
            if renamed:
                try:
                    _rename(conn, table, renamed)
                except pg.psycopg2.Error as exc:
                    raise pg.classify(exc, server, verb="record the renamed migrations in %s on" % table)
                result["changed"] = True
            if steps["pending"]:
                try:
                    pg.query(conn, HISTORY_DDL.format(table=pg.quote_qualified(table)))
                except pg.psycopg2.Error as exc:
                    raise pg.classify(exc, server, verb="create the migration history %s on" % table)
            for migration in steps["pending"]:
                try:
                    duration = _apply(conn, migration, table, applied_by, release)
                except pg.psycopg2.Error as exc:
                    error = pg.classify(exc, server, verb="apply migration %s to" % migration["filename"])
                    # What really happened: the migrations applied before this one, not the plan.
                    reached = applied[-1]["version"] if applied else steps["current"]
                    error.result = dict(result, changed=bool(applied or renamed), failed_migration=migration["filename"],
                                        current_version=reached,
                                        diff=_diff(steps["current"], reached, [m["filename"] for m in applied], renamed))
                    outcome.update(changed=error.result["changed"], outputs={
                        "current_version": reached, "applied": [m["version"] for m in applied]})
                    raise error
                applied.append(dict(_public(migration), duration_ms=duration))
                result["changed"] = True
            outcome.update(changed=result["changed"], outputs={
                "current_version": after, "applied": [m["version"] for m in applied]})
        result["current_version"] = after
        return result
    finally:
        if not conn.closed:
            conn.close()

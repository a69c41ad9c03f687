# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rollback restore: a labelled backup replaces a database, and nothing is lost.

The backup is restored into a new database and verified against its manifest while
the application keeps running. Only then are connections blocked and terminated
(PgBouncer's clients of that database are dropped and held with ``KILL``/``RESUME``
when its admin console is configured), and in one transaction the current database
is renamed to ``<name>_before_<UTC time>`` and the restored one takes its name.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import re
import subprocess
import threading
import time
import uuid

from ansible_collections.golive.core.plugins.module_utils.common import clock
from ansible_collections.golive.core.plugins.module_utils.common.errors import (
    Conflict,
    GoliveError,
    Refused,
    VerificationFailed,
)
from ansible_collections.golive.core.plugins.module_utils.common.retry import Deadline, retry
from ansible_collections.golive.core.plugins.module_utils.common.journal import NoJournal
from ansible_collections.golive.core.plugins.module_utils.postgres import backup as pgbackup
from ansible_collections.golive.core.plugins.module_utils.postgres import connection as pg
from ansible_collections.golive.core.plugins.module_utils.postgres import kept as keptdb
from ansible_collections.golive.core.plugins.module_utils.postgres import figures as pgfigures
from ansible_collections.golive.core.plugins.module_utils.postgres import tools
from ansible_collections.golive.core.plugins.module_utils.postgres import writes


MAX_IDENT = 63


def scratch_name(prefix, backup_id, suffix=None):
    """A database name of at most 63 bytes, unique per call."""
    suffix = suffix or uuid.uuid4().hex[:8]
    stem = "%s_%s" % (prefix, backup_id.lower().replace("-", "_").replace(".", "_"))
    return "%s_%s" % (stem[:MAX_IDENT - len(suffix) - 1], suffix)


# ---------------------------------------------------------------------------
# Restore into a new database, verified against the manifest
# ---------------------------------------------------------------------------

def create_database(admin, name, owner=None):
    sql = "CREATE DATABASE %s TEMPLATE template0" % pg.quote_ident(name)
    if owner:
        sql += " OWNER %s" % pg.quote_ident(owner)
    pg.query(admin, sql)


def drop_database(admin, name):
    pg.query(admin, "DROP DATABASE IF EXISTS %s WITH (FORCE)" % pg.quote_ident(name))


class _SafeWriter:
    """Writes to a pipe until the reader goes away, then only counts (so the
    download still finishes and its hash can be compared)."""

    def __init__(self, pipe):
        self.pipe = pipe
        self.broken = False

    def write(self, data):
        if not self.broken:
            try:
                self.pipe.write(data)
            except (BrokenPipeError, OSError):
                self.broken = True
        return len(data)


class _RestoreWatcher:
    """Follows ``pg_restore --verbose``: once it moves past a table's data, that table
    is complete, and its figures are computed while the restore goes on (indexes,
    constraints). Keeps the last lines for error messages."""

    _DATA = re.compile(r'^pg_restore: processing data for table "(?P<schema>[^".]+)\.(?P<name>[^"]+)"$')

    def __init__(self, workers):
        self.workers = workers
        self.lines = collections.deque(maxlen=6)

    def follow(self, stream):
        pending = None
        for raw in iter(stream.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\n")
            if not line.startswith("pg_restore: processing") and not line.startswith("pg_restore: creating") \
                    and not line.startswith("pg_restore: connecting"):
                self.lines.append(line)
            if not line.startswith("pg_restore: "):
                continue
            if pending is not None and self.workers is not None:
                self.workers.submit(*pending)
                pending = None
            match = self._DATA.match(line)
            if match:
                pending = (match.group("schema"), match.group("name"))
        stream.close()

    def tail(self):
        lines = [line.strip() for line in self.lines if line.strip()]
        return "; ".join(lines[-3:])


def restore_into(server, store, manifest, dbname, bindir=None, jobs=2, owner=None):
    """Create ``dbname``, restore the backup into it from S3 and compare its figures
    with the manifest. Raises ``VerificationFailed`` naming every difference; the
    database is left in place either way (the caller drops or keeps it).
    Returns ``{restore_seconds, download, figures}``."""
    started = time.monotonic()
    admin = pg.connect(server, autocommit=True, application_name="golive.core/restore")
    try:
        try:
            major = int(pg.query(admin, "SELECT current_setting('server_version_num')::int AS v")[0]["v"]) // 10000
            create_database(admin, dbname, owner)
        except pg.psycopg2.Error as exc:
            raise pg.classify(exc, server, verb="create database %s on" % dbname)
    finally:
        admin.close()
    tool = tools.find_tool("pg_restore", bindir, major)
    method = manifest.get("checksum_method") or "sum-md5-64"
    workers = pgfigures.FigureWorkers(server, dbname, jobs, method=method) if jobs else None
    watcher = _RestoreWatcher(workers)
    try:
        proc = subprocess.Popen([tool, "--exit-on-error", "--no-password", "--verbose", "--dbname", dbname],
                                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                env=tools.libpq_env(server, dbname), close_fds=True)
        reader = threading.Thread(target=watcher.follow, args=(proc.stderr,))
        reader.daemon = True
        reader.start()
        writer = _SafeWriter(proc.stdin)
        try:
            download = store.download(manifest, pgbackup.DUMP_NAME, writer)
        finally:
            try:
                proc.stdin.close()
            except (BrokenPipeError, OSError):
                pass
            code = proc.wait()
            reader.join()
        differences = pgfigures.compare_object(manifest["objects"][pgbackup.DUMP_NAME], download)
        if code != 0:
            differences.insert(0, "pg_restore exited with code %s: %s" % (code, watcher.tail() or "no message"))
        figures = None
        if not differences:
            workers = workers or pgfigures.FigureWorkers(server, dbname, 1, method=method)
            figures = workers.finish()
            workers = None
            differences = pgfigures.compare_manifest(manifest, figures)
    finally:
        if workers is not None:
            workers.close()
    elapsed = round(time.monotonic() - started, 3)
    if differences:
        raise VerificationFailed(
            "verify", "backup %s (%s)" % (manifest["id"], store.url(manifest["objects"][pgbackup.DUMP_NAME]["key"])),
            "; ".join(differences[:20]) + (" (and %d more)" % (len(differences) - 20) if len(differences) > 20 else ""),
            result={"backup_id": manifest["id"], "differences": differences, "restore_seconds": elapsed})
    return {"restore_seconds": elapsed, "download": download, "figures": figures}


# ---------------------------------------------------------------------------
# The rollback restore: swap the restored database in, keep the current one
# ---------------------------------------------------------------------------

def names(target, now):
    """Pure: the new database's name and the name the current one is kept under."""
    stamp = now.strftime("%Y%m%d%H%M%S")
    stem = target[:MAX_IDENT - len(stamp) - len("_restoring_")]
    return "%s_restoring_%s" % (stem, stamp), "%s_before_%s" % (stem, stamp)


def plan(target, manifest, now, target_exists=True, pgbouncer=False, pinned=None):
    """Pure: the steps of a restore, each with a one-line description. ``pinned`` is the
    ``(new, kept)`` names of an interrupted attempt being resumed."""
    new, kept = pinned or names(target, now)
    summary = pgbackup.summarize_manifest(manifest)
    steps = [
        ("create", "create database %s" % new),
        ("restore", "restore backup %s (%s, %d bytes) into %s" % (
            manifest["id"], manifest["label"], summary["size"], new)),
        ("verify", "compare %s with the manifest (sha256, size, schema hash, %d tables, %d rows)" % (
            new, summary["tables"], summary["rows"])),
    ]
    if target_exists:
        steps.append(("block", "refuse new connections to %s" % target))
        if pgbouncer:
            steps.append(("pgbouncer_kill", "drop and hold PgBouncer clients of %s (KILL)" % target))
        steps.append(("terminate", "terminate the sessions connected to %s" % target))
        steps.append(("swap", "rename %s to %s and %s to %s in one transaction" % (target, kept, new, target)))
        steps.append(("unblock", "allow connections to %s (kept)" % kept))
    else:
        steps.append(("swap", "rename %s to %s" % (new, target)))
    if pgbouncer and target_exists:
        steps.append(("pgbouncer_resume", "resume PgBouncer clients of %s (RESUME)" % target))
    return {"new": new, "kept": kept if target_exists else None,
            "steps": [{"step": key, "description": text} for key, text in steps]}


def _elsewhere(manifest, server, target):
    """Pure: a warning when the backup was taken on another server than the one restored
    (a replacement server is fine; the same database name on another cluster sharing the
    bucket without an environment is what this points at)."""
    source = manifest.get("source") or {}
    taken = (source.get("host"), str(source.get("port") or ""))
    here = (server.host, str(server.port or ""))
    if not source.get("host") or taken == here:
        return []
    return ["Backup %s of database %s was taken on %s:%s; it is being restored into %s on %s:%s. If other "
            "servers with a database of that name share the bucket, give each its own environment." % (
                manifest["id"], source.get("database"), taken[0], taken[1], target, here[0], here[1])]


def _bouncer(options):
    server = pg.PgServer.pgbouncer(options)
    return pg.connect(server, autocommit=True, application_name="golive.core/restore"), server


def _bouncer_command(conn, server, command, database):
    """KILL/RESUME one database. Returns False when PgBouncer does not know the database
    (or, for RESUME, when it is not paused), True when the command was applied."""
    try:
        pg.query(conn, "%s %s" % (command, pg.quote_ident(database)))
        return True
    except pg.psycopg2.Error as exc:
        text = str(exc).lower()
        if "not paused" in text or "no such database" in text or "does not exist" in text:
            return False
        raise pg.classify(exc, server, verb="%s %s on PgBouncer" % (command, database))


def _swap(admin, target, new, kept, deadline, comment=None):
    """Terminate the sessions of ``target`` and rename both databases in one transaction;
    ``comment`` says on the kept one why it is there (golive.core.pg_kept reads it)."""

    def attempt():
        pg.query(admin, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = %s AND pid <> pg_backend_pid()", (target,))
        time.sleep(0.1)
        try:
            admin.autocommit = False
            with admin.cursor() as cur:
                cur.execute("ALTER DATABASE %s RENAME TO %s" % (pg.quote_ident(target), pg.quote_ident(kept)))
                cur.execute("ALTER DATABASE %s RENAME TO %s" % (pg.quote_ident(new), pg.quote_ident(target)))
                if comment:
                    cur.execute("COMMENT ON DATABASE %s IS %%s" % pg.quote_ident(kept), (comment,))
            admin.commit()
        except pg.psycopg2.Error as exc:
            admin.rollback()
            if "being accessed by other users" in str(exc):
                raise Conflict("rename", "database %s" % target, pg.describe_exception(exc))
            raise
        finally:
            admin.autocommit = True

    retry(attempt, deadline, what="swap databases %s and %s" % (target, new))


def _interrupted(journal):
    """``(new, kept)`` of an attempt of this ledger step that started and never finished."""
    before = journal.interrupted()
    if before and before.get("restoring"):
        return before["restoring"], before.get("kept")
    return None


def _exists(admin, name):
    return bool(name) and bool(pg.query(admin, "SELECT 1 AS found FROM pg_database WHERE datname = %s", (name,)))


def written_since(server, target, manifest):
    """The rows written to ``target`` since ``manifest``'s backup, per table, from statistics
    (what the restore keeps aside in the previous database); ``{"error": ...}`` when the
    statistics cannot be read (the restore does not depend on them)."""
    try:
        conn = pg.connect(server.on(target), autocommit=True, application_name="golive.core/restore")
    except GoliveError as exc:
        return {"method": "unknown", "error": str(exc)}
    try:
        now = writes.counters(lambda sql: pg.query(conn, sql))
    except pg.psycopg2.Error as exc:
        return {"method": "unknown", "error": str(pg.classify(exc, server, verb="read the statistics of"))}
    finally:
        conn.close()
    rows = dict((name, figures.get("rows")) for name, figures in (manifest.get("tables") or {}).items())
    return dict(writes.since(manifest.get("write_counters"), now, rows), database=target, backup_id=manifest["id"],
                backup_taken=manifest.get("created_at"))


def restore(server, store, target, release, label=None, backup_id=None, source=None, environment=None,
            create=False, pgbouncer=None, bindir=None, jobs=2, timeout=1800, check_mode=False, recorder=None):
    """Replace ``target`` with a backup of ``source`` (by default ``target`` itself) of
    ``release``; see the module doc. With a ledger ``journal``, a step already done with the
    same inputs is not done again, and an interrupted one (killed) is resumed under the
    names it started with: if its swap happened, it only finishes; otherwise its partial
    copy is dropped and the restore runs again."""
    journal = recorder or NoJournal()
    if not release:
        raise Refused("restore", "database %s" % target, "no release id given",
                      fix="Pass the release id whose pre-deploy backup is to be restored")
    label = label or "pre-deploy-%s" % release
    manifest = store.find(pgbackup.identity(source or target, environment), backup_id=backup_id, label=label)
    if manifest.get("release") != release:
        raise Refused("restore", "database %s" % target,
                      "backup %s belongs to release %s, not %s" % (manifest["id"], manifest.get("release"), release),
                      fix="Check the release id")
    admin_server = server.on(server.dbname if server.dbname != target else "postgres")
    admin = pg.connect(admin_server, autocommit=True, application_name="golive.core/restore")
    deadline = Deadline(timeout)
    now = clock.utcnow()
    applied = []
    try:
        found = pg.query(admin, "SELECT pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = %s",
                         (target,))
        if not found and not create:
            raise Refused("restore", "database %s" % target,
                          "it does not exist on %s:%s" % (server.host, server.port),
                          fix="Check the database name, or set create=true to create it from backup %s"
                          % manifest["id"])
        pinned = _interrupted(journal)
        steps = plan(target, manifest, now, bool(found), bool(pgbouncer and pgbouncer.get("host")), pinned)
        result = {"warnings": _elsewhere(manifest, server, target),
                  "writes_since_backup": written_since(admin_server, target, manifest) if found and not pinned else None,
                  "changed": True, "backup_id": manifest["id"], "label": manifest["label"], "release": release,
                  "database": target, "restored_from": pgbackup.summarize_manifest(manifest),
                  "steps": steps["steps"], "previous_database": steps["kept"], "applied": applied,
                  "diff": {"before": {"database": target, "content": "current" if found else None},
                           "after": {"database": target, "content": "backup %s" % manifest["id"],
                                     "previous_kept_as": steps["kept"]}}}
        inputs = {"database": target, "backup_id": manifest["id"], "release": release}
        if journal.done_before(inputs):
            before = (journal.previous().get("intent") or {}).get("before") or {}
            result.update(changed=False, steps=[], previous_database=before.get("kept"))
            result.pop("diff")
            return result
        if check_mode:
            return result
        with journal.step(inputs, objects=["postgres database %s" % target],
                          undo={"module": "golive.core.pg_restore", "action": "swap back", "database": target,
                                "previous_database": steps["kept"]},
                          before={"database": target, "restoring": steps["new"], "kept": steps["kept"],
                                  "backup_id": manifest["id"]}) as outcome:
            try:
                _restore_and_swap(admin, admin_server, store, manifest, target, found, steps, pinned, pgbouncer,
                                  bindir, jobs, deadline, result, applied)
            finally:
                outcome["changed"] = bool(applied)
            outcome.update(changed=True, outputs={"previous_database": steps["kept"], "backup_id": manifest["id"],
                                                  "applied": applied})
        return result
    except pg.psycopg2.Error as exc:
        raise pg.classify(exc, admin_server, verb="restore database %s on" % target)
    finally:
        admin.close()


def _restore_and_swap(admin, admin_server, store, manifest, target, found, steps, pinned, pgbouncer, bindir, jobs,
                      deadline, result, applied):
    if pinned and found and _exists(admin, steps["kept"]):
        # The interrupted attempt swapped already: the target is the restored database.
        pg.query(admin, "ALTER DATABASE %s WITH ALLOW_CONNECTIONS true" % pg.quote_ident(steps["kept"]))
        if pgbouncer and pgbouncer.get("host"):
            bouncer, bouncer_server = _bouncer(pgbouncer)
            try:
                _bouncer_command(bouncer, bouncer_server, "RESUME", target)
            except GoliveError:
                pass  # not paused: the interrupted attempt resumed it
            finally:
                bouncer.close()
        applied.extend(["swap (by the interrupted attempt)", "unblock"])
        result["resumed"] = True
        result["undo"] = {"action": "swap back", "database": target, "previous_database": steps["kept"]}
        return
    if pinned and _exists(admin, steps["new"]):
        drop_database(admin, steps["new"])  # the interrupted attempt's partial copy
        result["resumed"] = True
    owner = found[0]["owner"] if found else None
    try:
        restore_into(admin_server, store, manifest, steps["new"], bindir=bindir, jobs=jobs, owner=owner)
    except GoliveError:
        drop_database(admin, steps["new"])
        raise
    applied.extend(["create", "restore", "verify"])
    if not found:
        pg.query(admin, "ALTER DATABASE %s RENAME TO %s" % (pg.quote_ident(steps["new"]), pg.quote_ident(target)))
        applied.append("swap")
        result["undo"] = {"action": "drop", "database": target}
        return
    bouncer = None
    paused = False
    try:
        pg.query(admin, "ALTER DATABASE %s WITH ALLOW_CONNECTIONS false" % pg.quote_ident(target))
        applied.append("block")
        if pgbouncer and pgbouncer.get("host"):
            bouncer, bouncer_server = _bouncer(pgbouncer)
            paused = True
            _bouncer_command(bouncer, bouncer_server, "KILL", target)
            applied.append("pgbouncer_kill")
        applied.append("terminate")
        _swap(admin, target, steps["new"], steps["kept"], deadline.child(60),
              comment=keptdb.comment_of(target, manifest, result.get("release"), result.get("writes_since_backup")))
        applied.append("swap")
    except pg.psycopg2.Error as exc:
        raise pg.classify(exc, admin_server, verb="swap databases on")
    finally:
        # Whichever name it has now, the old database accepts connections again.
        still = target if "swap" not in applied else steps["kept"]
        pg.query(admin, "ALTER DATABASE %s WITH ALLOW_CONNECTIONS true" % pg.quote_ident(still))
        applied.append("unblock")
        if bouncer is not None:
            if paused:
                _bouncer_command(bouncer, bouncer_server, "RESUME", target)
                applied.append("pgbouncer_resume")
            bouncer.close()
    result["undo"] = {"action": "swap back", "database": target, "previous_database": steps["kept"]}

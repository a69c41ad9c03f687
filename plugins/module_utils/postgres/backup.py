# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Backups that provably restore: pg_dump streamed to S3 with a manifest, and the
restore of such a backup into a fresh database, verified against its manifest.

A backup is ``pg_dump -Fc`` read from its stdout, hashed and uploaded in parts while
it runs (no local copy). In the same snapshot (``pg_export_snapshot()`` shared with
``pg_dump --snapshot``) and in parallel with the dump, the service counts the rows of
every table, computes an order-independent checksum of their contents and a hash of
the schema. The manifest holding these figures is written last.

A restore streams the object from S3 into ``pg_restore``'s stdin, hashes it on the
way, then recomputes the same figures in the restored database and compares them.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
import uuid

from ansible_collections.golive.core.plugins.module_utils.common.errors import (
    BackendError,
    GoliveError,
    InvalidInput,
    NotFound,
    PreconditionFailed,
    VerificationFailed,
    describe_exception,
)
from ansible_collections.golive.core.plugins.module_utils.postgres import connection as pg
from ansible_collections.golive.core.plugins.module_utils.storage import s3

KIND = "postgres"
DUMP_NAME = "dump"
MAX_IDENT = 63

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


def compare_object(expected, observed):
    """Pure: differences between a manifest's object record and what was downloaded."""
    diffs = []
    if expected.get("size") != observed.get("size"):
        diffs.append("size %s bytes, expected %s" % (observed.get("size"), expected.get("size")))
    if expected.get("sha256") != observed.get("sha256"):
        diffs.append("sha256 %s, expected %s" % (observed.get("sha256", "")[:12], expected.get("sha256", "")[:12]))
    return diffs


def store_from_params(params):
    """The backup store named by a module's ``bucket``/``prefix`` and ``aws_*`` options."""
    return s3.BackupStore(s3.session_client("s3", params), params["bucket"], params.get("prefix") or KIND)


def scratch_name(prefix, backup_id, suffix=None):
    """A database name of at most 63 bytes, unique per call."""
    suffix = suffix or uuid.uuid4().hex[:8]
    stem = "%s_%s" % (prefix, backup_id.lower().replace("-", "_").replace(".", "_"))
    return "%s_%s" % (stem[:MAX_IDENT - len(suffix) - 1], suffix)


# ---------------------------------------------------------------------------
# Tools (pg_dump / pg_restore) and their environment
# ---------------------------------------------------------------------------

_LIBPQ_ENV = {"host": "PGHOST", "port": "PGPORT", "user": "PGUSER", "dbname": "PGDATABASE",
              "connect_timeout": "PGCONNECT_TIMEOUT", "password": "PGPASSWORD", "sslmode": "PGSSLMODE",
              "sslrootcert": "PGSSLROOTCERT"}


def libpq_env(params, dbname=None):
    """Environment for libpq tools: the password goes here, never on a command line."""
    env = dict((k, v) for k, v in os.environ.items() if not k.startswith("PG"))
    env.update((_LIBPQ_ENV[key], str(value)) for key, value in pg.libpq_settings(params, dbname).items())
    env["PGAPPNAME"] = "golive.core"
    return env


def find_tool(name, bindir=None, server_major=None):
    """Path of a PostgreSQL client tool: ``bindir``, the server's major version, or PATH."""
    candidates = []
    if bindir:
        candidates.append(os.path.join(bindir, name))
    if server_major:
        candidates.append("/usr/lib/postgresql/%s/bin/%s" % (server_major, name))
    for path in candidates:
        if os.access(path, os.X_OK):
            return path
    if bindir:
        raise InvalidInput("find", name, "%s is not an executable" % candidates[0],
                           fix="Set bindir to the directory of the PostgreSQL client tools")
    found = shutil.which(name)
    if not found:
        raise InvalidInput("find", name, "not in PATH",
                           fix="Install the PostgreSQL client tools or set bindir")
    return found


def _tail(path, limit=600):
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - limit))
            text = handle.read().decode("utf-8", "replace")
    except OSError:
        return ""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return "; ".join(lines[-3:])


class _ProcessReader:
    """A process's stdout as a reader that raises at EOF when the process failed,
    so an upload fed by it is aborted instead of completed with a truncated dump."""

    def __init__(self, proc, what, stderr_path):
        self.proc = proc
        self.what = what
        self.stderr_path = stderr_path

    def read(self, size):
        # Unbuffered reads straight from the pipe: whatever is there, up to 1 MiB.
        data = os.read(self.proc.stdout.fileno(), min(size, 1 << 20))
        if not data:
            code = self.proc.wait()
            if code != 0:
                raise BackendError("run", self.what, "exited with code %s: %s" % (
                    code, _tail(self.stderr_path) or "no message"))
        return data


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

    def __init__(self, params, dbname, jobs=1, snapshot=None, method=DEFAULT_CHECKSUM):
        self.params = dict(params, login_db=dbname)
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
                conn = pg.connect(self.params, autocommit=True, application_name="golive.core/figures")
                self.conns.append(conn)
                _begin_snapshot(conn, snapshot)
        except pg.psycopg2.Error as exc:
            self.close()
            raise pg.classify(exc, self.params, verb="read the figures of")
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
            raise pg.classify(exc, self.params, verb="read the figures of")
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
                raise pg.classify(exc, self.params, verb="read the figures of")
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


def collect_figures(params, dbname, snapshot=None, jobs=1, method=DEFAULT_CHECKSUM):
    """Per-table row counts and checksums plus the schema hash of ``dbname``."""
    return FigureWorkers(params, dbname, jobs, snapshot, method).finish()


def server_facts(conn):
    row = pg.query(conn, """
        SELECT current_setting('server_version') AS server_version,
               current_setting('server_version_num')::int AS server_version_num,
               pg_is_in_recovery() AS in_recovery,
               CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn()
                    ELSE pg_current_wal_lsn() END::text AS wal_lsn,
               current_database() AS database""")[0]
    return row


# ---------------------------------------------------------------------------
# Backup
# ---------------------------------------------------------------------------

def backup(params, store, label, release=None, bindir=None, part_size=s3.DEFAULT_PART_SIZE,
           compress=None, jobs=2, retention=None, if_exists="new", check_mode=False):
    """Dump ``params['login_db']`` to the store; return the result with the manifest."""
    s3.validate_label(label)
    if if_exists == "reuse":
        existing = [m for m in store.manifests(kind=KIND, label=label)
                    if m.get("source", {}).get("database") == (params.get("login_db") or "postgres")]
        if existing:
            manifest = existing[0]
            return _backup_result(store, manifest, False, reused=True)
    if check_mode:
        return {"changed": True, "backup_id": None, "label": label,
                "msg": "would dump database %s to %s" % (params.get("login_db"), store.url(store.prefix + "/")),
                "diff": {"before": {}, "after": {"label": label, "database": params.get("login_db")}}}
    started = time.monotonic()
    created = s3.utcnow()
    backup_id = s3.new_backup_id(label, created)
    conn = pg.connect(params, autocommit=True, application_name="golive.core/backup")
    workdir = tempfile.mkdtemp(prefix="golive-pgdump-")
    proc = None
    try:
        try:
            facts = server_facts(conn)
            pg.query(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            snapshot = pg.query(conn, "SELECT pg_export_snapshot() AS s")[0]["s"]
        except pg.psycopg2.Error as exc:
            raise pg.classify(exc, params, verb="open a snapshot of")
        tool = find_tool("pg_dump", bindir, facts["server_version_num"] // 10000)
        argv = [tool, "--format=custom", "--snapshot=%s" % snapshot, "--no-password"]
        if compress is not None:
            argv.append("--compress=%d" % compress)
        stderr_path = os.path.join(workdir, "pg_dump.err")
        figures = {}

        def figures_worker():
            try:
                figures["value"] = collect_figures(params, facts["database"], snapshot, jobs)
            except Exception as exc:  # noqa: BLE001 - re-raised in the caller
                figures["error"] = exc

        worker = threading.Thread(target=figures_worker)
        worker.daemon = True
        with open(stderr_path, "wb") as stderr:
            proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=stderr, env=libpq_env(params),
                                    close_fds=True, bufsize=0)
        worker.start()
        reader = _ProcessReader(proc, "pg_dump of database %s" % facts["database"], stderr_path)
        obj = store.upload(backup_id, DUMP_NAME, reader, part_size)
        obj["format"] = "pg_dump-custom"
        worker.join()
        if "error" in figures:
            err = figures["error"]
            raise err if isinstance(err, GoliveError) else BackendError(
                "read the figures of", "database %s" % facts["database"], describe_exception(err))
        manifest = store.write_manifest(backup_id, label, KIND, {DUMP_NAME: obj}, created, extra={
            "release": release,
            "source": {"host": params.get("login_host"), "port": params.get("login_port"),
                       "database": facts["database"]},
            "server_version": facts["server_version"],
            "server_version_num": facts["server_version_num"],
            "wal_lsn": facts["wal_lsn"],
            "snapshot": snapshot,
            "schema_hash": figures["value"]["schema_hash"],
            "checksum_method": figures["value"]["checksum_method"],
            "tables": figures["value"]["tables"],
            "tool": os.path.basename(tool),
            "duration_seconds": round(time.monotonic() - started, 3),
        })
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc is not None and proc.stdout:
            proc.stdout.close()
        conn.close()
        shutil.rmtree(workdir, ignore_errors=True)
    result = _backup_result(store, manifest, True)
    if retention:
        result["retention"] = store.retain(retention, KIND, protect=(manifest["id"],))
    return result


def summarize_manifest(manifest):
    dump = manifest["objects"][DUMP_NAME]
    tables = manifest.get("tables") or {}
    return {
        "id": manifest["id"], "label": manifest["label"], "release": manifest.get("release"),
        "created_at": manifest["created_at"], "completed_at": manifest.get("completed_at"),
        "database": manifest.get("source", {}).get("database"),
        "server_version": manifest.get("server_version"), "wal_lsn": manifest.get("wal_lsn"),
        "key": dump["key"], "size": dump["size"], "sha256": dump["sha256"],
        "schema_hash": manifest.get("schema_hash"), "tables": len(tables),
        "rows": sum(t["rows"] for t in tables.values()),
        "duration_seconds": manifest.get("duration_seconds"),
    }


def _backup_result(store, manifest, changed, reused=False):
    summary = summarize_manifest(manifest)
    return {
        "changed": changed,
        "backup_id": manifest["id"],
        "label": manifest["label"],
        "reused": reused,
        "backup": summary,
        "location": store.url(store.key(manifest["id"], s3.MANIFEST_NAME)),
        "diff": {"before": {}, "after": {"backup_id": manifest["id"], "label": manifest["label"]}}
        if changed else {"before": {}, "after": {}},
        "undo": {"action": "restore", "backup_id": manifest["id"], "label": manifest["label"],
                 "release": manifest.get("release"), "database": summary["database"]},
    }


# ---------------------------------------------------------------------------
# Restore into a new database, and verification
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


def restore_into(params, store, manifest, dbname, bindir=None, jobs=2, owner=None):
    """Create ``dbname``, restore the backup into it from S3 and compare its figures
    with the manifest. Raises ``VerificationFailed`` naming every difference; the
    database is left in place either way (the caller drops or keeps it).
    Returns ``{restore_seconds, download, figures}``."""
    started = time.monotonic()
    admin = pg.connect(params, autocommit=True, application_name="golive.core/restore")
    try:
        try:
            major = int(pg.query(admin, "SELECT current_setting('server_version_num')::int AS v")[0]["v"]) // 10000
            create_database(admin, dbname, owner)
        except pg.psycopg2.Error as exc:
            raise pg.classify(exc, params, verb="create database %s on" % dbname)
    finally:
        admin.close()
    tool = find_tool("pg_restore", bindir, major)
    method = manifest.get("checksum_method") or "sum-md5-64"
    workers = FigureWorkers(params, dbname, jobs, method=method) if jobs else None
    watcher = _RestoreWatcher(workers)
    try:
        proc = subprocess.Popen([tool, "--exit-on-error", "--no-password", "--verbose", "--dbname", dbname],
                                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                env=libpq_env(params, dbname), close_fds=True)
        reader = threading.Thread(target=watcher.follow, args=(proc.stderr,))
        reader.daemon = True
        reader.start()
        writer = _SafeWriter(proc.stdin)
        try:
            download = store.download(manifest, DUMP_NAME, writer)
        finally:
            try:
                proc.stdin.close()
            except (BrokenPipeError, OSError):
                pass
            code = proc.wait()
            reader.join()
        differences = compare_object(manifest["objects"][DUMP_NAME], download)
        if code != 0:
            differences.insert(0, "pg_restore exited with code %s: %s" % (code, watcher.tail() or "no message"))
        figures = None
        if not differences:
            workers = workers or FigureWorkers(params, dbname, 1, method=method)
            figures = workers.finish()
            workers = None
            differences = compare_manifest(manifest, figures)
    finally:
        if workers is not None:
            workers.close()
    elapsed = round(time.monotonic() - started, 3)
    if differences:
        raise VerificationFailed(
            "verify", "backup %s (%s)" % (manifest["id"], store.url(manifest["objects"][DUMP_NAME]["key"])),
            "; ".join(differences[:20]) + (" (and %d more)" % (len(differences) - 20) if len(differences) > 20 else ""),
            result={"backup_id": manifest["id"], "differences": differences, "restore_seconds": elapsed})
    return {"restore_seconds": elapsed, "download": download, "figures": figures}


def verify(params, store, backup_id=None, label=None, rto_seconds=None, bindir=None, jobs=2,
           scratch_prefix="golive_verify", check_mode=False):
    """Restore a backup into a scratch database, compare, drop it; report against the RTO."""
    from ansible_collections.golive.core.plugins.module_utils.common.checks import check

    try:
        manifest = store.find(backup_id=backup_id, label=label, kind=KIND)
    except NotFound:
        if not check_mode:
            raise
        # A check run before the first backup: the backup taken before this step is verified.
        return {"changed": False, "backup_id": None, "label": label, "checks": [],
                "steps": ["find the newest complete backup (none yet: the run takes one first)",
                          "restore it into a scratch database, compare it with its manifest, drop it"]}
    summary = summarize_manifest(manifest)
    if manifest.get("kind") != KIND:
        raise PreconditionFailed("verify", "backup %s" % manifest["id"], "it is a %s backup" % manifest.get("kind"))
    dbname = scratch_name(scratch_prefix, manifest["id"])
    result = {"changed": False, "backup_id": manifest["id"], "label": manifest["label"], "backup": summary,
              "scratch_database": dbname}
    if check_mode:
        result["steps"] = ["create scratch database %s" % dbname,
                           "restore %s into it from %s" % (manifest["id"], summary["key"]),
                           "compare sha256, size, schema hash and %d table figures" % summary["tables"],
                           "drop scratch database %s" % dbname]
        result["checks"] = []
        return result
    try:
        outcome = restore_into(params, store, manifest, dbname, bindir=bindir, jobs=jobs)
    except GoliveError as exc:
        exc.result.update(scratch_database=dbname, label=manifest["label"])
        raise
    finally:
        admin = pg.connect(params, autocommit=True, application_name="golive.core/restore")
        try:
            drop_database(admin, dbname)
        except pg.psycopg2.Error as exc:
            raise pg.classify(exc, params, verb="drop scratch database %s on" % dbname)
        finally:
            admin.close()
    seconds = outcome["restore_seconds"]
    result["restore_seconds"] = seconds
    result["rto_seconds"] = rto_seconds
    result["checks"] = [check(
        "pg.backup_restore", "The newest backup restores and matches its manifest within the RTO",
        rto_seconds is None or seconds <= rto_seconds,
        {"backup_id": manifest["id"], "label": manifest["label"], "size": summary["size"],
         "tables": summary["tables"], "rows": summary["rows"], "restore_seconds": seconds,
         "rto_seconds": rto_seconds, "sha256_match": True, "figures_match": True},
        "Test backup restoration")]
    return result


def store_argument_spec():
    """Where the PostgreSQL backups live and the tools that read and write them
    (doc fragment ``pg_backup_store``): shared by pg_backup, pg_backup_verify and pg_restore."""
    return dict(
        bucket=dict(type="str", required=True),
        prefix=dict(type="str", default="postgres"),
        bindir=dict(type="path"),
        jobs=dict(type="int", default=2),
    )

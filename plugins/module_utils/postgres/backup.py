# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PostgreSQL's engine for the shared backup runner (``storage/runner.py``).

A backup is ``pg_dump -Fc`` read from its stdout, hashed and uploaded in parts while
it runs (no local copy). In the same snapshot (``pg_export_snapshot()`` shared with
``pg_dump --snapshot``) and in parallel with the dump, the figures of every table and
the schema hash are computed (``figures.py``); the runner writes them into the
manifest, last. Restoring and verifying live in ``restore.py``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil
import subprocess
import tempfile
import threading

from ansible_collections.golive.core.plugins.module_utils.common.errors import (
    BackendError,
    GoliveError,
    describe_exception,
)
from ansible_collections.golive.core.plugins.module_utils.postgres import connection as pg
from ansible_collections.golive.core.plugins.module_utils.postgres import figures as pgfigures
from ansible_collections.golive.core.plugins.module_utils.postgres import tools
from ansible_collections.golive.core.plugins.module_utils.postgres import writes
from ansible_collections.golive.core.plugins.module_utils.storage import catalog
from ansible_collections.golive.core.plugins.module_utils.storage import s3

KIND = "postgres"
DUMP_NAME = "dump"
DEFAULT_PREFIX = "postgres"


def identity(database, environment=None):
    """The identity of the backups of ``database``."""
    return catalog.Identity(KIND, database, environment)


def server_facts(conn):
    return pg.query(conn, """
        SELECT current_setting('server_version') AS server_version,
               current_setting('server_version_num')::int AS server_version_num,
               pg_is_in_recovery() AS in_recovery,
               CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn()
                    ELSE pg_current_wal_lsn() END::text AS wal_lsn,
               current_database() AS database""")[0]


def summarize_manifest(manifest):
    dump = manifest["objects"][DUMP_NAME]
    tables = manifest.get("tables") or {}
    return {
        "id": manifest["id"], "label": manifest["label"], "release": manifest.get("release"),
        "created_at": manifest["created_at"], "completed_at": manifest.get("completed_at"),
        "database": manifest.get("source", {}).get("database"),
        "environment": (manifest.get("identity") or {}).get("environment"),
        "server_version": manifest.get("server_version"), "wal_lsn": manifest.get("wal_lsn"),
        "key": dump["key"], "size": dump["size"], "sha256": dump["sha256"],
        "schema_hash": manifest.get("schema_hash"), "tables": len(tables),
        "rows": sum(t["rows"] for t in tables.values()),
        "duration_seconds": manifest.get("duration_seconds"),
    }


class DumpEngine:
    """``pg_dump -Fc`` of the server's database (``server.dbname``) plus its figures, in one snapshot."""

    kind = KIND
    summarize = staticmethod(summarize_manifest)

    def __init__(self, server, bindir=None, part_size=s3.DEFAULT_PART_SIZE, compress=None, jobs=2):
        self.server = server
        self.bindir = bindir
        self.part_size = part_size
        self.compress = compress
        self.jobs = jobs

    def describe(self):
        return "dump database %s" % self.server.dbname

    def produce(self, upload, backup_id):  # pylint: disable=unused-argument
        server = self.server
        conn = pg.connect(server, autocommit=True, application_name="golive.core/backup")
        workdir = tempfile.mkdtemp(prefix="golive-pgdump-")
        proc = None
        try:
            try:
                facts = server_facts(conn)
                pg.query(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                snapshot = pg.query(conn, "SELECT pg_export_snapshot() AS s")[0]["s"]
                # The write counters as of the snapshot: a restore later says what was written since.
                write_counters = writes.counters(lambda sql: pg.query(conn, sql))
            except pg.psycopg2.Error as exc:
                raise pg.classify(exc, server, verb="open a snapshot of")
            tool = tools.find_tool("pg_dump", self.bindir, facts["server_version_num"] // 10000)
            argv = [tool, "--format=custom", "--snapshot=%s" % snapshot, "--no-password"]
            if self.compress is not None:
                argv.append("--compress=%d" % self.compress)
            stderr_path = os.path.join(workdir, "pg_dump.err")
            figures = {}

            def figures_worker():
                try:
                    figures["value"] = pgfigures.collect_figures(server, facts["database"], snapshot, self.jobs)
                except Exception as exc:  # noqa: BLE001 - re-raised in the caller
                    figures["error"] = exc

            worker = threading.Thread(target=figures_worker)
            worker.daemon = True
            with open(stderr_path, "wb") as stderr:
                proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=stderr, env=tools.libpq_env(server),
                                        close_fds=True, bufsize=0)
            worker.start()
            reader = tools.ProcessReader(proc, "pg_dump of database %s" % facts["database"], stderr_path)
            obj = upload(DUMP_NAME, reader, self.part_size)
            obj["format"] = "pg_dump-custom"
            worker.join()
            if "error" in figures:
                err = figures["error"]
                raise err if isinstance(err, GoliveError) else BackendError(
                    "read the figures of", "database %s" % facts["database"], describe_exception(err))
            found = figures["value"]
            return {"objects": {DUMP_NAME: obj}, "extra": {
                "source": {"host": server.host, "port": server.port,
                           "database": facts["database"]},
                "server_version": facts["server_version"],
                "server_version_num": facts["server_version_num"],
                "wal_lsn": facts["wal_lsn"],
                "snapshot": snapshot,
                "schema_hash": found["schema_hash"],
                "checksum_method": found["checksum_method"],
                "tables": found["tables"],
                "write_counters": write_counters,
                "tool": os.path.basename(tool),
            }}
        finally:
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()
            if proc is not None and proc.stdout:
                proc.stdout.close()
            conn.close()
            shutil.rmtree(workdir, ignore_errors=True)


def store_argument_spec():
    """Where the PostgreSQL backups live and the tools that read and write them
    (doc fragment ``pg_backup_store``): shared by pg_backup, pg_backup_verify and pg_restore."""
    spec = dict(
        bucket=dict(type="str", required=True),
        prefix=dict(type="str", default=DEFAULT_PREFIX),
        bindir=dict(type="path"),
        jobs=dict(type="int", default=2),
    )
    spec.update(catalog.identity_argument_spec())
    return spec


def store_from_params(params):
    """The backup store from the module's ``bucket``/``prefix``/identity options (the edge's settings)."""
    return catalog.store_from_params(params, DEFAULT_PREFIX)

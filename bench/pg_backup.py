"""Backup and restore-verification speed of golive.core against the plain tools.

For a generated database (about 1 GiB by default) on a PostgreSQL of its own (a private
lab: PostgreSQL and the moto S3 server, on free ports), measured in the same run:

  backup  golive.core pg_backup (pg_dump -Fc streamed to S3, per-table figures in the
          same snapshot, manifest)   vs   pg_dump -Fc to a file, then a boto3 upload
  verify  golive.core pg_backup_verify (streamed from S3 into pg_restore, figures
          recomputed and compared, scratch database dropped)   vs   pg_restore of the
          local file into a new database

and prints each time and the ratio (target: at most 1.25 for both).

    .venv/bin/python bench/pg_backup.py [--gib 1.0] [--jobs 2] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / ".cache" / "collections"), str(REPO)]

import psycopg2  # noqa: E402

from ansible_collections.golive.core.plugins.module_utils.postgres import backup as pgbackup  # noqa: E402
from ansible_collections.golive.core.plugins.module_utils.postgres import connection as pgconn  # noqa: E402
from ansible_collections.golive.core.plugins.module_utils.postgres import tools, verify  # noqa: E402
from ansible_collections.golive.core.plugins.module_utils.storage import runner  # noqa: E402
from lab.core import Lab  # noqa: E402
from lab.services.moto import Moto, lab_client  # noqa: E402
from lab.services.postgres import Postgres  # noqa: E402

DB = "bench"
ROWS_PER_GIB = 6_200_000


def sql(pg, dbname, statement):
    conn = psycopg2.connect(host=pg["host"], port=pg["port"], user=pg["admin_user"], password=pg["admin_password"],
                            dbname=dbname)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(statement)
            return cur.fetchall() if cur.description else None
    finally:
        conn.close()


def generate(pg, gib):
    """An application-shaped database: accounts, orders with JSON, events with text."""
    sql(pg, "postgres", "DROP DATABASE IF EXISTS %s WITH (FORCE)" % DB)
    sql(pg, "postgres", "CREATE DATABASE %s" % DB)
    n = int(ROWS_PER_GIB * gib)
    sql(pg, DB, """
        CREATE TABLE accounts (id int PRIMARY KEY, email text NOT NULL UNIQUE, created timestamptz NOT NULL);
        INSERT INTO accounts SELECT i, 'user' || i || '@example.com', '2026-01-01'::timestamptz + i * interval '1 s'
          FROM generate_series(1, %(a)d) i;
        CREATE TABLE orders (id bigint PRIMARY KEY, account_id int NOT NULL REFERENCES accounts,
                             total numeric(12, 2) NOT NULL, items jsonb NOT NULL, placed timestamptz NOT NULL);
        INSERT INTO orders SELECT i, i %% %(a)d + 1, (i %% 100000) / 100.0,
               jsonb_build_object('sku', 'SKU-' || (i %% 5000), 'qty', i %% 7 + 1), now() - i * interval '1 s'
          FROM generate_series(1, %(o)d) i;
        CREATE TABLE events (id bigint PRIMARY KEY, account_id int NOT NULL, kind text NOT NULL,
                             detail text NOT NULL, at timestamptz NOT NULL);
        INSERT INTO events SELECT i, i %% %(a)d + 1, (ARRAY['login', 'view', 'order', 'logout'])[i %% 4 + 1],
               md5(i::text) || ' ' || md5((i * 7)::text), now() - i * interval '10 ms'
          FROM generate_series(1, %(e)d) i;
        CREATE INDEX ON orders (account_id);
        CREATE INDEX ON events (account_id, at);
    """ % {"a": max(1000, n // 50), "o": n // 3, "e": n})
    sql(pg, DB, "VACUUM ANALYZE")
    return sql(pg, DB, "SELECT pg_database_size(current_database())")[0][0]


def timed(func):
    started = time.monotonic()
    value = func()
    return time.monotonic() - started, value


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gib", type=float, default=1.0, help="size of the generated database")
    parser.add_argument("--jobs", type=int, default=2, help="connections for the per-table figures")
    parser.add_argument("--keep", action="store_true", help="keep the private lab afterwards")
    opts = parser.parse_args()

    state = Path(tempfile.mkdtemp(prefix="golive-bench-pg-"))
    lab = Lab(state, services=[Postgres(), Moto()], write_inventory=False)
    workdir = Path(tempfile.mkdtemp(prefix="golive-bench-files-"))
    try:
        eps = lab.up()
        pg, s3eps = eps["postgres"], eps["s3"]
        print("generating a database of about %.2f GiB ..." % opts.gib, flush=True)
        gen_s, size = timed(lambda: generate(pg, opts.gib))
        print("  %.2f GiB in %.0fs" % (size / 2 ** 30, gen_s), flush=True)
        params = {"login_host": pg["host"], "login_port": pg["port"], "login_user": pg["admin_user"],
                  "login_password": pg["admin_password"], "login_db": DB, "ssl_mode": "disable",
                  "aws_endpoint_url": s3eps["endpoint_url"], "aws_access_key": s3eps["access_key"],
                  "aws_secret_key": s3eps["secret_key"], "aws_region": s3eps["region"],
                  "bucket": s3eps["bucket"], "prefix": "bench"}
        server = pgconn.PgServer(host=pg["host"], port=pg["port"], user=pg["admin_user"],
                                 password=pg["admin_password"], dbname=DB, ssl_mode="disable")
        env = tools.libpq_env(server)
        bindir = pg["bindir"]
        client = lab_client(eps)
        store = pgbackup.store_from_params(params)
        dump = workdir / "plain.dump"

        def plain_backup():
            subprocess.run([os.path.join(bindir, "pg_dump"), "--format=custom", "--no-password", "-f", str(dump)],
                           env=env, check=True)
            client.upload_file(str(dump), s3eps["bucket"], "bench-plain/plain.dump")

        def plain_restore():
            sql(pg, "postgres", "CREATE DATABASE bench_plain_restore TEMPLATE template0")
            subprocess.run([os.path.join(bindir, "pg_restore"), "--exit-on-error", "--no-password",
                            "--dbname", "bench_plain_restore", str(dump)],
                           env=tools.libpq_env(server, "bench_plain_restore"), check=True)

        sql(pg, DB, "CHECKPOINT")
        base_backup, _ = timed(plain_backup)
        identity = pgbackup.identity(DB)
        engine = pgbackup.DumpEngine(server, jobs=opts.jobs)
        ours_backup, made = timed(lambda: runner.backup(store, identity, engine, "bench"))
        base_restore, _ = timed(plain_restore)
        sql(pg, "postgres", "DROP DATABASE bench_plain_restore WITH (FORCE)")
        ours_restore, verified = timed(lambda: verify.verify(
            server.on("postgres"), store, identity, backup_id=made["backup_id"], jobs=opts.jobs))

        figures = made["backup"]
        report = {
            "database_bytes": size,
            "dump_bytes": figures["size"],
            "tables": figures["tables"],
            "rows": figures["rows"],
            "backup": {"plain_pg_dump_plus_upload_s": round(base_backup, 2), "golive_pg_backup_s": round(ours_backup, 2),
                       "ratio": round(ours_backup / base_backup, 3)},
            "verify": {"plain_pg_restore_s": round(base_restore, 2), "golive_pg_backup_verify_s": round(ours_restore, 2),
                       "ratio": round(ours_restore / base_restore, 3)},
            "verified_checks": [c["status"] for c in verified["checks"]],
        }
        print()
        print("database %.2f GiB, dump %.0f MiB, %d tables, %d rows" % (
            size / 2 ** 30, figures["size"] / 2 ** 20, figures["tables"], figures["rows"]))
        print("%-8s %12s %12s %7s" % ("", "plain (s)", "golive (s)", "ratio"))
        print("%-8s %12.2f %12.2f %7.3f" % ("backup", base_backup, ours_backup, ours_backup / base_backup))
        print("%-8s %12.2f %12.2f %7.3f" % ("verify", base_restore, ours_restore, ours_restore / base_restore))
        print()
        print(json.dumps(report, indent=2))
        ok = report["backup"]["ratio"] <= 1.25 and report["verify"]["ratio"] <= 1.25
        print("target (both at most 1.25x): %s" % ("met" if ok else "NOT met"))
        return 0 if ok else 1
    finally:
        for path in workdir.glob("*"):
            path.unlink()
        workdir.rmdir()
        if not opts.keep:
            lab.down(purge=True)
        else:
            print("lab kept in %s" % state)


if __name__ == "__main__":
    sys.exit(main())

"""pg_restore, the rollback: a destructive change is undone from the release's pre-deploy
backup, PgBouncer's clients are cut over, and the previous database is kept."""

import uuid

import psycopg2
import pytest

from test_pg_backup import s3_args
from test_pg_migrate import admin_args, database, rows, run_module  # noqa: F401 (fixture)


def _app_conn(pg, dbname):
    conn = psycopg2.connect(host=pg["host"], port=pg["pgbouncer_port"], user=pg["app_user"],
                            password=pg["app_password"], dbname=dbname, connect_timeout=10)
    conn.autocommit = True
    return conn


def test_restore_brings_rows_back_and_keeps_the_previous_database(lab, database):
    pg = lab["postgres"]
    prefix = "test-%s" % uuid.uuid4().hex[:10]
    release = "2026.11.%s" % uuid.uuid4().hex[:4]
    app = _app_conn(pg, database)
    with app.cursor() as cur:
        cur.execute("CREATE TABLE orders (id int PRIMARY KEY, total int NOT NULL)")
        cur.execute("INSERT INTO orders SELECT i, i * 10 FROM generate_series(1, 1000) i")
    args = dict(admin_args(pg, "postgres"), **s3_args(lab, prefix))
    rc, made, _ = run_module("pg_backup", dict(args, login_db=database, label="pre-deploy-%s" % release,
                                               release=release))
    assert rc == 0, made.get("msg")

    # The release goes wrong: a destructive change, through the application's pool.
    with app.cursor() as cur:
        cur.execute("DELETE FROM orders WHERE id > 10")
        cur.execute("ALTER TABLE orders DROP COLUMN total")
    restore = dict(args, database=database, release=release,
                   pgbouncer={"host": pg["host"], "port": pg["pgbouncer_port"], "user": pg["pgbouncer_admin_user"],
                              "password": pg["pgbouncer_admin_password"]})

    rc, refused, _ = run_module("pg_restore", dict(restore, release="other-release", label="pre-deploy-*"))
    assert rc != 0 and "belongs to release %s, not other-release" % release in refused["msg"]

    rc, dry, _ = run_module("pg_restore", restore, check=True)
    assert rc == 0 and dry["changed"] is True and dry["backup_id"] == made["backup_id"]
    assert [s["step"] for s in dry["steps"]] == ["create", "restore", "verify", "block", "pgbouncer_kill",
                                                 "terminate", "swap", "unblock", "pgbouncer_resume"]
    assert rows(pg, database, "SELECT count(*) FROM orders") == [(10,)]

    rc, done, out = run_module("pg_restore", restore)
    assert rc == 0, done.get("msg")
    assert not done.get("warnings"), "taken and restored on the same server: nothing to warn about"
    kept = done["previous_database"]
    assert kept.startswith(database + "_before_")
    assert done["applied"][:3] == ["create", "restore", "verify"] and "swap" in done["applied"]
    assert pg["pgbouncer_admin_password"] not in out and pg["admin_password"] not in out

    # The rows are back, under the original name and owner; the broken state is kept.
    assert rows(pg, database, "SELECT count(*), sum(total) FROM orders") == [(1000, 5005000)]
    assert rows(pg, "postgres", "SELECT pg_get_userbyid(datdba), datallowconn FROM pg_database WHERE datname = %s",
                (database,)) == [(pg["app_user"], True)]
    assert rows(pg, kept, "SELECT count(*) FROM orders") == [(10,)]
    assert rows(pg, "postgres", "SELECT datallowconn FROM pg_database WHERE datname = %s", (kept,)) == [(True,)]
    assert rows(pg, "postgres", "SELECT count(*) FROM pg_database WHERE datname LIKE %s",
                (database + "_restoring_%",)) == [(0,)]

    # The application's old pooled session was cut; a new one sees the restored data.
    with pytest.raises(psycopg2.Error):
        with app.cursor() as cur:
            cur.execute("SELECT 1")
    again = _app_conn(pg, database)
    with again.cursor() as cur:
        cur.execute("SELECT count(*) FROM orders")
        assert cur.fetchone() == (1000,)
    again.close()


def test_restore_refuses_without_a_backup_of_that_release(lab, database):
    pg = lab["postgres"]
    args = dict(admin_args(pg, "postgres"), **s3_args(lab, "test-%s" % uuid.uuid4().hex[:10]))
    rc, result, _ = run_module("pg_restore", dict(args, database=database, release="never-deployed"))
    assert rc != 0
    assert "Failed to find a complete backup labelled pre-deploy-never-deployed" in result["msg"]
    assert rows(pg, "postgres", "SELECT count(*) FROM pg_database WHERE datname LIKE %s", (database + "_%",)) == [(0,)]

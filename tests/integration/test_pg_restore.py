"""pg_restore, the rollback: a destructive change is undone from the release's pre-deploy
backup, PgBouncer's clients are cut over, and the previous database is kept."""

import tempfile
import uuid
from pathlib import Path

import psycopg2
import pytest

from helpers import admin_args, rows, run_module, run_tasks as play, s3_args


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
        cur.execute("SELECT pg_stat_force_next_flush()")  # the counters as of now, for the backup to keep
    args = dict(admin_args(pg, "postgres"), **s3_args(lab, prefix))
    rc, made, _ = run_module("pg_backup", dict(args, login_db=database, label="pre-deploy-%s" % release,
                                               release=release))
    assert rc == 0, made.get("msg")

    # The release goes wrong: a destructive change, through the application's pool.
    with app.cursor() as cur:
        cur.execute("DELETE FROM orders WHERE id > 10")
        cur.execute("UPDATE orders SET total = 0 WHERE id <= 3")
        cur.execute("ALTER TABLE orders DROP COLUMN total")
        cur.execute("SELECT pg_stat_force_next_flush()")
    restore = dict(args, database=database, release=release,
                   pgbouncer={"host": pg["host"], "port": pg["pgbouncer_port"], "user": pg["pgbouncer_admin_user"],
                              "password": pg["pgbouncer_admin_password"]})

    rc, refused, _ = run_module("pg_restore", dict(restore, release="other-release", label="pre-deploy-*"))
    assert rc != 0 and "belongs to release %s, not other-release" % release in refused["msg"]

    rc, dry, _ = run_module("pg_restore", restore, check=True)
    assert rc == 0 and dry["changed"] is True and dry["backup_id"] == made["backup_id"]
    # Before acting, it says what the restore takes out of the live database, from statistics.
    assert dry["writes_since_backup"]["method"] == "statistics", dry["writes_since_backup"]
    assert dry["writes_since_backup"]["tables"] == {"public.orders": {"inserted": 0, "updated": 3, "deleted": 990}}
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
    # The kept copy says why it is there, and a prune leaves it alone unless told.
    rc, listed, _ = run_module("pg_kept", dict(admin_args(pg, "postgres"), database=database))
    assert rc == 0 and [k["name"] for k in listed["kept"]] == [kept]
    assert listed["kept"][0]["named_by_a_rollback"] and listed["kept"][0]["release"] == release
    assert listed["kept"][0]["writes_since_backup"] == {"inserted": 0, "updated": 3, "deleted": 990}
    rc, pruned, _ = run_module("pg_kept", dict(admin_args(pg, "postgres"), database=database, state="pruned", keep=0))
    assert rc == 0 and pruned["changed"] is False and [r["name"] for r in pruned["refused"]] == [kept]
    assert rows(pg, "postgres", "SELECT count(*) FROM pg_database WHERE datname = %s", (kept,)) == [(1,)]
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


def _interrupted_attempt(lab, environment, release, database, restoring, kept):
    """Write what a killed attempt leaves in the ledger: the step started, its names in the intent."""
    from ansible_collections.golive.core.plugins.module_utils.k8s.client import Kube, KubeSettings
    from ansible_collections.golive.core.plugins.module_utils.ledger.run import Ledger
    kube = Kube(KubeSettings(kubeconfig=lab["k8s"]["kubeconfig"]), deadline=30)
    try:
        ledger = Ledger(kube, environment, release)
        run_id = ledger.open()["run_id"]
        ledger.begin(run_id, "rollback", "db-restore", {"killed": True}, ["postgres database %s" % database], None,
                     {"database": database, "restoring": restoring, "kept": kept}, always=True)
        ledger.close(run_id, "failed")
        return ledger
    finally:
        kube.close()


def test_an_interrupted_restore_is_resumed_under_its_names_and_never_done_twice(lab, database):
    """Killed during the copy: the partial copy is dropped and the restore runs again under the
    same names. Killed after the swap: the next run only finishes it. Done: not done again."""
    pg = lab["postgres"]
    release, environment = "2026.11.%s" % uuid.uuid4().hex[:4], "itest-%s" % uuid.uuid4().hex[:6]
    args = dict(admin_args(pg, "postgres"), **s3_args(lab, "test-%s" % uuid.uuid4().hex[:10]))
    app = _app_conn(pg, database)
    with app.cursor() as cur:
        cur.execute("CREATE TABLE orders (id int PRIMARY KEY)")
        cur.execute("INSERT INTO orders SELECT generate_series(1, 100)")
    rc, made, _ = run_module("pg_backup", dict(args, login_db=database, label="pre-deploy-%s" % release,
                                               release=release))
    assert rc == 0, made.get("msg")
    with app.cursor() as cur:
        cur.execute("DELETE FROM orders WHERE id > 5")
    app.close()
    stamp = "20261130010203"
    restoring, kept = "%s_restoring_%s" % (database, stamp), "%s_before_%s" % (database, stamp)
    # Killed during the copy: a partial copy exists.
    _interrupted_attempt(lab, environment, release, database, restoring, kept)
    admin = psycopg2.connect(host=pg["host"], port=pg["port"], user=pg["admin_user"], password=pg["admin_password"],
                             dbname="postgres")
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute('CREATE DATABASE "%s"' % restoring)
    ledger = {"release": release, "environment": environment, "run_id": "{{ r0.run_id }}"}
    restore = dict(args, database=database, release=release)
    tasks = [{"name": "Open", "golive.core.ledger": {"operation": "open", "release": release,
                                                     "environment": environment}},
             {"name": "Restore", "golive.core.pg_restore": dict(restore, ledger=ledger)},
             {"name": "Again", "golive.core.pg_restore": dict(restore, ledger=ledger)}]
    with tempfile.TemporaryDirectory() as tmp:
        proc, out = play(Path(tmp), *tasks)
        assert proc.returncode == 0, proc.stdout[-3000:]
        opened, first, second = out
    assert first["resumed"] is True and first["previous_database"] == kept
    assert first["applied"][:3] == ["create", "restore", "verify"]
    assert second["changed"] is False  # done: not done again
    assert rows(pg, database, "SELECT count(*) FROM orders") == [(100,)]
    assert rows(pg, kept, "SELECT count(*) FROM orders") == [(5,)]
    assert rows(pg, "postgres", "SELECT count(*) FROM pg_database WHERE datname LIKE %s",
                (database + "_restoring_%",)) == [(0,)]

    # Killed after the swap: the next run only finishes it (no second restore, nothing kept twice).
    release2, environment2 = release, "itest-%s" % uuid.uuid4().hex[:6]
    with admin.cursor() as cur:
        cur.execute('ALTER DATABASE "%s" WITH ALLOW_CONNECTIONS false' % kept)
    _interrupted_attempt(lab, environment2, release2, database, restoring, kept)
    ledger2 = dict(ledger, environment=environment2)
    tasks2 = [{"name": "Open", "golive.core.ledger": {"operation": "open", "release": release2,
                                                      "environment": environment2}},
              {"name": "Restore", "golive.core.pg_restore": dict(restore, ledger=ledger2)}]
    with tempfile.TemporaryDirectory() as tmp:
        proc, out = play(Path(tmp), *tasks2)
        assert proc.returncode == 0, proc.stdout[-3000:]
    finished = out[1]
    assert finished["resumed"] is True and finished["applied"] == ["swap (by the interrupted attempt)", "unblock"]
    assert rows(pg, "postgres", "SELECT count(*) FROM pg_database WHERE datname LIKE %s",
                (database + "_before_%",)) == [(1,)]
    assert rows(pg, "postgres", "SELECT datallowconn FROM pg_database WHERE datname = %s", (kept,)) == [(True,)]
    admin.close()


def test_kept_copies_are_listed_and_pruned_by_an_explicit_retention(lab, database):
    """Four copies a restore would have kept (two by a rollback, their comments say so):
    check mode drops nothing; keep 1 drops the old plain one and names the rollback's; with
    drop_named they go too, except the newest; a second run changes nothing; a copy in use
    fails naming it."""
    import json as _json
    pg = lab["postgres"]
    named = _json.dumps({"kept_by": "golive.core", "release": "R-old", "backup_id": "b1",
                         "writes_since_backup": {"inserted": 2, "updated": 0, "deleted": 0}})
    copies = {"%s_before_20261101120000" % database: None, "%s_before_20261001120000" % database: named,
              "%s_before_20260901120000" % database: None, "%s_before_20260801120000" % database: named}
    for name, comment in copies.items():
        rows(pg, "postgres", "CREATE DATABASE %s" % name)
        if comment:
            rows(pg, "postgres", "COMMENT ON DATABASE %s IS %%s" % name, (comment,))
    rows(pg, "postgres", "CREATE DATABASE %s_before_notastamp" % database)  # not a kept copy
    args = dict(admin_args(pg, "postgres"), database=database)

    def present():
        return sorted(r[0] for r in rows(pg, "postgres", "SELECT datname FROM pg_database WHERE datname LIKE %s",
                                         (database + "_before_2%",)))

    rc, listed, _ = run_module("pg_kept", args)
    assert rc == 0 and [k["name"][-14:] for k in listed["kept"]] == [
        "20261101120000", "20261001120000", "20260901120000", "20260801120000"]
    rc, dry, _ = run_module("pg_kept", dict(args, state="pruned", keep=1), check=True)
    assert rc == 0 and dry["changed"] is True and present() == sorted(copies)
    rc, pruned, _ = run_module("pg_kept", dict(args, state="pruned", keep=1))
    assert rc == 0 and pruned["dropped"] == ["%s_before_20260901120000" % database]
    assert sorted(r["name"] for r in pruned["refused"]) == sorted(n for n, c in copies.items() if c)
    assert "drop_named=true" in " ".join(pruned["warnings"])
    rc, again, _ = run_module("pg_kept", dict(args, state="pruned", keep=1))
    assert rc == 0 and again["changed"] is False

    holder = psycopg2.connect(host=pg["host"], port=pg["port"], user=pg["admin_user"], password=pg["admin_password"],
                              dbname="%s_before_20261001120000" % database)
    try:
        rc, busy, _ = run_module("pg_kept", dict(args, state="pruned", keep=1, drop_named=True))
        assert rc != 0 and "1 session(s) are connected to it" in busy["msg"] and "Traceback" not in busy["msg"]
    finally:
        holder.close()
    rc, forced, _ = run_module("pg_kept", dict(args, state="pruned", keep=1, drop_named=True))
    assert rc == 0 and present() == ["%s_before_20261101120000" % database]
    rc, bad, _ = run_module("pg_kept", dict(args, state="pruned"))
    assert rc != 0 and "Give keep" in bad["msg"]

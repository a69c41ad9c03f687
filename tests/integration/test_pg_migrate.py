"""pg_migrate and pg_seed against the lab's PostgreSQL (each test in its own database),
and a migration interrupted by a killed postmaster on a private PostgreSQL."""

import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

import pytest
from helpers import admin_args, finish, rendered_diff, REPO, rows, run_module


BIN = Path(sys.executable).parent
MIGRATIONS = REPO / "inventories" / "lab" / "files"


def copy_migrations(tmp_path, name="migrations"):
    """The lab's first three migrations (plans, customers, an index built concurrently):
    enough for the mechanics tested here; the pager's own are the lab app's."""
    target = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS / name, target)
    for extra in sorted(target.glob("V*.sql"))[3:]:
        extra.unlink()
    return target


def history(pg, dbname):
    return rows(pg, dbname, "SELECT version, filename, checksum, success, applied_by, applied_as, release "
                            "FROM public.golive_schema_history ORDER BY version")


def test_migrations_apply_once_in_order_then_report_no_change(lab, database, tmp_path):
    pg = lab["postgres"]
    path = copy_migrations(tmp_path)
    args = dict(admin_args(pg, database), path=str(path), release="2026.11.1", session_role=pg["app_user"])

    rc, dry, _ = run_module("pg_migrate", args, check=True)
    assert rc == 0 and dry["changed"] is True
    assert [m["filename"] for m in dry["pending"]] == [
        "V1__create_plans.sql", "V2__create_customers.sql", "V3__index_customers_created_at.sql"]
    assert rows(pg, database, "SELECT to_regclass('public.golive_schema_history')") == [(None,)]

    rc, first, _ = run_module("pg_migrate", args)
    assert rc == 0, first.get("msg")
    assert first["changed"] is True and first["current_version"] == "3"
    assert [m["version"] for m in first["applied"]] == ["1", "2", "3"]
    assert first["diff"] == {"before": {"version": None}, "after": {"version": "3", "applied": [
        "V1__create_plans.sql", "V2__create_customers.sql", "V3__index_customers_created_at.sql"]}}
    recorded = history(pg, database)
    assert [(r[0], r[3], r[5], r[6]) for r in recorded] == [
        ("1", True, pg["app_user"], "2026.11.1"), ("2", True, pg["app_user"], "2026.11.1"),
        ("3", True, pg["app_user"], "2026.11.1")]
    assert all(r[4] for r in recorded)
    # The objects exist, owned by the session role, and the index was built (valid).
    assert rows(pg, database, "SELECT tableowner FROM pg_tables WHERE tablename = 'customers'") == [(pg["app_user"],)]
    assert rows(pg, database, "SELECT indisvalid FROM pg_index WHERE indexrelid = "
                              "'public.customers_created_at_idx'::regclass") == [(True,)]

    rc, second, _ = run_module("pg_migrate", args)
    assert rc == 0 and second["changed"] is False and second["applied"] == []
    assert history(pg, database) == recorded


def test_target_version_stops_early(lab, database, tmp_path):
    pg = lab["postgres"]
    args = dict(admin_args(pg, database), path=str(copy_migrations(tmp_path)), target="2")
    rc, result, _ = run_module("pg_migrate", args)
    assert rc == 0 and [m["version"] for m in result["applied"]] == ["1", "2"]
    assert [r[0] for r in history(pg, database)] == ["1", "2"]


def v1_applied(lab, database, tmp_path):
    """The first migration applied: (pg, path of the files, module args, history)."""
    pg = lab["postgres"]
    path = copy_migrations(tmp_path)
    args = dict(admin_args(pg, database), path=str(path), target="1")
    assert run_module("pg_migrate", args)[0] == 0
    return pg, path, args, history(pg, database)


def test_a_drifted_file_fails_naming_it_and_changes_nothing(lab, database, tmp_path):
    pg, path, args, before = v1_applied(lab, database, tmp_path)

    (path / "V1__create_plans.sql").write_text((path / "V1__create_plans.sql").read_text() + "\n-- edited\n")
    args.pop("target")
    rc, result, out = run_module("pg_migrate", args)
    assert rc != 0
    assert "applied migration files changed since they ran: V1__create_plans.sql" in result["msg"]
    assert result["changed"] is False
    assert "Traceback" not in out
    assert history(pg, database) == before
    assert rows(pg, database, "SELECT to_regclass('public.customers')") == [(None,)]


def test_a_renamed_file_fails_naming_both_names_unless_renames_are_accepted(lab, database, tmp_path):
    pg, path, args, before = v1_applied(lab, database, tmp_path)
    (path / "V1__create_plans.sql").rename(path / "V1__create_the_plans_table.sql")

    rc, result, out = run_module("pg_migrate", args)
    assert rc != 0 and "Traceback" not in out
    assert ("version 1 was applied as V1__create_plans.sql, the file is now V1__create_the_plans_table.sql"
            in result["msg"]) and "accept_renames=true" in result["msg"]
    assert result["changed"] is False and history(pg, database) == before

    rc, dry, _ = run_module("pg_migrate", dict(args, accept_renames=True), check=True)
    assert rc == 0 and dry["changed"] is True and history(pg, database) == before
    rc, accepted, _ = run_module("pg_migrate", dict(args, accept_renames=True))
    assert rc == 0 and accepted["changed"] is True
    assert accepted["diff"]["after"]["names"] == {"1": "V1__create_the_plans_table.sql"}
    assert rows(pg, database, "SELECT name, filename FROM public.golive_schema_history WHERE version = '1'") == [
        ("create the plans table", "V1__create_the_plans_table.sql")]
    rc, again, _ = run_module("pg_migrate", args)
    assert rc == 0 and again["changed"] is False


def test_a_failed_migration_reports_what_really_happened(lab, database, tmp_path):
    pg = lab["postgres"]
    path = tmp_path / "failing"
    path.mkdir()
    (path / "V1__good.sql").write_text("CREATE TABLE good (id int);\n")
    (path / "V2__bad.sql").write_text("ALTER TABLE no_such_table ADD COLUMN x int;\n")
    (path / "V3__never.sql").write_text("CREATE TABLE never (id int);\n")
    rc, result, out = run_module("pg_migrate", dict(admin_args(pg, database), path=str(path)))
    assert rc != 0 and "Traceback" not in out
    assert result["msg"].startswith("Failed to apply migration V2__bad.sql")
    assert result["failed_migration"] == "V2__bad.sql" and result["changed"] is True
    assert [m["filename"] for m in result["applied"]] == ["V1__good.sql"]
    assert result["current_version"] == "1"
    assert result["diff"] == {"before": {"version": None}, "after": {"version": "1", "applied": ["V1__good.sql"]}}
    assert rows(pg, database, "SELECT version FROM public.golive_schema_history ORDER BY version") == [("1",)]


def test_two_concurrent_runs_one_waits_or_fails_cleanly_and_history_has_no_duplicates(lab, database, tmp_path):
    pg = lab["postgres"]
    path = tmp_path / "slow"
    path.mkdir()
    (path / "V1__slow.sql").write_text("CREATE TABLE slow (id int PRIMARY KEY);\nSELECT pg_sleep(10);\n"
                                       "INSERT INTO slow VALUES (1);\n")
    (path / "V2__after.sql").write_text("INSERT INTO slow VALUES (2);\n")
    args = dict(admin_args(pg, database), path=str(path))

    first = run_module("pg_migrate", args, wait=False)
    deadline = time.monotonic() + 60
    while not rows(pg, "postgres", "SELECT 1 FROM pg_stat_activity WHERE datname = %s "
                                   "AND query LIKE %s", (database, "%pg_sleep(10)%")):
        assert time.monotonic() < deadline, "the first run never started its migration"
        time.sleep(0.1)
    impatient = run_module("pg_migrate", dict(args, lock_timeout=1), wait=False)
    patient = run_module("pg_migrate", dict(args, lock_timeout=120), wait=False)

    rc_first, first_result, _ = finish(first)
    rc_impatient, impatient_result, impatient_out = finish(impatient)
    rc_patient, patient_result, _ = finish(patient)

    assert rc_first == 0 and [m["version"] for m in first_result["applied"]] == ["1", "2"]
    assert rc_impatient != 0
    assert "another run holds the migration lock" in impatient_result["msg"]
    assert "Traceback" not in impatient_out
    assert rc_patient == 0 and patient_result["changed"] is False
    assert rows(pg, database, "SELECT version, count(*) FROM golive_schema_history GROUP BY 1 ORDER BY 1") == [
        ("1", 1), ("2", 1)]
    assert rows(pg, database, "SELECT id FROM slow ORDER BY id") == [(1,), (2,)]


def test_seed_upserts_by_natural_key_and_second_run_changes_nothing(lab, database, tmp_path):
    pg = lab["postgres"]
    assert run_module("pg_migrate", dict(admin_args(pg, database), path=str(copy_migrations(tmp_path))))[0] == 0
    rows(pg, database, "INSERT INTO plans VALUES ('team', 'Team (old)', 1500), ('legacy', 'Legacy', 100)")
    seed = {"tables": [{"table": "public.plans", "key": ["code"], "rows": [
        {"code": "free", "name": "Free", "monthly_cents": 0},
        {"code": "team", "name": "Team", "monthly_cents": 1900}]}]}
    args = dict(admin_args(pg, database), **seed)

    rc, dry, _ = run_module("pg_seed", args, check=True)
    assert rc == 0 and dry["changed"] is True and dry["counts"] == {"inserted": 1, "updated": 1, "unchanged": 0}
    assert rows(pg, database, "SELECT count(*) FROM plans WHERE code = 'free'") == [(0,)]

    rc, first, _ = run_module("pg_seed", args)
    assert rc == 0 and first["counts"] == {"inserted": 1, "updated": 1, "unchanged": 0}
    updated = [c for c in first["changes"] if c["action"] == "updated"][0]
    assert updated["before"]["monthly_cents"] == 1500 and updated["after"]["monthly_cents"] == 1900
    shown = rendered_diff(first["diff"])  # what --diff prints: each row named by its table and key
    assert '-        "monthly_cents": 1500,' in shown and '+        "monthly_cents": 1900,' in shown
    assert '"public.plans code=free"' in shown and '"public.plans code=team"' in shown
    assert rows(pg, database, "SELECT code, name, monthly_cents FROM plans ORDER BY code") == [
        ("free", "Free", 0), ("legacy", "Legacy", 100), ("team", "Team", 1900)]

    rc, second, _ = run_module("pg_seed", args)
    assert rc == 0 and second["changed"] is False and second["counts"]["unchanged"] == 2


# -- a killed postmaster in the middle of a migration (private PostgreSQL) ----------------

def _postmaster_pid(own):
    for proc in own.status()["postgres"]["processes"]:
        if proc["name"] == "postgres-primary":
            return proc["pid"]
    raise AssertionError("no postgres-primary in %s" % own.status())


def _gone(pid, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            state = Path("/proc/%d/stat" % pid).read_text().split(") ")[1][0]
        except (OSError, IndexError):
            return True
        if state in "ZX":
            return True
        time.sleep(0.1)
    return False


@pytest.mark.xdist_group("pg-private")
def test_postmaster_killed_mid_migration_rerun_converges(tmp_path):
    from lab.core import Lab
    from lab.services.postgres import Postgres

    state = Path(tempfile.mkdtemp(prefix="golive-pg-kill-"))
    own = Lab(state, services=[Postgres()], write_inventory=False)
    try:
        pg = own.up()["postgres"]
        rows(pg, "postgres", "CREATE DATABASE app")
        path = tmp_path / "migrations"
        path.mkdir()
        # The sleep only happens when the session asks for it (the first, killed run).
        (path / "V1__accounts.sql").write_text(
            "CREATE TABLE accounts (id int PRIMARY KEY, name text NOT NULL);\n"
            "INSERT INTO accounts SELECT i, 'a' || i FROM generate_series(1, 1000) i;\n"
            "SELECT pg_sleep(CASE WHEN current_setting('golive.slow', true) = 'on' THEN 60 ELSE 0 END);\n"
            "CREATE INDEX accounts_name_idx ON accounts (name);\n")
        (path / "V2__ledger.sql").write_text("CREATE TABLE ledger (id int PRIMARY KEY REFERENCES accounts);\n")
        args = dict(admin_args(pg, "app"), path=str(path))

        doomed = run_module("pg_migrate", args, env={"PGOPTIONS": "-c golive.slow=on"}, wait=False)
        deadline = time.monotonic() + 60
        while not rows(pg, "postgres", "SELECT 1 FROM pg_stat_activity WHERE query LIKE %s AND pid <> "
                                       "pg_backend_pid()", ("%golive.slow%",)):
            assert time.monotonic() < deadline, "the migration never reached its sleep"
            time.sleep(0.1)
        pid = _postmaster_pid(own)
        os.kill(pid, signal.SIGKILL)
        rc, result, out = finish(doomed)
        assert rc != 0
        assert "Failed to apply migration V1__accounts.sql" in result["msg"]
        assert "Traceback" not in out
        assert _gone(pid)
        time.sleep(1)  # backends notice the postmaster's death and exit

        for attempt in range(10):
            try:
                own.up()
                break
            except Exception:  # noqa: BLE001 - shared memory may still be held for a moment
                if attempt == 9:
                    raise
                time.sleep(1)
        # Nothing of the interrupted migration survived the crash.
        assert rows(pg, "app", "SELECT to_regclass('public.accounts')") == [(None,)]
        assert rows(pg, "app", "SELECT count(*) FROM golive_schema_history") == [(0,)]

        rc, rerun, _ = run_module("pg_migrate", args)
        assert rc == 0, rerun
        assert [m["version"] for m in rerun["applied"]] == ["1", "2"]
        assert rows(pg, "app", "SELECT count(*) FROM accounts") == [(1000,)]
        assert rows(pg, "app", "SELECT version, success FROM golive_schema_history ORDER BY version") == [
            ("1", True), ("2", True)]
        rc, again, _ = run_module("pg_migrate", args)
        assert rc == 0 and again["changed"] is False
    finally:
        own.down(purge=True)

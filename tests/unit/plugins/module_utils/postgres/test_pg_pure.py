"""Pure planning and judging of the PostgreSQL services: seed, health, backup, restore."""

import datetime

import pytest

from ansible_collections.golive.core.plugins.module_utils.common.errors import InvalidInput
from ansible_collections.golive.core.plugins.module_utils.common import clock
from ansible_collections.golive.core.plugins.module_utils.postgres.connection import PgServer
from ansible_collections.golive.core.plugins.module_utils.postgres import figures, health, restore, seed, tools
from ansible_collections.golive.core.plugins.module_utils.storage import catalog

UTC = datetime.timezone.utc
NOW = datetime.datetime(2026, 11, 22, 12, 0, 0, tzinfo=UTC)


# -- seed ----------------------------------------------------------------------------

def test_upsert_updates_only_when_a_value_differs():
    sql = seed.upsert_sql("public.plans", ["code"], ["code", "name", "monthly_cents"])
    assert sql.startswith('INSERT INTO "public"."plans" AS t ("code", "name", "monthly_cents") VALUES (%s, %s, %s)')
    assert 'ON CONFLICT ("code") DO UPDATE SET "name" = EXCLUDED."name", "monthly_cents" = EXCLUDED."monthly_cents"' in sql
    assert 'WHERE (t."name", t."monthly_cents") IS DISTINCT FROM (EXCLUDED."name", EXCLUDED."monthly_cents")' in sql
    assert sql.endswith("RETURNING (xmax = 0) AS inserted, row_to_json(t)::text AS after")


def test_upsert_of_key_only_rows_does_nothing_on_conflict():
    assert "ON CONFLICT (\"code\") DO NOTHING" in seed.upsert_sql("plans", ["code"], ["code"])


@pytest.mark.parametrize("tables,message", [
    ([{"table": "t", "key": [], "rows": []}], "needs table and key"),
    ([{"table": "t", "key": ["code"], "rows": [{"name": "x"}]}], "lacks its key column"),
    ([{"table": "t", "key": ["code"], "rows": [{"code": 1}, {"code": "1"}]}], "same key"),
    ([{"table": "t", "key": ["code"], "rows": ["code"]}], "mappings"),
])
def test_seed_input_is_validated(tables, message):
    with pytest.raises(InvalidInput, match=message):
        seed.validate(tables)


def test_seed_columns_are_the_union_of_the_rows():
    (table, key, columns, rows), = seed.validate(
        [{"table": "t", "key": ["code"], "rows": [{"code": "a", "name": "A"}, {"code": "b", "note": "n"}]}])
    assert columns == ["code", "name", "note"]


# -- health ----------------------------------------------------------------------------

SERVER = {"server_version": "15.18", "in_recovery": False, "database": "app", "uptime_seconds": 10}


@pytest.mark.parametrize("in_recovery,expect,status", [
    (False, "primary", "pass"), (False, "any", "pass"), (True, "primary", "fail"), (True, "replica", "pass"),
])
def test_server_role(in_recovery, expect, status):
    check = health.judge_server(dict(SERVER, in_recovery=in_recovery), expect)
    assert check["status"] == status
    assert check["checklist"] == "PostgreSQL deployed and healthy"


@pytest.mark.parametrize("used,status,percent", [(10, "pass", 82.1), (46, "fail", 17.9), (56, "fail", 0.0)])
def test_connection_headroom(used, status, percent):
    check = health.judge_connections({"max_connections": 60, "reserved": 4, "used": used}, 20)
    assert (check["status"], check["evidence"]["headroom_percent"]) == (status, percent)


def _replica(name="r1", state="streaming", lag_bytes=0, lag_seconds=0.0):
    return {"name": name, "address": "10.0.0.2", "state": state, "sync_state": "async", "lag_bytes": lag_bytes,
            "lag_seconds": lag_seconds, "slot": "s"}


@pytest.mark.parametrize("replicas,min_replicas,max_bytes,max_seconds,status", [
    ([_replica()], 1, 1024, 5, "pass"),
    ([], 1, None, None, "fail"),
    ([_replica(state="catchup")], 1, None, None, "fail"),
    ([_replica(lag_bytes=4096)], 1, 1024, None, "fail"),
    ([_replica(lag_seconds=9.5)], 1, None, 5, "fail"),
    ([_replica(), _replica("r2", lag_bytes=10)], 2, 1024, 5, "pass"),
])
def test_replication(replicas, min_replicas, max_bytes, max_seconds, status):
    check = health.judge_replication(SERVER, replicas, min_replicas, max_bytes, max_seconds)
    assert check["status"] == status
    assert check["checklist"] == "High availability configured"


def test_replication_seen_from_a_replica():
    server = dict(SERVER, in_recovery=True, wal_receiver="streaming", replay_lag_bytes=0)
    assert health.judge_replication(server, [], 1, 100)["status"] == "pass"
    assert health.judge_replication(dict(server, wal_receiver=None), [], 1, 100)["status"] == "fail"


def test_pgbouncer_pool_mode_and_unreachable():
    bouncer = {"address": "h:6432", "version": "1.18", "config": {"pool_mode": "session", "max_client_conn": "200",
                                                                  "default_pool_size": "10"},
               "pools": [{"database": "app", "user": "u", "cl_active": 1}, {"database": "pgbouncer", "user": "p"}]}
    ok = health.judge_pgbouncer(bouncer, "app", "session")
    assert ok["status"] == "pass" and ok["evidence"]["max_client_conn"] == 200
    assert [p["database"] for p in ok["evidence"]["pools"]] == ["app"]
    assert health.judge_pgbouncer(bouncer, "app", "transaction")["status"] == "fail"
    assert health.judge_pgbouncer({"address": "h:1", "error": "refused"})["status"] == "fail"


@pytest.mark.parametrize("age_hours,rpo_hours,status", [(1, 24, "pass"), (25, 24, "fail")])
def test_backup_age_against_rpo(age_hours, rpo_hours, status):
    done = clock.format_time(NOW - datetime.timedelta(hours=age_hours))
    newest = {"id": "b", "label": "scheduled", "created_at": done, "completed_at": done,
              "objects": {"dump": {"size": 10}}}
    check = health.judge_backup_age(newest, rpo_hours * 3600, NOW)
    assert check["status"] == status
    assert check["evidence"]["age_seconds"] == age_hours * 3600


def test_no_backup_fails_the_rpo():
    assert health.judge_backup_age(None, 3600, NOW)["status"] == "fail"


# -- backup figures and names -------------------------------------------------------------

FIGURES = {"schema_hash": "a" * 64,
           "tables": {"public.t": {"rows": 3, "checksum": "12"}, "public.u": {"rows": 0, "checksum": "0"}}}


@pytest.mark.parametrize("change,differences", [
    ({}, []),
    ({"schema_hash": "b" * 64}, ["schema hash bbbbbbbbbbbb, expected aaaaaaaaaaaa"]),
    ({"tables": {"public.t": {"rows": 2, "checksum": "12"}, "public.u": {"rows": 0, "checksum": "0"}}},
     ["table public.t has 2 rows, expected 3", ]),
    ({"tables": {"public.t": {"rows": 3, "checksum": "13"}, "public.u": {"rows": 0, "checksum": "0"}}},
     ["table public.t content checksum differs"]),
    ({"tables": {"public.t": {"rows": 3, "checksum": "12"}, "public.v": {"rows": 0, "checksum": "0"}}},
     ["table public.u missing", "table public.v not in the manifest"]),
])
def test_compare_manifest(change, differences):
    observed = dict(FIGURES, **change)
    assert figures.compare_manifest(FIGURES, observed) == differences


def test_compare_object():
    assert figures.compare_object({"size": 5, "sha256": "ab" * 32}, {"size": 5, "sha256": "ab" * 32}) == []
    assert figures.compare_object({"size": 5, "sha256": "ab" * 32}, {"size": 4, "sha256": "cd" * 32}) == [
        "size 4 bytes, expected 5", "sha256 cdcdcdcdcdcd, expected abababababab"]


def test_schema_hash_ignores_line_order():
    assert figures.schema_hash(["b", "a"]) == figures.schema_hash(["a", "b"]) != figures.schema_hash(["a"])


def test_scratch_names_fit_postgres_identifiers():
    name = restore.scratch_name("golive_verify", "20261122T050102Z-pre-deploy-" + "x" * 90 + "-1a2b3c4d", "feed")
    assert len(name) <= 63 and name.startswith("golive_verify_20261122t050102z_pre_deploy_") and name.endswith("_feed")


def test_table_stats_sql_quotes_names():
    sql = figures.table_stats_sql("my schema", 'odd"name')
    assert 'FROM ONLY "my schema"."odd""name" AS t' in sql


def test_libpq_env_keeps_the_password_off_the_command_line(monkeypatch):
    monkeypatch.setenv("PGSERVICE", "elsewhere")
    env = tools.libpq_env(PgServer.from_params({"login_host": "db", "login_port": 5433, "login_user": "admin",
                                                "login_password": "s3cret", "login_db": "app",
                                                "ssl_mode": "require"}), "scratch")
    assert env["PGPASSWORD"] == "s3cret" and env["PGDATABASE"] == "scratch" and env["PGSSLMODE"] == "require"
    assert "PGSERVICE" not in env


# -- restore plan ------------------------------------------------------------------------

MANIFEST = {"id": "20261122T050102Z-pre-deploy-r1-1a2b3c4d", "label": "pre-deploy-r1", "release": "r1",
            "created_at": "2026-11-22T05:01:02Z", "source": {"database": "app"},
            "objects": {"dump": {"key": "postgres/x/dump", "size": 100, "sha256": "ab"}},
            "tables": {"public.t": {"rows": 3, "checksum": "1"}}}


def test_restore_plan_names_every_step_and_keeps_the_old_database():
    steps = restore.plan("app", MANIFEST, NOW, target_exists=True, pgbouncer=True)
    assert steps["new"] == "app_restoring_20261122120000"
    assert steps["kept"] == "app_before_20261122120000"
    assert [s["step"] for s in steps["steps"]] == [
        "create", "restore", "verify", "block", "pgbouncer_kill", "terminate", "swap", "unblock", "pgbouncer_resume"]
    assert "rename app to app_before_20261122120000 and app_restoring_20261122120000 to app" in \
        steps["steps"][6]["description"]


def test_restore_plan_without_a_current_database():
    steps = restore.plan("app", MANIFEST, NOW, target_exists=False)
    assert steps["kept"] is None
    assert [s["step"] for s in steps["steps"]] == ["create", "restore", "verify", "swap"]


def test_restore_names_fit_postgres_identifiers():
    new, kept = restore.names("d" * 63, NOW)
    assert len(new) <= 63 and len(kept) <= 63 and new != kept


# -- backup store retention ----------------------------------------------------------------

def _manifest(backup_id, label, hours_ago):
    return {"id": backup_id, "label": label,
            "created_at": clock.format_time(NOW - datetime.timedelta(hours=hours_ago))}


STORE = [_manifest("a", "scheduled", 1), _manifest("b", "scheduled", 30), _manifest("c", "pre-deploy-r1", 40),
         _manifest("d", "scheduled", 80), _manifest("e", "scheduled", 200)]


@pytest.mark.parametrize("keep_last,max_age_days,labels,protect,doomed", [
    (None, None, "*", (), []),
    (2, None, "*", (), ["c", "d", "e"]),
    (2, None, "scheduled", (), ["d", "e"]),
    (None, 2, "*", (), ["d", "e"]),
    (10, 1, "scheduled", ("d",), ["b", "e"]),
    (1, 0.01, "*", (), ["b", "c", "d", "e"]),
    (0, None, "*", (), ["b", "c", "d", "e"]),
])
def test_plan_retention(keep_last, max_age_days, labels, protect, doomed):
    assert sorted(catalog.plan_retention(STORE, keep_last, max_age_days, NOW, protect, labels)) == doomed


def test_backup_ids_sort_by_time_and_reject_bad_labels():
    first = catalog.new_backup_id("scheduled", NOW)
    later = catalog.new_backup_id("scheduled", NOW + datetime.timedelta(seconds=1))
    assert first.startswith("20261122T120000Z-scheduled-") and first < later
    with pytest.raises(InvalidInput):
        catalog.new_backup_id("../etc", NOW)


@pytest.mark.parametrize("source,params,warned", [
    ({"host": "db1", "port": 5432, "database": "app"}, {"login_host": "db1", "login_port": 5432}, False),
    ({"host": "db1", "port": 5432, "database": "app"}, {"login_host": "db2", "login_port": 5432}, True),
    ({"host": "db1", "port": 5432, "database": "app"}, {"login_host": "db1", "login_port": 5433}, True),
    ({"database": "app"}, {"login_host": "db2", "login_port": 5432}, False),  # old manifests name no host
])
def test_a_restore_from_another_server_is_named_in_a_warning(source, params, warned):
    warnings = restore._elsewhere({"id": "b1", "source": source}, PgServer.from_params(params), "app")
    assert bool(warnings) is warned
    if warned:
        assert "taken on db1:5432" in warnings[0] and "own environment" in warnings[0]

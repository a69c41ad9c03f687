import pytest

from ansible_collections.golive.core.plugins.module_utils.common.errors import InvalidInput
from ansible_collections.golive.core.plugins.module_utils.postgres import migrate


def _m(version, sql="SELECT 1;", name="x"):
    return migrate.parse_migration("V%s__%s.sql" % (version, name), sql)


@pytest.mark.parametrize("filename,version,name", [
    ("V1__init.sql", "1", "init"),
    ("V1.2__add_orders.sql", "1.2", "add orders"),
    ("V1_2__add_orders.sql", "1.2", "add orders"),
    ("V010__padded.sql", "10", "padded"),
])
def test_file_names_are_parsed(filename, version, name):
    parsed = migrate.parse_migration(filename, b"SELECT 1;")
    assert (parsed["version"], parsed["name"], parsed["filename"]) == (version, name, filename)
    assert parsed["transactional"] is True
    assert len(parsed["checksum"]) == 64


@pytest.mark.parametrize("filename", ["v1__x.sql", "V1_x.sql", "V__x.sql", "V1__x.txt", "R__x.sql"])
def test_other_names_are_not_migrations(filename):
    assert migrate.parse_migration(filename, "") is None


@pytest.mark.parametrize("head,transactional", [
    ("-- golive:no-transaction\nCREATE INDEX CONCURRENTLY i ON t (a);", False),
    ("-- a comment\n--   golive: no-transaction  \nCREATE INDEX CONCURRENTLY i ON t (a);", False),
    ("CREATE TABLE t (a int);\n-- golive:no-transaction is only read at the top\n", True),
    ("\n\n\n\n\n\n-- golive:no-transaction\n", True),
])
def test_non_transactional_marker(head, transactional):
    assert migrate.parse_migration("V1__x.sql", head)["transactional"] is transactional


def test_versions_sort_numerically():
    versions = ["10", "2", "1.10", "1.9", "1"]
    assert sorted(versions, key=migrate.version_key) == ["1", "1.9", "1.10", "2", "10"]


def _row(m, success=True):
    return {"version": m["version"], "filename": m["filename"], "checksum": m["checksum"], "success": success}


PLAN_CASES = [
    # (files, history rows, target) -> (pending versions, drifted files, missing, out_of_order, current)
    ("fresh database", ["1", "2", "3"], [], None, (["1", "2", "3"], [], [], [], None)),
    ("all applied", ["1", "2"], ["1", "2"], None, ([], [], [], [], "2")),
    ("one new", ["1", "2", "3"], ["1", "2"], None, (["3"], [], [], [], "2")),
    ("target stops early", ["1", "2", "3"], ["1"], "2", (["2"], [], [], [], "1")),
    ("out of order", ["1", "2", "3"], ["1", "3"], None, (["2"], [], [], ["V2__x.sql"], "3")),
    ("file of applied missing", ["2"], ["1", "2"], None, ([], [], ["V1__x.sql"], [], "2")),
]


@pytest.mark.parametrize("case,files,applied,target,expected", PLAN_CASES, ids=[c[0] for c in PLAN_CASES])
def test_plan(case, files, applied, target, expected):
    migrations = [_m(v) for v in files]
    history = [_row(_m(v)) for v in applied]
    steps = migrate.plan(migrations, history, target)
    got = ([m["version"] for m in steps["pending"]], [d["filename"] for d in steps["drifted"]],
           steps["missing"], steps["out_of_order"], steps["current"])
    assert got == expected


def test_plan_reports_drift_of_applied_files():
    applied = _m("1", "CREATE TABLE a (x int);")
    changed = _m("1", "CREATE TABLE a (x bigint);")
    steps = migrate.plan([changed, _m("2")], [_row(applied)])
    assert [d["filename"] for d in steps["drifted"]] == ["V1__x.sql"]
    assert steps["drifted"][0]["applied_checksum"] == applied["checksum"]
    assert steps["drifted"][0]["file_checksum"] == changed["checksum"]


def test_plan_reports_an_applied_file_renamed_under_its_version():
    applied = migrate.parse_migration("V1__add_orders.sql", "CREATE TABLE a (x int);")
    renamed = migrate.parse_migration("V1__create_orders_table.sql", "CREATE TABLE a (x int);")
    steps = migrate.plan([renamed], [_row(applied)])
    assert steps["renamed"] == [{"version": "1", "applied_filename": "V1__add_orders.sql",
                                 "filename": "V1__create_orders_table.sql", "name": "create orders table"}]
    assert steps["drifted"] == [] and steps["pending"] == []
    # Renamed and changed: the changed content is what fails it, named as drift.
    changed = migrate.parse_migration("V1__create_orders_table.sql", "CREATE TABLE a (x bigint);")
    steps = migrate.plan([changed], [_row(applied)])
    assert steps["renamed"] == [] and [d["version"] for d in steps["drifted"]] == ["1"]


def test_a_failed_non_transactional_run_is_pending_again():
    m = _m("1", "-- golive:no-transaction\nCREATE INDEX CONCURRENTLY i ON t (a);")
    steps = migrate.plan([m], [_row(m, success=False)])
    assert [p["version"] for p in steps["pending"]] == ["1"]
    assert steps["current"] is None


SPLIT_CASES = [
    ("SELECT 1; SELECT 2", ["SELECT 1", "SELECT 2"]),
    ("SELECT ';'; SELECT 'it''s; fine'", ["SELECT ';'", "SELECT 'it''s; fine'"]),
    ('CREATE TABLE "a;b" (x int);', ['CREATE TABLE "a;b" (x int)']),
    ("-- a; comment\nSELECT 1; /* b; /* nested; */ c; */ SELECT 2;", ["-- a; comment\nSELECT 1", "/* b; /* nested; */ c; */ SELECT 2"]),
    ("CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql; SELECT f();",
     ["CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql", "SELECT f()"]),
    ("DO $body$ BEGIN PERFORM 1; END $body$; SELECT 2;", ["DO $body$ BEGIN PERFORM 1; END $body$", "SELECT 2"]),
    ("-- only a comment\n;  ;\n", []),
]


@pytest.mark.parametrize("sql,statements", SPLIT_CASES)
def test_split_statements(sql, statements):
    assert migrate.split_statements(sql) == statements


def test_load_rejects_duplicate_versions_and_bad_names(tmp_path):
    (tmp_path / "V1__a.sql").write_text("SELECT 1;")
    (tmp_path / "V1.0__b.sql").write_text("SELECT 1;")
    with pytest.raises(InvalidInput, match="version 1 is used by both"):
        migrate.load_migrations(str(tmp_path))
    (tmp_path / "V1.0__b.sql").unlink()
    (tmp_path / "notes.sql").write_text("")
    with pytest.raises(InvalidInput, match="does not match V<version>__<name>.sql"):
        migrate.load_migrations(str(tmp_path))


def test_lock_key_is_stable_and_fits_bigint():
    key = migrate.lock_key("public.golive_schema_history")
    assert key == migrate.lock_key("public.golive_schema_history")
    assert 0 < key < 2 ** 63
    assert key != migrate.lock_key("other.history")

"""What playbooks/watch.yml reads besides Prometheus, against the lab's real servers:
PostgreSQL's pg_stat_statements (slow queries) and PgBouncer's waiting clients, Redis's
hit ratio from INFO stats, and the release's Pods (restarts)."""

import uuid

import pytest
import redis

from helpers import checks_by_id as by_id, pgbouncer_admin as bouncer, run_task, sql, tls_admin_args as admin_args


@pytest.fixture
def stats_database(lab):
    """A database of the test's own with pg_stat_statements (the lab preloads the library)."""
    name = "stats_%s" % uuid.uuid4().hex[:8]
    sql(lab, 'CREATE DATABASE "%s"' % name, dbname="postgres")
    try:
        sql(lab, "CREATE EXTENSION pg_stat_statements", dbname=name)
        yield name
    finally:
        sql(lab, 'DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % name, dbname="postgres")


def test_a_slow_statement_is_named_from_pg_stat_statements_and_its_absence_says_how_to_install_it(
        lab, tmp_path, stats_database):
    pg = lab["postgres"]
    for _ in range(6):
        sql(lab, "SELECT pg_sleep(0.06), 'secret-constant'", dbname=stats_database)
    pool = dict(bouncer(pg), database=pg["database"], max_waiting_clients=0)
    result, _ = run_task(tmp_path, "golive.core.pg_health", admin_args(
        pg, login_db=stats_database, slow_queries={"mean_ms_max": 40, "min_calls": 5}, pgbouncer=pool,
        fail_on_failed_checks=False))
    checks = by_id(result)
    slow = checks["pg.slow_queries"]
    assert slow["status"] == "fail", slow
    assert len(slow["evidence"]["problems"]) == 1, slow["evidence"]
    problem = slow["evidence"]["problems"][0]
    # Normalised text: the constant is a placeholder, never the value.
    assert "pg_sleep($1)" in problem and "over 6 calls (at most 40 ms)" in problem and "secret-constant" not in problem
    assert checks["pg.pgbouncer"]["status"] == "pass" and checks["pg.pgbouncer"]["evidence"]["waiting_clients"] == 0

    # A generous limit passes; the application's database has no extension: skipped, saying how.
    result, _ = run_task(tmp_path, "golive.core.pg_health", admin_args(
        pg, login_db=stats_database, slow_queries={"mean_ms_max": 5000}))
    assert by_id(result)["pg.slow_queries"]["status"] == "pass"
    result, _ = run_task(tmp_path, "golive.core.pg_health", admin_args(pg, slow_queries={}))
    reason = by_id(result)["pg.slow_queries"]["evidence"]["reason"]
    assert reason.startswith("pg_stat_statements is not installed in %s" % pg["database"]) and "CREATE EXTENSION" in reason


def test_the_cache_hit_ratio_comes_from_info_stats(lab, tmp_path, plain_redis):
    client = redis.Redis(port=plain_redis["port"], password=plain_redis["password"])
    args = {"redis_host": "127.0.0.1", "redis_port": plain_redis["port"], "redis_password": plain_redis["password"],
            "expected_role": "any", "require_persistence": "none", "min_hit_ratio": 0.8, "min_hit_lookups": 100,
            "fail_on_failed_checks": False}
    for _ in range(50):
        client.get("missing")
    result, _ = run_task(tmp_path, "golive.core.redis_health", args)
    check = by_id(result)["redis.hit_ratio"]
    assert check["status"] == "skip" and check["evidence"]["reason"].startswith("50 lookups since the statistics")
    for _ in range(100):
        client.get("missing")
    result, _ = run_task(tmp_path, "golive.core.redis_health", args)
    check = by_id(result)["redis.hit_ratio"]
    assert check["status"] == "fail" and check["evidence"]["problems"] == [
        "hit ratio 0.0% (0 hits, 150 misses), at least 80.0%"]
    client.set("present", "1")
    for _ in range(900):
        client.get("present")
    result, _ = run_task(tmp_path, "golive.core.redis_health", args)
    check = by_id(result)["redis.hit_ratio"]
    assert check["status"] == "pass" and check["evidence"]["hit_ratio"] == round(900 / 1050.0, 4)

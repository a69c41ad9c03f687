"""Encryption in transit on the lab: PostgreSQL and PgBouncer serve TLS from the lab CA, the
application's role may only connect over TLS, and each Redis node has a TLS port. pg.tls and
redis.tls pass on the healthy lab and fail alone, naming what breaks them."""

import subprocess
import uuid

import psycopg2
import pytest

from helpers import checks_by_id as by_id, lab_redis_args, pgbouncer_admin as bouncer, rows, run_task, \
    tls_admin_args as admin_args


def other_ca(tmp_path):
    """A CA of the test's own, which signed nothing the lab serves."""
    path = tmp_path / "other-ca.crt"
    if not path.exists():
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                        "-nodes", "-keyout", str(tmp_path / "other-ca.key"), "-out", str(path), "-subj", "/CN=other",
                        "-days", "1"], check=True, capture_output=True)
    return str(path)


@pytest.fixture
def plain_role(lab):
    """A login role of the test's own: the lab's catch-all `host all all` rule lets it in
    without TLS."""
    pg = lab["postgres"]
    name = "t_plain_%s" % uuid.uuid4().hex[:8]
    rows(pg, "postgres", "CREATE ROLE %s LOGIN PASSWORD 'x%s'" % (name, uuid.uuid4().hex))
    yield name
    rows(pg, "postgres", "DROP ROLE IF EXISTS %s" % name)


def test_pg_tls_passes_for_the_application_role_and_names_a_role_allowed_without_tls(lab, tmp_path, plain_role):
    pg = lab["postgres"]
    result, _ = run_task(tmp_path, "golive.core.pg_health", admin_args(
        pg, tls={"roles": [pg["app_user"]]}, pgbouncer=bouncer(pg)))
    checks = by_id(result)
    tls = checks["pg.tls"]
    assert tls["status"] == "pass", tls
    assert tls["evidence"]["ssl"] == "on"
    assert tls["evidence"]["connection"]["ssl"] is True and tls["evidence"]["connection"]["protocol"] == "TLSv1.3"
    assert tls["evidence"]["server_leg"]["ssl"] is True
    assert tls["evidence"]["roles"] == {pg["app_user"]: "TLS only"}
    assert tls["evidence"]["pgbouncer"]["client_tls_sslmode"] == "allow"
    assert tls["evidence"]["pgbouncer"]["server_tls_sslmode"] == "verify-full"

    # A role the catch-all rule lets in without TLS: pg.tls fails alone, naming role and line.
    result, _ = run_task(tmp_path, "golive.core.pg_health", admin_args(
        pg, tls={"roles": [pg["app_user"], plain_role]}, fail_on_failed_checks=False))
    checks = by_id(result)
    assert [c for c in checks if checks[c]["status"] == "fail"] == ["pg.tls"]
    problem = checks["pg.tls"]["evidence"]["problems"]
    assert len(problem) == 1 and problem[0].startswith("role %s may connect without TLS (pg_hba.conf line " % plain_role)
    assert "host all all 127.0.0.1" in problem[0]
    assert checks["pg.tls"]["evidence"]["roles"][plain_role] == "allowed without TLS"

    # The same check over a connection without TLS: that connection is named.
    result, _ = run_task(tmp_path, "golive.core.pg_health", admin_args(
        pg, ssl_mode="disable", ca_cert=None, tls={"roles": [pg["app_user"]]}, fail_on_failed_checks=False))
    assert by_id(result)["pg.tls"]["evidence"]["problems"] == ["this connection is not encrypted",
                                                               "its server leg (pg_stat_ssl) is not encrypted"]


def test_the_application_role_without_tls_or_with_the_wrong_ca_is_refused_clearly(lab, tmp_path):
    pg = lab["postgres"]
    app = {"login_host": pg["host"], "login_user": pg["app_user"], "login_password": pg["app_password"],
           "login_db": pg["database"]}
    for port in (pg["port"], pg["pgbouncer_port"]):
        result, _ = run_task(tmp_path, "golive.core.pg_health", dict(app, login_port=port, ssl_mode="disable"))
        assert result["failed"] and "Traceback" not in result.get("module_stderr", "")
        assert "TLS" in result["msg"] and "ssl_mode require, verify-ca or verify-full" in result["msg"].replace(
            " to ", " "), result["msg"]
        assert pg["app_password"] not in result["msg"]
    # Verified against a CA that did not sign the server's certificate.
    result, _ = run_task(tmp_path, "golive.core.pg_health", dict(app, login_port=pg["pgbouncer_port"],
                                                                 ssl_mode="verify-full", ca_cert=other_ca(tmp_path)))
    assert result["failed"] and "certificate verify failed" in result["msg"], result["msg"]
    # Over TLS, verified, the role is let in, by PostgreSQL and by PgBouncer alike.
    for port in (pg["port"], pg["pgbouncer_port"]):
        conn = psycopg2.connect(host=pg["host"], port=port, user=pg["app_user"], password=pg["app_password"],
                                dbname=pg["database"], sslmode="verify-full", sslrootcert=pg["ca_file"])
        assert conn.info.ssl_in_use
        conn.close()


def test_redis_tls_passes_on_every_node_and_fails_naming_the_node(lab, tmp_path):
    r = lab["redis"]
    args = dict(lab_redis_args(lab), redis_ca_cert=r["ca_file"], require_tls=True, min_replicas=1)
    result, _ = run_task(tmp_path, "golive.core.redis_health", args)
    check = by_id(result)["redis.tls"]
    assert check["status"] == "pass", check
    ports = sorted(node["tls_port"] for node in check["evidence"]["nodes"])
    assert ports == sorted([r["tls_port"], r["replica_tls_port"]])
    assert all(node["handshake"]["protocol"] in ("TLSv1.2", "TLSv1.3") for node in check["evidence"]["nodes"])

    # The collection's own connection over TLS, straight to the TLS port, verified.
    direct = {"redis_host": r["host"], "redis_port": r["tls_port"], "redis_password": r["password"],
              "redis_tls": True, "redis_ca_cert": r["ca_file"], "expected_role": "any", "require_tls": True,
              "fail_on_failed_checks": False}
    result, _ = run_task(tmp_path, "golive.core.redis_health", direct)
    assert by_id(result)["redis.tls"]["status"] == "pass"
    assert by_id(result)["redis.tls"]["evidence"]["nodes"][0]["connection"] == "tls"
    # A CA that did not sign the certificate: refused, clearly, naming why.
    result, _ = run_task(tmp_path, "golive.core.redis_health", dict(direct, redis_ca_cert=other_ca(tmp_path)))
    assert result["failed"] and "certificate verify failed" in result["msg"], result
    assert "Traceback" not in str(result.get("module_stderr", "")) and r["password"] not in result["msg"]


def test_a_redis_node_without_tls_is_named(lab, tmp_path, plain_redis):
    args = {"redis_host": "127.0.0.1", "redis_port": plain_redis["port"], "redis_password": plain_redis["password"],
            "expected_role": "any", "require_tls": True, "require_persistence": "none",
            "fail_on_failed_checks": False}
    result, _ = run_task(tmp_path, "golive.core.redis_health", args)
    checks = by_id(result)
    assert checks["redis.tls"]["evidence"]["problems"] == [
        "127.0.0.1:%s does not serve TLS (tls-port 0)" % plain_redis["port"]]
    assert plain_redis["password"] not in str(result)

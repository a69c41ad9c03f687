"""playbooks/validate.yml against the lab: assert on what the servers hold afterwards."""

import json

import dns.message
import dns.query
import dns.rdatatype
import dns.tsigkeyring
import dns.update
import psycopg2
import pytest
import redis
import redis.sentinel

from lab.services.moto import lab_client
from helpers import recap, run_playbook

pytestmark = pytest.mark.xdist_group("validate-playbook")

PROBE_VALUE = "golive.core"


def _master(lab):
    r = lab["redis"]
    sentinel = redis.sentinel.Sentinel([(s["host"], s["port"]) for s in r["sentinels"]],
                                       sentinel_kwargs={"password": r.get("sentinel_password")},
                                       password=r["password"], decode_responses=True)
    return sentinel.master_for(r["master_name"]), sentinel


def _txt(lab, name):
    d = lab["dns"]
    query = dns.message.make_query("%s.%s" % (name, d["zone"]), dns.rdatatype.TXT)
    answer = dns.query.tcp(query, d["server"], port=d["port"], timeout=5)
    return sorted(rd.to_text() for rrset in answer.answer for rd in rrset)


def _clear_markers(lab):
    master, _ = _master(lab)
    master.delete("golive:probe")
    lab_client(lab).delete_object(Bucket=lab["s3"]["bucket"], Key="golive-probe/marker")
    d = lab["dns"]
    keyring = dns.tsigkeyring.from_text({d["tsig_key_name"]: (d["tsig_algorithm"], d["tsig_secret"])})
    update = dns.update.UpdateMessage(d["zone"], keyring=keyring, keyalgorithm=d["tsig_algorithm"])
    update.delete("_golive-probe", "TXT")
    dns.query.tcp(update, d["server"], port=d["port"], timeout=5)


def _pgbouncer_queries(lab):
    p = lab["postgres"]
    conn = psycopg2.connect(host=p["host"], port=p["pgbouncer_port"], dbname="pgbouncer",
                            user=p["pgbouncer_admin_user"], password=p["pgbouncer_admin_password"])
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SHOW STATS")
        names = [c.name for c in cur.description]
        rows = [dict(zip(names, row)) for row in cur.fetchall()]
    conn.close()
    return sum(int(r["total_query_count"]) for r in rows if r["database"] == p["database"])


def _secrets(lab):
    return [lab["postgres"]["app_password"], lab["redis"]["password"], lab["dns"]["tsig_secret"],
            lab["postgres"]["admin_password"]]


def test_validate_writes_markers_into_every_system_and_is_idempotent(lab):
    _clear_markers(lab)
    queries_before = _pgbouncer_queries(lab)

    check = run_playbook("playbooks/validate.yml", "--check")
    assert check.returncode == 0, check.stdout + check.stderr
    master, sentinel = _master(lab)
    assert master.get("golive:probe") is None, "check mode must not write the Redis marker"
    assert _txt(lab, "_golive-probe") == []

    first = run_playbook("playbooks/validate.yml", "-vvv")
    assert first.returncode == 0, first.stdout[-4000:] + first.stderr
    assert recap(first.stdout)["changed"] == 1

    # PostgreSQL: the queries went through PgBouncer (whose counters a restore on the other
    # worker may have reset meanwhile: then any count since is this run's or later).
    after = _pgbouncer_queries(lab)
    assert after > queries_before or 0 < after < queries_before
    # Redis: the master Sentinel names holds the marker, with a TTL, and its replica too.
    assert master.get("golive:probe") == PROBE_VALUE
    assert 0 < master.ttl("golive:probe") <= 86400
    replica = sentinel.slave_for(lab["redis"]["master_name"])
    master.wait(1, 2000)  # until a replica has acknowledged every write so far
    assert replica.get("golive:probe") == PROBE_VALUE
    # S3: the object is in the bucket.
    body = lab_client(lab).get_object(Bucket=lab["s3"]["bucket"], Key="golive-probe/marker")["Body"].read()
    assert body == PROBE_VALUE.encode()
    # DNS: BIND answers the record the signed update created.
    assert _txt(lab, "_golive-probe") == ['"%s"' % PROBE_VALUE]

    # No secret anywhere in the most verbose output.
    for secret in _secrets(lab):
        assert secret not in first.stdout and secret not in first.stderr

    second = run_playbook("playbooks/validate.yml", "-v")
    assert second.returncode == 0, second.stdout[-4000:]
    assert recap(second.stdout)["changed"] == 0, second.stdout[-6000:]


def test_wrong_password_fails_clearly_and_changes_nothing(lab):
    master, _ = _master(lab)
    master.delete("golive:probe")
    wrong = "not-the-password-%s" % lab["postgres"]["app_password"][:4]
    overrides = {"golive_postgres": {"login_host": lab["postgres"]["host"],
                                     "login_port": lab["postgres"]["pgbouncer_port"],
                                     "login_user": lab["postgres"]["app_user"],
                                     "login_password": wrong,
                                     "login_db": lab["postgres"]["database"], "ssl_mode": "verify-full",
                                     "ca_cert": lab["postgres"]["ca_file"]},
                 "validate_systems": ["postgres"]}
    result = run_playbook("playbooks/validate.yml", "-vvv", "-e", json.dumps(overrides))
    assert result.returncode != 0
    out = result.stdout + result.stderr
    assert "Failed to connect to PostgreSQL at 127.0.0.1:%s" % lab["postgres"]["pgbouncer_port"] in out
    assert "authentication failed" in out
    assert "Check login_user and login_password" in out
    assert "Traceback" not in out
    assert wrong not in out
    assert master.get("golive:probe") is None


def test_unreachable_server_is_a_failed_check_not_a_traceback(lab):
    overrides = {"golive_redis": {"redis_host": "127.0.0.1", "redis_port": 1, "redis_timeout": 1},
                 "validate_systems": ["redis", "dns"]}
    result = run_playbook("playbooks/validate.yml", "-e", json.dumps(overrides))
    out = result.stdout + result.stderr
    assert result.returncode != 0
    assert "1 of 2 systems failed: connectivity.redis" in out
    assert "Failed to connect to Redis at 127.0.0.1:1" in out
    assert "Traceback" not in out

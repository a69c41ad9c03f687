"""The local lab, checked over the real protocols of its servers."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from lab.core import REPO_ROOT, Lab, LabError, Service
from lab.services.moto import lab_client

RUN_ID = uuid.uuid4().hex[:10]


def eventually(probe, timeout=15.0, interval=0.1):
    """Return probe()'s first truthy value, or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            value = probe()
            if value:
                return value
        except Exception as exc:  # noqa: BLE001 - retried until the deadline
            last = exc
        time.sleep(interval)
    pytest.fail(f"condition not met within {timeout}s (last error: {last!r})")


def run_cli(*args, state_dir=None):
    env = dict(os.environ)
    if state_dir:
        env["GOLIVE_LAB_STATE"] = str(state_dir)
    return subprocess.run([sys.executable, "-m", "lab", *args], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


# --- PostgreSQL ----------------------------------------------------------------------

def pg(lab, port_key="port", user="app", dbname=None):
    import psycopg2

    eps = lab["postgres"]
    # Through PgBouncer a client waits while a restore elsewhere in the suite has the database
    # PAUSEd (the rollback tests do): wait as long as such a restore may take.
    conn = psycopg2.connect(host=eps["host"], port=eps[port_key], user=eps[f"{user}_user"],
                            password=eps[f"{user}_password"], dbname=dbname or eps["database"],
                            connect_timeout=120 if port_key == "pgbouncer_port" else 5)
    conn.autocommit = True
    return conn


def test_app_user_queries_through_pgbouncer(lab):
    conn = pg(lab, "pgbouncer_port")
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT current_user, current_database(), pg_is_in_recovery()")
            assert cur.fetchone() == ("golive_app", "golive", False)
    finally:
        conn.close()


def test_pgbouncer_admin_console_shows_pools_and_config(lab):
    import psycopg2

    eps = lab["postgres"]
    conn = psycopg2.connect(host=eps["host"], port=eps["pgbouncer_port"], dbname="pgbouncer",
                            user=eps["pgbouncer_admin_user"],
                            password=eps["pgbouncer_admin_password"], connect_timeout=5)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("SHOW POOLS")
            columns = [c.name for c in cur.description]
            assert "pool_mode" in columns
            cur.execute("SHOW CONFIG")
            config = {row[0]: row[1] for row in cur.fetchall()}
            assert config["listen_port"] == str(eps["pgbouncer_port"])
            assert config["auth_type"] == "hba"  # auth_hba_file: the application's role only over TLS
    finally:
        conn.close()


def test_tcp_requires_a_password(lab):
    import psycopg2

    eps = lab["postgres"]
    with pytest.raises(psycopg2.OperationalError, match="password authentication failed"):
        psycopg2.connect(host=eps["host"], port=eps["port"], user=eps["app_user"],
                         password="wrong", dbname=eps["database"], connect_timeout=5)


def test_replica_is_in_recovery_and_receives_rows(lab):
    table = f"lab_check_{RUN_ID}"
    primary = pg(lab)
    replica = pg(lab, "replica_port")
    try:
        with replica.cursor() as cur:
            cur.execute("SELECT pg_is_in_recovery()")
            assert cur.fetchone() == (True,)
        with primary.cursor() as cur:
            cur.execute(f"CREATE TABLE {table} (id int PRIMARY KEY, note text)")
            cur.execute(f"INSERT INTO {table} VALUES (1, %s)", (RUN_ID,))

        def row_on_replica():
            with replica.cursor() as cur:
                cur.execute("SELECT to_regclass(%s)", (table,))
                if cur.fetchone()[0] is None:
                    return None
                cur.execute(f"SELECT note FROM {table} WHERE id = 1")
                return cur.fetchone()

        assert eventually(row_on_replica) == (RUN_ID,)
        admin = pg(lab, user="admin", dbname="postgres")
        try:
            with admin.cursor() as cur:
                cur.execute("SELECT slot_name, active FROM pg_replication_slots")
                assert (lab["postgres"]["replication_slot"], True) in cur.fetchall()
                cur.execute("SHOW wal_level")
                assert cur.fetchone() == ("replica",)
        finally:
            admin.close()
    finally:
        with primary.cursor() as cur:
            cur.execute(f"DROP TABLE IF EXISTS {table}")
        primary.close()
        replica.close()


# --- Redis ---------------------------------------------------------------------------

def test_redis_write_via_sentinel_discovery_and_read_back(lab):
    from redis.sentinel import Sentinel

    eps = lab["redis"]
    sentinel = Sentinel([(s["host"], s["port"]) for s in eps["sentinels"]], socket_timeout=2,
                        sentinel_kwargs={"password": eps["sentinel_password"]})
    master = sentinel.master_for(eps["master_name"], password=eps["password"],
                                 socket_timeout=2, decode_responses=True)
    key = f"golive:lab:{RUN_ID}"
    try:
        assert master.set(key, "hello")
        assert master.get(key) == "hello"
        assert master.execute_command("WAIT", 1, 5000) >= 1
        replica = sentinel.slave_for(eps["master_name"], password=eps["password"],
                                     socket_timeout=2, decode_responses=True)
        assert eventually(lambda: replica.get(key)) == "hello"
        assert master.config_get("appendonly") == {"appendonly": "yes"}
        assert master.config_get("save")["save"]
    finally:
        master.delete(key)


def test_redis_requires_the_password(lab):
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    eps = lab["redis"]
    client = redis.Redis(host=eps["host"], port=eps["port"], socket_timeout=2,
                         retry=Retry(NoBackoff(), 0))
    with pytest.raises(redis.AuthenticationError):
        client.ping()


def test_all_sentinels_agree_on_the_master(lab):
    import redis

    eps = lab["redis"]
    answers = set()
    for s in eps["sentinels"]:
        client = redis.Redis(host=s["host"], port=s["port"], socket_timeout=2,
                             decode_responses=True)
        answers.add(tuple(client.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME",
                                                 eps["master_name"])))
        info = client.sentinel_master(eps["master_name"])
        assert info["quorum"] == 2
        assert info["num-other-sentinels"] == 2
    assert len(answers) == 1
    host, port = answers.pop()
    assert host == "127.0.0.1"
    assert int(port) in (eps["port"], eps["replica_port"])


# --- moto: S3 and Route53 ------------------------------------------------------------

def test_s3_put_and_get(lab):
    s3 = lab_client(lab, "s3")
    bucket = lab["s3"]["bucket"]
    key = f"lab-check/{RUN_ID}.txt"
    s3.put_object(Bucket=bucket, Key=key, Body=b"backup bytes")
    try:
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == b"backup bytes"
    finally:
        s3.delete_object(Bucket=bucket, Key=key)


def test_route53_zone_and_records(lab):
    r53 = lab_client(lab, "route53")
    zones = {z["Name"]: z["Id"].split("/")[-1] for z in r53.list_hosted_zones()["HostedZones"]}
    assert zones[lab["route53"]["zone"]] == lab["route53"]["zone_id"]
    records = r53.list_resource_record_sets(HostedZoneId=lab["route53"]["zone_id"])
    names = {(r["Name"], r["Type"]) for r in records["ResourceRecordSets"]}
    assert ("www.lab.example.", "A") in names


# --- BIND: RFC 2136 with TSIG --------------------------------------------------------

def test_tsig_signed_update_is_applied_and_unsigned_refused(lab):
    import dns.message
    import dns.query
    import dns.rcode
    import dns.tsigkeyring
    import dns.update

    eps = lab["dns"]
    server, port, zone = eps["server"], eps["port"], eps["zone"]
    keyring = dns.tsigkeyring.from_text({eps["tsig_key_name"]: eps["tsig_secret"]})
    name = f"t{RUN_ID}"

    update = dns.update.UpdateMessage(zone, keyring=keyring, keyalgorithm=eps["tsig_algorithm"])
    update.replace(name, 60, "A", "192.0.2.99")
    response = dns.query.tcp(update, server, port=port, timeout=5)
    assert response.rcode() == dns.rcode.NOERROR
    try:
        answer = dns.query.udp(dns.message.make_query(f"{name}.{zone}", "A"), server,
                               port=port, timeout=5)
        assert answer.rcode() == dns.rcode.NOERROR
        assert [r.to_text() for rrset in answer.answer for r in rrset] == ["192.0.2.99"]

        unsigned = dns.update.UpdateMessage(zone)
        unsigned.replace(f"u{RUN_ID}", 60, "A", "192.0.2.98")
        assert dns.query.tcp(unsigned, server, port=port, timeout=5).rcode() == dns.rcode.REFUSED
        missing = dns.query.udp(dns.message.make_query(f"u{RUN_ID}.{zone}", "A"), server,
                                port=port, timeout=5)
        assert missing.rcode() == dns.rcode.NXDOMAIN
    finally:
        cleanup = dns.update.UpdateMessage(zone, keyring=keyring,
                                           keyalgorithm=eps["tsig_algorithm"])
        cleanup.delete(name)
        dns.query.tcp(cleanup, server, port=port, timeout=5)


def test_dns_serves_the_zone_without_recursion(lab):
    import dns.flags
    import dns.message
    import dns.query

    eps = lab["dns"]
    # Both authoritative servers (the primary and the secondary it feeds) answer the same,
    # and both are the zone's NS records. (www points at the router's old site until a
    # go-live cuts it over; tests running meanwhile may change it.)
    import time

    deadline = time.monotonic() + 15
    while True:  # a cutover by a test running meanwhile reaches the secondary within seconds
        seen = []
        for server, port in ((eps["server"], eps["port"]), (eps["secondary"], eps["secondary_port"])):
            answer = dns.query.udp(dns.message.make_query(f"www.{eps['zone']}", "A"), server,
                                   port=port, timeout=5)
            seen.append([r.to_text() for rrset in answer.answer for r in rrset])
            assert answer.flags & dns.flags.AA
            assert not answer.flags & dns.flags.RA
        if seen[0] == seen[1] or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert seen[0] == seen[1] and len(seen[0]) == 1
    ns = dns.query.udp(dns.message.make_query(eps["zone"], "NS"), eps["server"], port=eps["port"], timeout=5)
    assert sorted(r.to_text() for rrset in ns.answer for r in rrset) == ["ns1.lab.example.", "ns2.lab.example."]


def test_a_signed_update_on_the_primary_reaches_the_secondary(lab):
    import time
    import uuid

    import dns.message
    import dns.query
    import dns.tsigkeyring
    import dns.update

    eps = lab["dns"]
    name = "xfr-%s" % uuid.uuid4().hex[:6]
    keyring = dns.tsigkeyring.from_text({eps["tsig_key_name"]: eps["tsig_secret"]})
    update = dns.update.Update(eps["zone"], keyring=keyring, keyalgorithm=eps["tsig_algorithm"])
    update.replace(name, 5, "TXT", '"hello"')
    assert dns.query.tcp(update, eps["server"], port=eps["port"], timeout=10).rcode() == 0
    deadline = time.monotonic() + 30
    while True:  # NOTIFY, then IXFR: seconds at most
        answer = dns.query.udp(dns.message.make_query("%s.%s" % (name, eps["zone"]), "TXT"), eps["secondary"],
                               port=eps["secondary_port"], timeout=5)
        if answer.answer:
            break
        assert time.monotonic() < deadline, "the secondary never served the update"
        time.sleep(0.2)
    remove = dns.update.Update(eps["zone"], keyring=keyring, keyalgorithm=eps["tsig_algorithm"])
    remove.delete(name)
    assert dns.query.tcp(remove, eps["server"], port=eps["port"], timeout=10).rcode() == 0


# --- the lab itself ------------------------------------------------------------------

def pids(status, pods=True):
    """``{process name: pid}``; ``pods=False`` leaves out the Pods' processes (other tests
    roll and scale the application while this one runs)."""
    return {p["name"]: p["pid"] for s in status.values() for p in s["processes"]
            if pods or not p["name"].startswith("pod ")}


def test_up_again_changes_nothing(lab, lab_instance):
    before = pids(lab_instance.status(), pods=False)
    state_before = (lab_instance.state_dir / "state.json").read_text()
    assert lab_instance.up() == lab
    assert pids(lab_instance.status(), pods=False) == before
    assert (lab_instance.state_dir / "state.json").read_text() == state_before


def test_status_cli_and_env(lab, lab_instance):
    result = run_cli("status", state_dir=lab_instance.state_dir)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines] == [s.name for s in lab_instance.services]
    assert all(line.split()[1] == "running" for line in lines)

    result = run_cli("env", state_dir=lab_instance.state_dir)
    assert result.returncode == 0, result.stderr
    exported = {}
    for line in result.stdout.splitlines():
        word, assignment = line.split(" ", 1)
        assert word == "export"
        key, value = assignment.split("=", 1)
        exported[key] = shlex.split(value)[0] if value else ""
    assert exported["GOLIVE_REDIS_PASSWORD"] == lab["redis"]["password"]
    assert exported["GOLIVE_POSTGRES_PGBOUNCER_PORT"] == str(lab["postgres"]["pgbouncer_port"])
    assert exported["GOLIVE_DNS_TSIG_SECRET"] == lab["dns"]["tsig_secret"]
    assert json.loads((lab_instance.state_dir / "endpoints.json").read_text()) == lab


def test_start_failure_is_one_clear_line(tmp_path):
    class Broken(Service):
        name = "broken"
        processes = {"broken": ("broken",)}

        def start(self, ctx):
            ctx.spawn("broken", ["sh", "-c", "echo 'fatal: no config'; exit 3"],
                      ports=[ctx.port("broken")])
            return {}

    state = tmp_path / "state"
    with pytest.raises(LabError) as err:
        Lab(state, services=[Broken()], write_inventory=False).up()
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith("Failed to start broken: exited with code 3: fatal: no config")
    assert message.endswith(f"(log: {state / 'logs' / 'broken.log'})")


def listening_addresses():
    """``address:port`` of every listening TCP socket."""
    out = subprocess.run(["ss", "-Hltn"], capture_output=True, text=True, check=True).stdout
    return {line.split()[3] for line in out.splitlines() if len(line.split()) > 3}


def listening(ports):
    """Lines of ``ss -ltnp``/``ss -lunp`` whose local port is one of ``ports``."""
    out = subprocess.run(["ss", "-Hltunp"], capture_output=True, text=True, check=True).stdout
    found = []
    for line in out.splitlines():
        fields = line.split()
        local = fields[4] if len(fields) > 4 else ""
        port = local.rsplit(":", 1)[-1]
        if port.isdigit() and int(port) in ports:
            found.append(line)
    return found


def test_separate_lab_up_then_down_leaves_nothing_listening():
    """A lab of its own (state dir and ports) so the shared lab is not disturbed."""
    state = Path(tempfile.mkdtemp(prefix="golive-lab-test-"))
    own = Lab(state, write_inventory=False)
    try:
        endpoints = own.up()
        status = own.status()
        ports = {p for s in status.values() for proc in s["processes"] for p in proc["ports"]}
        procs = set(pids(status).values())
        pods = [proc for proc in status["app"]["processes"] if proc["name"].startswith("pod ")]
        assert endpoints["postgres"]["port"] in ports and len(pods) == 3 and all(p["running"] for p in pods)
        # The monitoring stack is a service of its own: Alertmanager and every exporter run.
        assert {proc["name"] for proc in status["monitoring"]["processes"] if proc["running"]} == {
            "alertmanager", "node-exporter", "postgres-exporter", "pgbouncer-exporter", "redis-exporter",
            "blackbox-exporter"}
        pod_addresses = {p["address"] for p in pods}
        assert listening(ports), "the separate lab should be listening"
        assert pod_addresses <= listening_addresses(), "every Pod's process listens on its address"
        owners = {int(m) for line in listening(ports) for m in re.findall(r"pid=(\d+)", line)}
        assert owners & procs
        # This lab's sockets (address and port): another lab may use one of its port numbers on
        # addresses of its own (its router's sites), which is not this lab's leftover.
        sockets = {line.split()[4] for line in listening(ports)
                   if {int(m) for m in re.findall(r"pid=(\d+)", line)} & procs}

        own.down()
        assert [line for line in listening(ports) if line.split()[4] in sockets] == []
        assert not pod_addresses & listening_addresses(), "a Pod's process outlived the lab"
        assert not any(own.status()[name]["running"] for name in own.status())
        alive = [pid for pid in procs
                 if Path(f"/proc/{pid}").exists()
                 and Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] not in "ZX"]
        assert alive == []
        result = run_cli("status", state_dir=state)
        assert result.returncode != 0
        assert "NOT running" in result.stdout
    finally:
        own.down(purge=True)
    assert not state.exists()


def test_redis_comes_back_after_a_failover_and_a_restart(tmp_path):
    """After a Sentinel failover the node called "primary" is a replica; down + up must
    still bring the whole topology back (the demo's drill leaves the lab like this)."""
    import redis as redis_py
    from lab.services.redis import Redis

    private = Lab(state_dir=tmp_path / "lab", services=[Redis()], write_inventory=False)
    try:
        eps = private.up()["redis"]
        sentinel = redis_py.Redis(host=eps["host"], port=eps["sentinels"][0]["port"], decode_responses=True)
        original = sentinel.sentinel_get_master_addr_by_name(eps["master_name"])
        sentinel.execute_command("SENTINEL", "FAILOVER", eps["master_name"])

        def roles():
            found = {}
            for port in (eps["port"], eps["replica_port"]):
                info = redis_py.Redis(host=eps["host"], port=port, password=eps["password"]).info("replication")
                found[port] = (info["role"], info.get("master_link_status"))
            return found

        # Wait until the failover is complete: the old primary runs as the new master's replica.
        deadline = time.monotonic() + 90
        while roles()[eps["port"]] != ("slave", "up"):
            assert time.monotonic() < deadline, "the failover did not complete: %s" % roles()
            time.sleep(0.5)
        assert sentinel.sentinel_get_master_addr_by_name(eps["master_name"]) != original
        private.down()
        eps = private.up()["redis"]
        assert roles() == {eps["port"]: ("slave", "up"), eps["replica_port"]: ("master", None)}
    finally:
        private.down(purge=True)


@pytest.mark.skipif(os.geteuid() != 0, reason="PostgreSQL runs as its own user only when the lab runs as root")
def test_postgres_runs_from_a_state_dir_its_user_cannot_reach(tmp_path):
    """A clone in root's home (mode 700): PostgreSQL, which runs as 'postgres', keeps its
    data where it can reach it, `lab status` says where, and purge removes it."""
    import psycopg2
    from lab.services.postgres import Postgres

    home = tmp_path / "root-home"
    home.mkdir(mode=0o700)
    os.chmod(home, 0o700)
    private = Lab(state_dir=home / "clone" / ".lab", services=[Postgres()], write_inventory=False)
    data = None
    try:
        eps = private.up()["postgres"]
        data = Path(private.context().daemon_dirs()["pg"])
        assert not str(data).startswith(str(home)) and data.is_dir()
        assert (home / "clone" / ".lab" / "pg").resolve() == data
        conn = psycopg2.connect(host=eps["host"], port=eps["port"], user=eps["admin_user"],
                                password=eps["admin_password"], dbname="postgres", connect_timeout=10)
        conn.close()
        status = subprocess.run([sys.executable, "-m", "lab", "--state-dir", str(private.state_dir), "status"],
                                cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
        assert "data in %s" % data in status.stdout, status.stdout + status.stderr

        # The clone is deleted by hand (no purge) and cloned again at the same place: the
        # new lab gets new data (the old data's passwords are not the new lab's), and the
        # orphaned data is removed.
        private.down()
        shutil.rmtree(home / "clone")
        private = Lab(state_dir=home / "clone" / ".lab", services=[Postgres()], write_inventory=False)
        eps = private.up()["postgres"]
        psycopg2.connect(host=eps["host"], port=eps["port"], user=eps["admin_user"], password=eps["admin_password"],
                         dbname="postgres", connect_timeout=10).close()
        again = Path(private.context().daemon_dirs()["pg"])
        assert again != data and not data.parent.exists()
        data = again
    finally:
        private.down(purge=True)
    assert data is not None and not data.exists() and not data.parent.exists()

"""pg_backup and pg_backup_verify against the lab's PostgreSQL and S3 (own databases and
own key prefixes): the manifest is written last, interrupted uploads are never "newest",
and any corruption or mismatch fails verification naming what differed."""

import json
import time
import uuid

import pytest

from lab.services.moto import lab_client
from helpers import admin_args, finish, keys, rows, run_module, s3_args


def home(prefix, dbname, environment=None):
    """Where the backups of one database live: <prefix>/[<environment>/]postgres/<database>."""
    return "/".join([prefix] + ([environment] if environment else []) + ["postgres", dbname])


def manifest(lab, folder, backup_id):
    body = lab_client(lab).get_object(Bucket=lab["s3"]["bucket"], Key="%s/%s/manifest.json" % (folder, backup_id))
    return json.loads(body["Body"].read())


def scratch_databases(lab):
    return rows(lab["postgres"], "postgres", "SELECT datname FROM pg_database WHERE datname LIKE 'golive_verify%'")


@pytest.fixture
def source(lab):
    """A database of the test's own with a few tables, and a key prefix of its own."""
    pg = lab["postgres"]
    name = "golive_t_bk_%s" % uuid.uuid4().hex[:10]
    rows(pg, "postgres", "CREATE DATABASE %s OWNER %s" % (name, pg["app_user"]))
    rows(pg, name, """
        CREATE TABLE accounts (id int PRIMARY KEY, email text UNIQUE NOT NULL, balance numeric(12, 2),
                               tags jsonb, created timestamptz DEFAULT '2026-01-01');
        INSERT INTO accounts (id, email, balance, tags)
            SELECT i, 'user' || i || '@example.com', i * 1.25, jsonb_build_object('n', i) FROM generate_series(1, 5000) i;
        CREATE TABLE events (account_id int REFERENCES accounts, kind text, at float8);
        INSERT INTO events SELECT i % 5000 + 1, 'login', i / 7.0 FROM generate_series(1, 20000) i;
        CREATE TABLE empty_one (x int);
        CREATE VIEW big_spenders AS SELECT * FROM accounts WHERE balance > 1000;
    """)
    yield name, "test-%s" % uuid.uuid4().hex[:10]
    rows(pg, "postgres", "DROP DATABASE IF EXISTS %s WITH (FORCE)" % name)


def test_backup_writes_the_manifest_last_and_verify_restores_it(lab, source):
    pg = lab["postgres"]
    dbname, prefix = source
    args = dict(admin_args(pg, dbname), **s3_args(lab, prefix))

    rc, dry, _ = run_module("pg_backup", dict(args, label="pre-deploy-r1", release="r1"), check=True)
    assert rc == 0 and dry["changed"] is True and keys(lab, prefix) == []

    rc, made, out = run_module("pg_backup", dict(args, label="pre-deploy-r1", release="r1", part_size_mb=5))
    assert rc == 0, made.get("msg")
    backup_id = made["backup_id"]
    assert made["changed"] is True and made["label"] == "pre-deploy-r1"
    assert made["undo"] == {"action": "restore", "backup_id": backup_id, "label": "pre-deploy-r1", "release": "r1",
                            "kind": "postgres", "source": dbname, "environment": None}
    assert made["identity"] == {"kind": "postgres", "source": dbname, "environment": None}
    folder = home(prefix, dbname)
    assert keys(lab, prefix) == ["%s/%s/dump" % (folder, backup_id), "%s/%s/manifest.json" % (folder, backup_id)]
    found = manifest(lab, folder, backup_id)
    assert found["tables"] == {"public.accounts": {"rows": 5000, "checksum": found["tables"]["public.accounts"]["checksum"]},
                               "public.events": {"rows": 20000, "checksum": found["tables"]["public.events"]["checksum"]},
                               "public.empty_one": {"rows": 0, "checksum": "0"}}
    assert found["server_version"].startswith("15.") and "/" in found["wal_lsn"] and len(found["schema_hash"]) == 64
    head = lab_client(lab).head_object(Bucket=lab["s3"]["bucket"], Key=found["objects"]["dump"]["key"])
    assert head["ContentLength"] == found["objects"]["dump"]["size"] == made["backup"]["size"]
    assert pg["admin_password"] not in out

    rc, again, _ = run_module("pg_backup", dict(args, label="pre-deploy-r1", release="r1", if_exists="reuse"))
    assert rc == 0 and again["changed"] is False and again["backup_id"] == backup_id

    rc, verified, _ = run_module("pg_backup_verify", dict(args, login_db="postgres", database=dbname, rto_seconds=600))
    assert rc == 0, verified.get("msg")
    assert verified["backup_id"] == backup_id and verified["checks"][0]["status"] == "pass"
    assert verified["checks"][0]["evidence"]["rows"] == 25000
    assert verified["restore_seconds"] <= 600
    assert (verified["scratch_database"],) not in scratch_databases(lab)


def test_retention_keeps_the_newest_and_deletes_manifest_first(lab, source):
    pg = lab["postgres"]
    dbname, prefix = source
    args = dict(admin_args(pg, dbname), **s3_args(lab, prefix))
    ids = []
    for _ in range(3):
        rc, made, _ = run_module("pg_backup", dict(args, label="scheduled", retention={"keep_last": 2}))
        assert rc == 0, made.get("msg")
        ids.append(made["backup_id"])
    assert made["retention"] == {"deleted": [ids[0]], "orphans": []}
    assert sorted(set(k.split("/")[3] for k in keys(lab, prefix))) == sorted(ids[1:])


def _big_table(lab, dbname):
    rows(lab["postgres"], dbname, """
        CREATE TABLE blobs (id int PRIMARY KEY, payload text);
        INSERT INTO blobs SELECT i, md5(random()::text) || md5(random()::text) || md5(random()::text)
          FROM generate_series(1, 1500000) i;""")


def test_an_interrupted_upload_leaves_no_manifest_and_is_never_newest(lab, source):
    pg = lab["postgres"]
    dbname, prefix = source
    args = dict(admin_args(pg, dbname), **s3_args(lab, prefix))
    rc, good, _ = run_module("pg_backup", dict(args, label="scheduled"))
    assert rc == 0
    _big_table(lab, dbname)

    client = lab_client(lab)
    doomed = run_module("pg_backup", dict(args, label="scheduled", part_size_mb=5), wait=False)
    deadline = time.monotonic() + 120
    while not client.list_multipart_uploads(Bucket=lab["s3"]["bucket"], Prefix=prefix + "/").get("Uploads"):
        assert time.monotonic() < deadline and doomed.poll() is None, "the multipart upload never started"
        time.sleep(0.05)
    # Interrupt the dump mid-stream: its server session goes away.
    killed = rows(pg, "postgres", "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                  "WHERE datname = %s AND query LIKE 'COPY %%'", (dbname,))
    assert killed, "no COPY of pg_dump to interrupt"
    rc, result, out = finish(doomed)
    assert rc != 0
    assert "pg_dump of database %s" % dbname in result["msg"] and "exited with code" in result["msg"]
    assert "Traceback" not in out
    # Aborted: no part left, no object and no manifest but those of the good backup.
    assert not client.list_multipart_uploads(Bucket=lab["s3"]["bucket"], Prefix=prefix + "/").get("Uploads")
    folder = home(prefix, dbname)
    assert keys(lab, prefix) == ["%s/%s/dump" % (folder, good["backup_id"]),
                                 "%s/%s/manifest.json" % (folder, good["backup_id"])]

    # A crash after the data but before the manifest: a newer folder without a manifest.
    orphan = "29991231T000000Z-scheduled-deadbeef"
    client.put_object(Bucket=lab["s3"]["bucket"], Key="%s/%s/dump" % (folder, orphan), Body=b"PGDMP truncated")
    rc, verified, _ = run_module("pg_backup_verify", dict(args, login_db="postgres", database=dbname))
    assert rc == 0 and verified["backup_id"] == good["backup_id"]
    rc, health, _ = run_module("pg_health", dict(args, rpo_seconds=3600))
    assert rc == 0 and health["newest_backup"]["id"] == good["backup_id"]
    rc, missing, _ = run_module("pg_backup_verify", dict(args, login_db="postgres", database=dbname,
                                                         backup_id=orphan))
    assert rc != 0 and "it has no manifest" in missing["msg"]

    rows(pg, dbname, "DROP TABLE blobs")
    rc, pruned, _ = run_module("pg_backup", dict(args, label="scheduled", retention={
        "keep_last": 5, "orphan_grace_seconds": 0}))
    assert rc == 0 and pruned["retention"]["orphans"] == [orphan]
    assert not [k for k in keys(lab, prefix) if orphan in k]


def _corrupt(lab, key, change):
    client = lab_client(lab)
    body = client.get_object(Bucket=lab["s3"]["bucket"], Key=key)["Body"].read()
    client.put_object(Bucket=lab["s3"]["bucket"], Key=key, Body=change(body))


def _flip(body):
    middle = len(body) // 2
    return body[:middle] + bytes([body[middle] ^ 0x01]) + body[middle + 1:]


@pytest.mark.parametrize("what,change,expected", [
    ("one flipped byte", _flip, "sha256"),
    ("truncated", lambda body: body[:len(body) // 2], "size"),
])
def test_a_corrupted_backup_fails_verification_naming_what_differed(lab, source, what, change, expected):
    pg = lab["postgres"]
    dbname, prefix = source
    args = dict(admin_args(pg, dbname), **s3_args(lab, prefix))
    rc, made, _ = run_module("pg_backup", dict(args, label="scheduled"))
    assert rc == 0
    found = manifest(lab, home(prefix, dbname), made["backup_id"])
    _corrupt(lab, found["objects"]["dump"]["key"], change)

    rc, result, out = run_module("pg_backup_verify", dict(args, login_db="postgres", database=dbname))
    assert rc != 0, what
    assert result["msg"].startswith("Failed to verify backup %s" % made["backup_id"])
    assert expected in result["msg"]
    assert any(expected in d for d in result["differences"])
    assert "Traceback" not in out
    assert result["scratch_database"].startswith("golive_verify_")
    assert (result["scratch_database"],) not in scratch_databases(lab)


def test_a_manifest_mismatch_fails_verification(lab, source):
    pg = lab["postgres"]
    dbname, prefix = source
    args = dict(admin_args(pg, dbname), **s3_args(lab, prefix))
    rc, made, _ = run_module("pg_backup", dict(args, label="scheduled"))
    assert rc == 0
    found = manifest(lab, home(prefix, dbname), made["backup_id"])
    found["tables"]["public.events"]["rows"] = 19999
    found["tables"]["public.accounts"]["checksum"] = "12345"
    lab_client(lab).put_object(Bucket=lab["s3"]["bucket"], Key="%s/%s/manifest.json" % (home(prefix, dbname), made["backup_id"]),
                              Body=json.dumps(found).encode())
    rc, result, _ = run_module("pg_backup_verify", dict(args, login_db="postgres", database=dbname,
                                                        backup_id=made["backup_id"]))
    assert rc != 0
    assert "table public.accounts content checksum differs" in result["msg"]
    assert "table public.events has 20000 rows, expected 19999" in result["msg"]

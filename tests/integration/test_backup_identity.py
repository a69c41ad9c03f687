"""Backups know what they hold: two databases (and two Redis masters) backed up under one
prefix with the same label never mix, in restore, verify, the RPO check, reuse and
retention; a backup named by id from another source is refused; backups written in the
layout before identities existed still restore."""

import json
import uuid

import pytest

from ansible_collections.golive.core.plugins.module_utils.redis.scratch import ScratchServer
from lab.services.moto import lab_client
from helpers import admin_args, keys, rows, run_module, run_task, s3_args


@pytest.fixture
def two_databases(lab):
    """Databases A and B of the test's own, with different rows, and a prefix for both."""
    pg = lab["postgres"]
    stem = "golive_t_id_%s" % uuid.uuid4().hex[:8]
    names = (stem + "_a", stem + "_b")
    for index, name in enumerate(names):
        rows(pg, "postgres", "CREATE DATABASE %s OWNER %s" % (name, pg["app_user"]))
        rows(pg, name, "CREATE TABLE items (id int PRIMARY KEY, owner text NOT NULL);"
                       "INSERT INTO items SELECT i, %s FROM generate_series(1, %s) i", (name, 100 * (index + 1)))
    yield names, "test-%s" % uuid.uuid4().hex[:10]
    for (db,) in rows(pg, "postgres", "SELECT datname FROM pg_database WHERE datname LIKE %s", (stem + "%",)):
        rows(pg, "postgres", "DROP DATABASE IF EXISTS %s WITH (FORCE)" % db)


def _exists(lab, key):
    return bool(lab_client(lab).list_objects_v2(Bucket=lab["s3"]["bucket"], Prefix=key).get("KeyCount"))


def test_two_databases_sharing_a_prefix_and_a_label_never_mix(lab, two_databases):
    pg = lab["postgres"]
    (a, b), prefix = two_databases
    release = "2026.11.%s" % uuid.uuid4().hex[:4]
    label = "pre-deploy-%s" % release
    store = s3_args(lab, prefix)
    made = {}
    for name in (a, b):  # B's backup is the newest under the prefix
        rc, made[name], _ = run_module("pg_backup", dict(admin_args(pg, name), label=label, release=release, **store))
        assert rc == 0, made[name].get("msg")
    assert made[a]["location"] != made[b]["location"]

    # A goes wrong; its rollback brings back A's rows, not B's.
    rows(pg, a, "DELETE FROM items WHERE id > 5")
    restore = dict(admin_args(pg, "postgres"), database=a, release=release, **store)
    rc, dry, _ = run_module("pg_restore", restore, check=True)
    assert rc == 0 and dry["backup_id"] == made[a]["backup_id"] and dry["restored_from"]["database"] == a
    rc, done, _ = run_module("pg_restore", restore)
    assert rc == 0, done.get("msg")
    assert rows(pg, a, "SELECT count(*), min(owner), max(owner) FROM items") == [(100, a, a)]
    assert rows(pg, done["previous_database"], "SELECT count(*) FROM items") == [(5,)]

    # Verify without an id, and the RPO check, look at A's backups only.
    rc, verified, _ = run_module("pg_backup_verify", dict(admin_args(pg, "postgres"), database=a, **store))
    assert rc == 0 and verified["backup_id"] == made[a]["backup_id"], verified.get("msg")
    assert verified["checks"][0]["evidence"]["rows"] == 100
    rc, health, _ = run_module("pg_health", dict(admin_args(pg, a), rpo_seconds=3600, **store))
    assert rc == 0 and health["newest_backup"]["id"] == made[a]["backup_id"]
    rc, reused, _ = run_module("pg_backup", dict(admin_args(pg, a), label=label, if_exists="reuse", **store))
    assert rc == 0 and reused["reused"] and reused["backup_id"] == made[a]["backup_id"]

    # Retention on A with keep_last=1 keeps B's backup (and takes only A's older one).
    rc, kept, _ = run_module("pg_backup", dict(admin_args(pg, a), label=label, release=release,
                                               retention={"keep_last": 1}, **store))
    assert rc == 0 and kept["retention"]["deleted"] == [made[a]["backup_id"]]
    manifests = [k for k in keys(lab, prefix) if k.endswith("/manifest.json")]
    assert sorted(k.split("/")[-2] for k in manifests) == sorted([kept["backup_id"], made[b]["backup_id"]])

    # B's backup named by id for A is refused, naming both; nothing changes.
    rc, refused, out = run_module("pg_restore", dict(restore, backup_id=made[b]["backup_id"]))
    assert rc != 0 and "Traceback" not in out
    assert "it holds postgres backups of %s, not postgres backups of %s" % (b, a) in refused["msg"]
    rc, refused, _ = run_module("pg_backup_verify", dict(admin_args(pg, "postgres"), database=a,
                                                         backup_id=made[b]["backup_id"], **store))
    assert rc != 0 and b in refused["msg"] and a in refused["msg"]
    assert rows(pg, a, "SELECT count(*), max(owner) FROM items") == [(100, a)]


def test_restore_into_a_missing_database_needs_create(lab, two_databases):
    pg = lab["postgres"]
    (a, _b), prefix = two_databases
    store = s3_args(lab, prefix)
    rc, made, _ = run_module("pg_backup", dict(admin_args(pg, a), label="pre-deploy-r9", release="r9", **store))
    assert rc == 0, made.get("msg")
    missing = a + "_copy"
    restore = dict(admin_args(pg, "postgres"), database=missing, release="r9", **store)

    rc, refused, out = run_module("pg_restore", dict(restore, source_database=a))
    assert rc != 0 and "Traceback" not in out
    assert refused["msg"].startswith("Failed to restore database %s: it does not exist" % missing)
    assert "create=true" in refused["msg"]
    # Without naming the source, the missing database has no backups of its own at all.
    rc, refused, _ = run_module("pg_restore", dict(restore, create=True))
    assert rc != 0 and "no manifest found" in refused["msg"]
    assert rows(pg, "postgres", "SELECT count(*) FROM pg_database WHERE datname = %s", (missing,)) == [(0,)]

    # Through PgBouncer's address the server looks like another one: named in a warning.
    rc, elsewhere, _ = run_module("pg_restore", dict(restore, source_database=a, create=True,
                                                     login_port=pg["pgbouncer_port"]), check=True)
    assert rc == 0 and any("was taken on" in w and "own environment" in w for w in elsewhere["warnings"])
    rc, created, _ = run_module("pg_restore", dict(restore, source_database=a, create=True))
    assert rc == 0, created.get("msg")
    assert created["previous_database"] is None
    assert rows(pg, missing, "SELECT count(*), max(owner) FROM items") == [(100, a)]


@pytest.mark.parametrize("bad", ["../../etc/passwd", "a/b", "..", "x" * 300])
def test_a_backup_id_that_is_not_an_id_is_refused(lab, two_databases, bad):
    pg = lab["postgres"]
    (a, _b), prefix = two_databases
    rc, result, out = run_module("pg_restore", dict(admin_args(pg, "postgres"), database=a, release="r1",
                                                    backup_id=bad, **s3_args(lab, prefix)))
    assert rc != 0 and "Traceback" not in out
    assert result["msg"].startswith("Failed to validate backup id") and "no '/'" in result["msg"]
    assert keys(lab, prefix) == []


def test_a_backup_in_the_layout_before_identities_still_restores(lab, two_databases):
    """Manifests written before this layout sat at <prefix>/<id>/ and named the database
    only in source.database: they are found, restored, and counted by retention."""
    pg = lab["postgres"]
    (a, b), prefix = two_databases
    store = s3_args(lab, prefix)
    client, bucket = lab_client(lab), lab["s3"]["bucket"]
    legacy = {}
    for name in (a, b):
        rc, made, _ = run_module("pg_backup", dict(admin_args(pg, name), label="pre-deploy-old", release="old",
                                                   **store))
        assert rc == 0, made.get("msg")
        # Move it into the old layout and strip what the old code did not write.
        folder = made["location"].split("/", 3)[3].rsplit("/", 1)[0]
        manifest = json.loads(client.get_object(Bucket=bucket, Key=folder + "/manifest.json")["Body"].read())
        old = "%s/%s" % (prefix, made["backup_id"])
        client.copy_object(Bucket=bucket, Key=old + "/dump", CopySource={"Bucket": bucket, "Key": folder + "/dump"})
        manifest.pop("identity")
        manifest["objects"]["dump"]["key"] = old + "/dump"
        client.put_object(Bucket=bucket, Key=old + "/manifest.json", Body=json.dumps(manifest).encode())
        client.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": folder + "/dump"},
                                                                 {"Key": folder + "/manifest.json"}]})
        legacy[name] = made["backup_id"]
    assert all(k.count("/") == 2 for k in keys(lab, prefix))

    rows(pg, a, "DELETE FROM items")
    rc, done, _ = run_module("pg_restore", dict(admin_args(pg, "postgres"), database=a, release="old", **store))
    assert rc == 0, done.get("msg")
    assert done["backup_id"] == legacy[a]
    assert rows(pg, a, "SELECT count(*), max(owner) FROM items") == [(100, a)]

    # A new backup of A, with retention: A's old-layout backup goes, B's stays.
    rc, new, _ = run_module("pg_backup", dict(admin_args(pg, a), label="scheduled", retention={"keep_last": 1},
                                              **store))
    assert rc == 0 and new["retention"]["deleted"] == [legacy[a]]
    assert not _exists(lab, "%s/%s/" % (prefix, legacy[a]))
    assert _exists(lab, "%s/%s/manifest.json" % (prefix, legacy[b]))


def _redis_args(lab, server, prefix, **extra):
    s = lab["s3"]
    args = dict(redis_host="127.0.0.1", redis_port=server.port, redis_password=server.password,
                aws_endpoint_url=s["endpoint_url"], aws_access_key=s["access_key"], aws_secret_key=s["secret_key"],
                aws_region=s["region"], bucket=s["bucket"], prefix=prefix)
    args.update(extra)
    return args


def test_two_redis_masters_sharing_a_prefix_never_mix(lab, tmp_path):
    prefix = "redis-id-%s" % uuid.uuid4().hex[:8]
    with ScratchServer(password="p-%s" % uuid.uuid4().hex) as one, \
            ScratchServer(password="p-%s" % uuid.uuid4().hex) as two:
        for server, count in ((one, 7), (two, 11)):
            client = server.client()
            for i in range(count):
                client.set("k%d" % i, i)
        made = {}
        for server in (one, two):  # two's backup is the newest under the prefix
            made[server.port], _ = run_task(tmp_path, "golive.core.redis_backup",
                                            _redis_args(lab, server, prefix, label="r1", release="r1"))
            assert not made[server.port].get("failed"), made[server.port].get("msg")
        first, second = made[one.port], made[two.port]
        assert first["identity"]["source"] == "127.0.0.1:%d" % one.port

        verified, _ = run_task(tmp_path, "golive.core.redis_backup",
                               _redis_args(lab, one, prefix, state="verified", label="r1"))
        assert not verified.get("failed") and verified["backup_id"] == first["backup_id"], verified.get("msg")
        assert verified["backup"]["keyspace"]["db0"]["keys"] == 7

        reused, _ = run_task(tmp_path, "golive.core.redis_backup",
                             _redis_args(lab, one, prefix, label="r1", if_exists="reuse"))
        assert reused["reused"] and reused["backup_id"] == first["backup_id"]

        pruned, _ = run_task(tmp_path, "golive.core.redis_backup",
                             _redis_args(lab, one, prefix, label="r2", retention={"keep_last": 1}))
        assert not pruned.get("failed") and pruned["retention"]["deleted"] == [first["backup_id"]]
        assert _exists(lab, second["location"].split("/", 3)[3])

        refused, _ = run_task(tmp_path, "golive.core.redis_backup",
                              _redis_args(lab, one, prefix, state="verified", backup_id=second["backup_id"]))
        assert refused.get("failed") and "127.0.0.1:%d" % two.port in refused["msg"]
        assert "127.0.0.1:%d" % one.port in refused["msg"]

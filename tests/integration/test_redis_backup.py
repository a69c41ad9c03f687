"""redis_backup against the lab: a snapshot copied over the protocol, stored in the
lab's bucket, restored into scratch servers; truncated and corrupted copies fail."""

import hashlib
import json
import os
import uuid

import redis
import redis.sentinel

from ansible_collections.golive.core.plugins.module_utils.redis.scratch import ScratchServer
from lab.services.moto import lab_client
from helpers import lab_redis_args, run_task as run_module

DB = 7  # databases of this file's own on the lab's Redis: 7 and, for the second test, 8


def _args(lab, prefix, **extra):
    s = lab["s3"]
    args = dict(lab_redis_args(lab), aws_endpoint_url=s["endpoint_url"], aws_access_key=s["access_key"],
                aws_secret_key=s["secret_key"], aws_region=s["region"], bucket=s["bucket"], prefix=prefix)
    args.update(extra)
    return args


def _fill(lab, db=DB):
    r = lab["redis"]
    sentinel = redis.sentinel.Sentinel([(s["host"], s["port"]) for s in r["sentinels"]],
                                       password=r["password"], db=db, decode_responses=True)
    master = sentinel.master_for(r["master_name"])
    master.flushdb()
    pipe = master.pipeline()
    for i in range(500):
        pipe.set("golive:test:s:%d" % i, "value-%d" % i)
    for i in range(20):
        pipe.hset("golive:test:h:%d" % i, mapping=dict(("f%d" % j, "x" * j) for j in range(i + 1)))
    pipe.rpush("golive:test:list", *range(200))
    pipe.sadd("golive:test:set", *["m%d" % i for i in range(300)])
    pipe.zadd("golive:test:zset", dict(("m%d" % i, i / 3.0) for i in range(200)))
    pipe.xadd("golive:test:stream", {"event": "deploy"})
    for i in range(10):
        pipe.set("golive:test:ttl:%d" % i, "x", ex=86400)
    pipe.execute()
    return master


def test_backup_restores_into_a_scratch_server_with_the_same_key_counts(lab, tmp_path):
    master = _fill(lab)
    expected = {"keys": 534, "expires": 10}
    prefix = "redis-test-%s" % uuid.uuid4().hex[:8]
    args = _args(lab, prefix, label="itest", release="itest-1", retention={"keep_last": 3})

    result, proc = run_module(tmp_path, "golive.core.redis_backup", args, "-vvv")
    assert result["changed"] is True and not result.get("failed"), result.get("msg")
    assert [c["status"] for c in result["checks"]] == ["pass", "pass", "pass"]
    assert result["backup"]["keyspace"]["db%d" % DB] == expected
    master_name = lab["redis"]["master_name"]
    assert result["undo"] == {"action": "restore", "backup_id": result["backup_id"], "label": "itest",
                              "release": "itest-1", "kind": "redis-rdb", "source": master_name, "environment": None}
    for secret in (lab["redis"]["password"],):
        assert secret not in proc.stdout + proc.stderr

    # The manifest in the bucket, and the object it names, independently of the module.
    s3 = lab_client(lab)
    bucket = lab["s3"]["bucket"]
    manifest = json.loads(s3.get_object(Bucket=bucket, Key="%s/redis-rdb/%s/%s/manifest.json" % (
        prefix, master_name, result["backup_id"]))["Body"].read())
    assert manifest["identity"] == {"kind": "redis-rdb", "source": master_name, "environment": None}
    assert manifest["kind"] == "redis-rdb" and manifest["label"] == "itest" and manifest["release"] == "itest-1"
    assert manifest["redis_version"] == master.info("server")["redis_version"]
    assert manifest["keyspace_source"] == "rdb"
    assert manifest["verification"]["checks"] == {"redis.backup.integrity": "pass", "redis.backup.load": "pass",
                                                  "redis.backup.keys": "pass"}
    dump = manifest["objects"]["dump.rdb"]
    body = s3.get_object(Bucket=bucket, Key=dump["key"])["Body"].read()
    assert body[:5] == b"REDIS"
    assert len(body) == dump["size"] and hashlib.sha256(body).hexdigest() == dump["sha256"]
    path = tmp_path / "dump.rdb"
    path.write_bytes(body)
    with ScratchServer(str(path)) as server:
        info = server.keyspace()
        assert info["db%d" % DB] == expected
        copy = redis.Redis(host="127.0.0.1", port=server.port, password=server.password, db=DB,
                           decode_responses=True)
        assert copy.get("golive:test:s:42") == "value-42"
        assert copy.zscore("golive:test:zset", "m9") == 3.0
        assert copy.xlen("golive:test:stream") == 1

    # A re-run of the same release reuses the backup instead of taking another one.
    again, _ = run_module(tmp_path, "golive.core.redis_backup", dict(args, if_exists="reuse"))
    assert again["changed"] is False and again["reused"] is True
    assert again["backup_id"] == result["backup_id"]
    master.flushdb()


def _take(lab, tmp_path, prefix):
    result, _ = run_module(tmp_path, "golive.core.redis_backup", _args(lab, prefix, label="itest", verify=False))
    assert result["changed"] is True and not result.get("failed"), result.get("msg")
    return result


def test_a_truncated_or_corrupted_snapshot_fails_verification(lab, tmp_path):
    master = _fill(lab, DB + 1)
    prefix = "redis-test-%s" % uuid.uuid4().hex[:8]
    taken = _take(lab, tmp_path, prefix)
    backup_id = taken["backup_id"]
    s3 = lab_client(lab)
    bucket = lab["s3"]["bucket"]
    key = taken["backup"]["key"]
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()

    ok, _ = run_module(tmp_path, "golive.core.redis_backup", _args(lab, prefix, state="verified", label="itest"))
    assert not ok.get("failed") and ok["backup_id"] == backup_id, ok.get("msg")

    s3.put_object(Bucket=bucket, Key=key, Body=body[:len(body) // 2])
    truncated, proc = run_module(tmp_path, "golive.core.redis_backup",
                                 _args(lab, prefix, state="verified", backup_id=backup_id))
    assert truncated["failed"] is True
    assert truncated["msg"].startswith("Failed to verify Redis backup %s: " % backup_id)
    assert "redis-server refused to load it" in truncated["msg"]
    checks = dict((c["id"], c) for c in truncated["checks"])
    assert checks["redis.backup.integrity"]["status"] == "fail"
    assert checks["redis.backup.integrity"]["evidence"]["size"] == len(body) // 2
    assert checks["redis.backup.load"]["status"] == "fail"
    # Where the cut falls decides redis-server's words (a short read, or a stream's listpacks):
    # either way it refuses the file.
    log = checks["redis.backup.load"]["evidence"]["log"]
    assert any(text in log for text in ("Short read", "Unexpected EOF", "rdb file reading failure")), log
    assert "Traceback" not in proc.stdout + proc.stderr

    middle = len(body) // 2
    corrupted = body[:middle] + bytes(b ^ 0xFF for b in body[middle:middle + 64]) + body[middle + 64:]
    s3.put_object(Bucket=bucket, Key=key, Body=corrupted)
    bad, proc = run_module(tmp_path, "golive.core.redis_backup",
                           _args(lab, prefix, state="verified", backup_id=backup_id))
    assert bad["failed"] is True and backup_id in bad["msg"]
    assert dict((c["id"], c["status"]) for c in bad["checks"])["redis.backup.integrity"] == "fail"
    assert "Traceback" not in proc.stdout + proc.stderr
    master.flushdb()


def test_check_mode_takes_no_backup(lab, tmp_path):
    prefix = "redis-test-%s" % uuid.uuid4().hex[:8]
    result, _ = run_module(tmp_path, "golive.core.redis_backup", _args(lab, prefix, label="itest"), check=True)
    assert result["changed"] is True and result["backup_id"] is None and not result.get("failed")
    listed = lab_client(lab).list_objects_v2(Bucket=lab["s3"]["bucket"], Prefix=prefix + "/")
    assert listed.get("KeyCount", 0) == 0


def test_a_snapshot_copy_in_flight_is_not_mistaken_for_a_replica():
    """On scratch servers of its own (a master and its replica): the copy holds a big
    transfer open, so the master lists it among its replicas while health runs."""
    from ansible_collections.golive.core.plugins.module_utils.common.retry import Deadline
    from ansible_collections.golive.core.plugins.module_utils.redis import backup, health, rdb
    from ansible_collections.golive.core.plugins.module_utils.redis.connection import RedisServer

    password = uuid.uuid4().hex
    with ScratchServer(password=password) as primary:
        with ScratchServer(password=password, settings={"replicaof": "127.0.0.1 %d" % primary.port,
                                                         "masterauth": password}) as replica:
            params = RedisServer(host="127.0.0.1", port=primary.port, password=password, timeout=5)
            client = primary.client()
            # More than the socket buffers hold, so the transfer stays in flight while we do not read.
            client.set("ballast", os.urandom(24 * 1024 * 1024))
            assert client.wait(1, 20000) >= 1
            stream = backup.open_snapshot(params, "127.0.0.1:%d" % primary.port, rdb.KeyCounter(), Deadline(30))
            try:
                obs = health.observe(params)
            finally:
                stream.sock.close()
            assert replica.client().get("golive:none") is None
    assert obs["replication"]["snapshot_transfers"] == 1
    assert [r["address"] for r in obs["replication"]["replicas"]] == ["127.0.0.1:%d" % replica.port]
    assert sorted(obs["auth"]) == sorted(["127.0.0.1:%d" % primary.port, "127.0.0.1:%d" % replica.port])
    checks = dict((c["id"], c["status"]) for c in health.evaluate(obs, {"min_replicas": 1}))
    assert checks["redis.replication"] == "pass" and checks["redis.security.password"] == "pass"

"""redis_failover_drill and the phase 3 role on a private Redis lab (primary, replica,
three Sentinels in a state dir of their own), so the shared lab never fails over."""

import json
import uuid

import pytest
import redis

from lab.core import Lab
from lab.services.moto import lab_client
from lab.services.redis import Redis
from helpers import recap, run_playbook, run_task as run_module

pytestmark = pytest.mark.xdist_group("redis-drill")


@pytest.fixture(scope="module")
def private_redis(tmp_path_factory):
    lab = Lab(state_dir=tmp_path_factory.mktemp("redis-drill-lab"), services=[Redis()], write_inventory=False)
    try:
        yield lab.up()["redis"]
    finally:
        lab.down(purge=True)


def _args(r, **extra):
    args = {"redis_sentinels": r["sentinels"], "redis_master_name": r["master_name"], "redis_password": r["password"]}
    args.update(extra)
    return args


def _sentinel_masters(r):
    out = set()
    for s in r["sentinels"]:
        host, port = redis.Redis(host=s["host"], port=s["port"], decode_responses=True) \
            .sentinel_get_master_addr_by_name(r["master_name"])
        out.add("%s:%s" % (host, port))
    return out


def _node(r, address):
    host, port = address.rsplit(":", 1)
    return redis.Redis(host=host, port=int(port), password=r["password"], decode_responses=True)


def test_drill_is_refused_unless_the_inventory_allows_it(private_redis, tmp_path):
    before = _sentinel_masters(private_redis)
    result, proc = run_module(tmp_path, "golive.core.redis_failover_drill", _args(private_redis))
    assert result["failed"] is True
    assert "does not allow drills" in result["msg"] and "golive_allow_drills" in result["msg"]
    assert _sentinel_masters(private_redis) == before
    planned, _ = run_module(tmp_path, "golive.core.redis_failover_drill", _args(private_redis, allow_drill=True),
                            check=True)
    assert planned["changed"] is True and not planned.get("failed"), planned.get("msg")
    assert planned["plan"]["master"] in before
    assert _sentinel_masters(private_redis) == before


def test_drill_fails_over_keeps_the_marker_and_a_second_drill_fails_back(private_redis, tmp_path):
    (original,) = _sentinel_masters(private_redis)
    seen = []
    for round_ in (1, 2):
        result, proc = run_module(tmp_path, "golive.core.redis_failover_drill",
                                  _args(private_redis, allow_drill=True, max_downtime=30), "-vvv")
        assert not result.get("failed"), result.get("msg")
        assert private_redis["password"] not in proc.stdout + proc.stderr
        old, new = result["old_master"], result["new_master"]
        assert old != new
        # The Sentinels, asked directly, all report the new master.
        assert _sentinel_masters(private_redis) == {new}
        # The marker written before the failover is on the new master.
        assert _node(private_redis, new).get("golive:drill:marker") == result["drill_id"]
        # The old master is back, as a replica of the new one.
        info = _node(private_redis, old).info("replication")
        assert info["role"] == "slave" and "%s:%s" % (info["master_host"], info["master_port"]) == new
        assert result["downtime_seconds"] > 0
        assert [c["status"] for c in result["checks"]] == ["pass"] * 4
        assert result["undo"]["previous_master"] == old
        seen.append((old, new))
    assert seen[0][0] == original and seen[1][1] == original  # failed back


def test_phase3_role_on_the_private_redis_and_the_lab_bucket(private_redis, lab, tmp_path):
    release = "itest-%s" % uuid.uuid4().hex[:6]
    (before,) = _sentinel_masters(private_redis)
    overrides = {"golive_lab": dict(lab, redis=private_redis), "golive_release": release,
                 "phase3_cache_backup_prefix": "redis-role-test", "phase3_cache_drill_max_downtime": 30}
    proc = run_playbook("playbooks/golive.yml", "--tags", "phase3", "-vvv", "-e", json.dumps(overrides))
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-2000:]
    for secret in (private_redis["password"], lab["redis"]["password"], lab["postgres"]["app_password"]):
        assert secret not in out
    assert recap(proc.stdout)["failed"] == 0
    # The world afterwards: a verified backup of this release in the bucket, a new master.
    s = lab["s3"]
    s3 = lab_client(lab)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=s["bucket"], Prefix="redis-role-test/").get("Contents", [])]
    manifests = [k for k in keys if release in k and k.endswith("/manifest.json")]
    assert len(manifests) == 1
    manifest = json.loads(s3.get_object(Bucket=s["bucket"], Key=manifests[0])["Body"].read())
    assert manifest["release"] == release and manifest["verification"]["checks"]["redis.backup.keys"] == "pass"
    assert _sentinel_masters(private_redis) != {before}

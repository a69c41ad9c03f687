"""redis_health against real servers: the lab's Redis (via its Sentinels), and scratch
servers without a password, with persistence off, and with restricted commands."""

import uuid

from ansible_collections.golive.core.plugins.module_utils.redis.scratch import ScratchServer
from helpers import lab_redis_args, run_task as run_module


def by_id(result):
    return dict((c["id"], c) for c in result["checks"])


def test_health_passes_on_the_lab(lab, tmp_path):
    result, proc = run_module(tmp_path, "golive.core.redis_health", dict(lab_redis_args(lab), min_replicas=1),
                              "-vvv")
    assert not result.get("failed"), result.get("msg")
    checks = by_id(result)
    assert result["summary"]["fail"] == 0
    assert checks["redis.ping"]["evidence"]["redis_version"].startswith("7.")
    # Every node refused a client without a password, and said so.
    nodes = checks["redis.security.password"]["evidence"]["nodes"]
    assert len(nodes) >= 2
    assert all(n["password_required"] and "Authentication required" in n["answer"] for n in nodes.values())
    assert checks["redis.persistence.configured"]["evidence"]["aof_enabled"] is True
    assert checks["redis.replication"]["evidence"]["connected_replicas"] >= 1
    assert checks["redis.sentinel.quorum"]["status"] == "pass"
    assert checks["redis.sentinel.agreement"]["evidence"]["masters_reported"] == [result["master"]]
    assert lab["redis"]["password"] not in proc.stdout + proc.stderr


def _dead_address():
    """A loopback port nothing listens on."""
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return {"host": "127.0.0.1", "port": sock.getsockname()[1]}


def test_one_sentinel_of_three_unreachable_warns_naming_it(lab, tmp_path):
    args = lab_redis_args(lab)
    dead = _dead_address()
    args["redis_sentinels"] = args["redis_sentinels"][:2] + [dead]
    result, _ = run_module(tmp_path, "golive.core.redis_health", args)
    assert not result.get("failed"), result.get("msg")
    checks = by_id(result)
    gone = "127.0.0.1:%d" % dead["port"]
    for check_id in ("redis.sentinel.quorum", "redis.sentinel.agreement", "redis.sentinel.topology"):
        assert checks[check_id]["status"] == "warn", check_id
        assert checks[check_id]["evidence"]["unreachable"] == [gone]
    # Two of three unreachable: the quorum (2) is lost.
    args["redis_sentinels"] = args["redis_sentinels"][:1] + [dead, _dead_address()]
    result, _ = run_module(tmp_path, "golive.core.redis_health", dict(args, fail_on_failed_checks=False))
    assert by_id(result)["redis.sentinel.quorum"]["status"] == "fail"


def test_unreachable_sentinels_and_an_unknown_master_name_say_what_they_mean(lab, tmp_path):
    args = lab_redis_args(lab)
    dead = [_dead_address(), _dead_address()]
    result, proc = run_module(tmp_path, "golive.core.redis_health", dict(args, redis_sentinels=dead))
    assert result["failed"] and "Traceback" not in proc.stdout
    assert result["msg"].startswith("Failed to discover Redis master")
    assert "no Sentinel answered" in result["msg"] and "Check redis_sentinels" in result["msg"]
    assert "redis_master_name" not in result["msg"].split("answered")[1]
    assert "\n" not in result["msg"] and len(result["msg"]) < 400 and "<" not in result["msg"]

    result, _ = run_module(tmp_path, "golive.core.redis_health", dict(args, redis_master_name="no-such-master"))
    assert result["failed"] and "no Sentinel monitors a master named 'no-such-master'" in result["msg"]
    assert "Check redis_master_name" in result["msg"]

    for name, sentinels, expected in (("no-such-master", args["redis_sentinels"], "no Sentinel monitors"),
                                      (args["redis_master_name"], dead, "no Sentinel answered")):
        drill, _ = run_module(tmp_path, "golive.core.redis_failover_drill",
                              dict(args, redis_master_name=name, redis_sentinels=sentinels, allow_drill=True))
        assert drill["failed"] and expected in drill["msg"] and "do not agree" not in drill["msg"], drill["msg"]


def test_health_fails_on_a_redis_without_password(tmp_path):
    with ScratchServer(password="", settings={"appendonly": "yes"}) as server:
        address = "127.0.0.1:%d" % server.port
        result, proc = run_module(tmp_path, "golive.core.redis_health",
                                  {"redis_host": "127.0.0.1", "redis_port": server.port})
    assert result["failed"] is True
    assert "redis.security.password (Clients without a password are refused)" in result["msg"]
    check = by_id(result)["redis.security.password"]
    assert check["status"] == "fail"
    assert check["evidence"]["open_nodes"] == [address]
    assert check["evidence"]["nodes"][address] == {"password_required": False, "answer": "PONG"}
    assert check["checklist"] == "Security (password) configured"
    assert by_id(result)["redis.persistence.configured"]["status"] == "pass"
    assert "Traceback" not in proc.stdout + proc.stderr


def test_health_fails_on_a_redis_with_persistence_off(tmp_path):
    password = uuid.uuid4().hex
    with ScratchServer(password=password, settings={"appendonly": "no", "save": ""}) as server:
        server.client().set("k", "v")
        result, proc = run_module(tmp_path, "golive.core.redis_health",
                                  {"redis_host": "127.0.0.1", "redis_port": server.port, "redis_password": password},
                                  "-vvv")
    assert result["failed"] is True
    assert "redis.persistence.configured" in result["msg"]
    check = by_id(result)["redis.persistence.configured"]
    assert check["status"] == "fail"
    assert check["evidence"]["aof_enabled"] is False
    assert check["evidence"]["rdb_save_points"] == ""
    assert check["checklist"] == "Persistence enabled"
    assert by_id(result)["redis.security.password"]["status"] == "pass"
    assert password not in proc.stdout + proc.stderr


def test_restricted_commands_renamed_or_denied_by_acl(tmp_path):
    password = uuid.uuid4().hex
    with ScratchServer(password=password, settings={"rename-command": 'FLUSHALL ""'}) as server:
        server.client().acl_setuser("default", enabled=True, commands=["-debug"])
        args = {"redis_host": "127.0.0.1", "redis_port": server.port, "redis_password": password,
                "restricted_commands": ["FLUSHALL", "DEBUG", "KEYS"], "fail_on_failed_checks": False}
        result, _ = run_module(tmp_path, "golive.core.redis_health", args)
    check = by_id(result)["redis.security.commands"]
    assert check["status"] == "fail"
    assert check["evidence"]["exposed"] == {"KEYS": ["default"]}
    assert check["evidence"]["observed"]["FLUSHALL"]["renamed_or_disabled"] is True
    assert check["evidence"]["observed"]["DEBUG"]["allowed_for"] == {"default": False}
    assert not result.get("failed")

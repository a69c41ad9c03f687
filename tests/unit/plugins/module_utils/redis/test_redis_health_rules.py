"""redis.health.evaluate: observations in, checks out (pure)."""

import copy

import pytest

from ansible_collections.golive.core.plugins.module_utils.redis import health

NOW = 1_800_000_000

BASE = {
    "address": "10.0.0.5:6379",
    "via_sentinel": True,
    "now": NOW,
    "latency_ms": 1.0,
    "server": {"redis_version": "7.0.15", "redis_mode": "standalone", "uptime_in_seconds": 100},
    "replication": {"role": "master", "connected_replicas": 1, "master_repl_offset": 5000,
                    "replicas": [{"address": "10.0.0.6:6379", "state": "online", "offset": 4990, "lag": 0}]},
    "persistence": {"loading": 0, "rdb_changes_since_last_save": 3, "rdb_bgsave_in_progress": 0,
                    "rdb_last_save_time": NOW - 60, "rdb_last_bgsave_status": "ok", "aof_enabled": 1,
                    "aof_rewrite_in_progress": 0, "aof_last_bgrewrite_status": "ok", "aof_last_write_status": "ok"},
    "memory": {"used_memory": 1000, "maxmemory": 4000, "maxmemory_policy": "allkeys-lru"},
    "config": {"appendonly": "yes", "appendfsync": "everysec", "save": "3600 1", "protected-mode": "yes",
               "maxmemory": "4000", "maxmemory-policy": "allkeys-lru", "dir": "/data", "dbfilename": "dump.rdb"},
    "commands": {},
    "auth": {"10.0.0.5:6379": {"required": True, "answer": "Authentication required."},
             "10.0.0.6:6379": {"required": True, "answer": "Authentication required."}},
    "sentinels": [
        {"address": "s%d:26379" % i, "reachable": True, "master": "10.0.0.5:6379", "flags": "master",
         "quorum": 2, "known_sentinels": 3, "known_replicas": 1, "ckquorum": "OK", "quorum_ok": True}
        for i in range(3)],
}


def observed(**changes):
    obs = copy.deepcopy(BASE)
    for path, value in changes.items():
        target = obs
        keys = path.split("__")
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = value
    return obs


def statuses(obs, **limits):
    return dict((c["id"], c["status"]) for c in health.evaluate(obs, limits))


def test_a_healthy_deployment_passes_everything_but_unconfigured_rules():
    result = statuses(observed(), min_replicas=1)
    assert result.pop("redis.security.commands") == "skip"
    assert set(result.values()) == {"pass"}


@pytest.mark.parametrize("changes,check_id,status", [
    ({"auth__10.0.0.6:6379": {"required": False, "answer": "PONG"}}, "redis.security.password", "fail"),
    ({"auth__10.0.0.6:6379": {"required": None, "answer": "timeout"}}, "redis.security.password", "skip"),
    ({"config__protected-mode": "no"}, "redis.security.protected_mode", "pass"),
    ({"config__protected-mode": "no", "auth__10.0.0.5:6379": {"required": False, "answer": "PONG"}},
     "redis.security.protected_mode", "fail"),
    ({"config": None, "config_error": "unknown command 'CONFIG'"}, "redis.security.protected_mode", "skip"),
    ({"persistence__aof_enabled": 0, "config__save": ""}, "redis.persistence.configured", "fail"),
    ({"persistence__aof_enabled": 0}, "redis.persistence.configured", "pass"),
    ({"config__save": ""}, "redis.persistence.configured", "pass"),
    ({"persistence__rdb_last_bgsave_status": "err"}, "redis.persistence.status", "fail"),
    ({"persistence__aof_last_write_status": "err"}, "redis.persistence.status", "fail"),
    ({"persistence__rdb_last_save_time": NOW - 90000}, "redis.persistence.last_save_age", "fail"),
    ({"persistence__rdb_last_save_time": NOW - 90000, "persistence__rdb_changes_since_last_save": 0},
     "redis.persistence.last_save_age", "pass"),
    ({"config__save": ""}, "redis.persistence.last_save_age", "skip"),
    ({"memory__maxmemory": 0}, "redis.memory", "warn"),
    ({"replication__role": "slave"}, "redis.role", "fail"),
    ({"replication__replicas": []}, "redis.replication", "pass"),
    ({"sentinels__0__master": "10.0.0.6:6379"}, "redis.sentinel.agreement", "fail"),
    ({"sentinels__1__flags": "master,s_down"}, "redis.sentinel.agreement", "fail"),
    ({"sentinels__0__known_replicas": 0}, "redis.sentinel.topology", "fail"),
    ({"sentinels__0__quorum_ok": False}, "redis.sentinel.quorum", "fail"),
])
def test_one_observation_changes_one_verdict(changes, check_id, status):
    obs = observed(**dict((k, v) for k, v in changes.items() if "__" not in k or not k.split("__")[1].isdigit()))
    for key, value in changes.items():
        parts = key.split("__")
        if len(parts) == 3 and parts[1].isdigit():
            obs[parts[0]][int(parts[1])][parts[2]] = value
    assert statuses(obs)[check_id] == status


def test_sentinel_quorum_fails_when_too_few_answer():
    obs = observed()
    for view in obs["sentinels"][1:]:
        view.clear()
        view.update({"address": "gone:26379", "reachable": False, "error": "Connection refused"})
    result = health.evaluate(obs)
    quorum = [c for c in result if c["id"] == "redis.sentinel.quorum"][0]
    assert quorum["status"] == "fail"
    assert quorum["evidence"]["reachable"] == 1 and quorum["evidence"]["quorum"] == 2


def test_one_sentinel_down_of_three_warns_naming_it_while_quorum_holds():
    obs = observed()
    obs["sentinels"][2] = {"address": "10.0.0.9:26379", "reachable": False, "error": "Connection refused"}
    result = dict((c["id"], c) for c in health.evaluate(obs))
    for check_id in ("redis.sentinel.quorum", "redis.sentinel.agreement", "redis.sentinel.topology"):
        assert result[check_id]["status"] == "warn", check_id
        assert result[check_id]["evidence"]["unreachable"] == ["10.0.0.9:26379"]


@pytest.mark.parametrize("answers,expected", [
    ([{"address": "a:1", "reachable": True, "master": "m:6379", "error": None}], None),
    ([{"address": "a:1", "reachable": False, "master": None, "error": "Error 111 connecting to a:1. Connection refused."},
      {"address": "b:1", "reachable": False, "master": None, "error": "Timeout connecting to server"}],
     "no Sentinel answered (a:1: Error 111 connecting to a:1. Connection refused.; b:1: Timeout connecting to server)"),
    ([{"address": "a:1", "reachable": True, "master": None, "error": None},
      {"address": "b:1", "reachable": False, "master": None, "error": "refused"}],
     "no Sentinel monitors a master named 'shop' (asked a:1; unreachable: b:1)"),
    ([{"address": "a:1", "reachable": True, "master": None, "error": "WRONGPASS invalid username-password pair"}],
     "the Sentinels refused the question (a:1: WRONGPASS invalid username-password pair)"),
])
def test_why_no_master_can_be_discovered(answers, expected):
    from ansible_collections.golive.core.plugins.module_utils.redis import connection

    problem = connection.discovery_problem(answers, "shop")
    assert (problem[0] if problem else None) == expected


@pytest.mark.parametrize("limits,status", [
    ({"min_replicas": 1}, "pass"),
    ({"min_replicas": 2}, "fail"),
    ({"min_replicas": 1, "max_replica_lag_bytes": 5}, "fail"),
])
def test_replication_limits(limits, status):
    assert statuses(observed(), **limits)["redis.replication"] == status


@pytest.mark.parametrize("limits,changes,status", [
    ({"require_maxmemory": True}, {"memory__maxmemory": 0}, "fail"),
    ({"maxmemory_policies": ["allkeys-lru"]}, {}, "pass"),
    ({"maxmemory_policies": ["noeviction"]}, {}, "fail"),
    ({"require_persistence": "both"}, {"config__save": ""}, "fail"),
    ({"require_persistence": "rdb"}, {}, "pass"),
    ({"expected_role": "any"}, {"replication__role": "slave"}, "pass"),
])
def test_limits_change_verdicts(limits, changes, status):
    check_id = "redis.persistence.configured" if "require_persistence" in limits else (
        "redis.role" if "expected_role" in limits else "redis.memory")
    assert statuses(observed(**changes), **limits)[check_id] == status


@pytest.mark.parametrize("commands,status,exposed", [
    ({"FLUSHALL": {"renamed_or_disabled": True, "allowed_for": {}}}, "pass", {}),
    ({"FLUSHALL": {"renamed_or_disabled": False, "allowed_for": {"default": False}}}, "pass", {}),
    ({"FLUSHALL": {"renamed_or_disabled": False, "allowed_for": {"default": True}}}, "fail",
     {"FLUSHALL": ["default"]}),
    ({"FLUSHALL": {"renamed_or_disabled": False, "allowed_for": {"default": None}}}, "fail",
     {"FLUSHALL": ["default"]}),
])
def test_restricted_commands(commands, status, exposed):
    result = health.evaluate(observed(commands=commands), {"restricted_commands": ["flushall"]})
    check = [c for c in result if c["id"] == "redis.security.commands"][0]
    assert check["status"] == status and check["evidence"]["exposed"] == exposed


def test_dryrun_argvs_respect_arity_and_subcommands():
    assert health._dryrun_argvs("flushall", [b"flushall", -1]) == [["flushall"]]
    assert health._dryrun_argvs("keys", ["keys", 2]) == [["keys", "x"]]
    config = ["config", -2, [], 0, 0, 0, [], [], [], [["config|get", -3], ["config|rewrite", 2]]]
    assert health._dryrun_argvs("config", config) == [["config", "get", "x"], ["config", "rewrite"]]


def test_evidence_never_holds_a_password():
    obs = observed()
    text = repr(health.evaluate(obs))
    assert "requirepass" not in text and "masterauth" not in text


def test_a_syncing_replica_warns_when_enough_others_are_healthy():
    obs = observed()
    obs["replication"]["replicas"].append({"address": "10.0.0.7:6379", "state": "wait_bgsave", "offset": 0,
                                           "lag": 0})
    assert statuses(obs, min_replicas=1)["redis.replication"] == "warn"
    assert statuses(obs, min_replicas=2)["redis.replication"] == "fail"


def test_snapshot_copies_are_not_replicas():
    from ansible_collections.golive.core.plugins.module_utils.redis import connection

    info = {"role": "master",
            "slave0": {"ip": "10.0.0.6", "port": 6379, "state": "online", "offset": 10, "lag": 0},
            "slave1": {"ip": "10.0.0.9", "port": 0, "state": "send_bulk", "offset": 0, "lag": 0}}
    assert connection.replica_entries(info) == [
        {"address": "10.0.0.6:6379", "state": "online", "offset": 10, "lag": 0}]
    assert connection.replica_addresses(info) == ["10.0.0.6:6379"]
    assert connection.snapshot_transfers(info) == 1

"""redis_persistence against scratch servers (their own config files) and the lab."""

import uuid

from ansible_collections.golive.core.plugins.module_utils.redis.scratch import ScratchServer
from helpers import lab_redis_args, run_task as run_module


def _config(server, name):
    return server.client().config_get(name)[name]


def test_check_mode_plans_then_apply_persists_and_rerun_is_unchanged(tmp_path):
    password = uuid.uuid4().hex
    with ScratchServer(password=password, settings={"appendonly": "no", "save": ""}) as server:
        args = {"redis_host": "127.0.0.1", "redis_port": server.port, "redis_password": password,
                "appendonly": True, "appendfsync": "everysec", "save": "3600 1 300 100", "persist_config": True}
        address = "127.0.0.1:%d" % server.port

        planned, proc = run_module(tmp_path, "golive.core.redis_persistence", args, "--diff", check=True)
        assert planned["changed"] is True and not planned.get("failed"), planned.get("msg")
        assert {(s["parameter"], s["before"], s["after"]) for s in planned["steps"]} == {
            ("appendonly", "no", "yes"), ("save", "", "3600 1 300 100")}
        assert planned["diff"]["before"][address]["appendonly"] == "no"
        assert planned["diff"]["after"][address]["appendonly"] == "yes"
        # Check mode changed nothing, live or on disk.
        assert _config(server, "appendonly") == "no"
        conf = (server.dir + "/scratch.conf")
        assert "appendonly yes" not in open(conf).read()

        applied, proc = run_module(tmp_path, "golive.core.redis_persistence", args, "-vvv")
        assert applied["changed"] is True and not applied.get("failed"), applied.get("msg")
        assert applied["persisted"] is True
        assert applied["undo"]["nodes"][address] == {"appendonly": "no", "save": ""}
        assert applied["checks"][0]["status"] == "pass"
        assert _config(server, "appendonly") == "yes"
        assert _config(server, "save") == "3600 1 300 100"
        assert server.client().info("persistence")["aof_enabled"] == 1
        text = open(conf).read()
        assert "appendonly yes" in text.splitlines()
        assert {"save 3600 1", "save 300 100"} <= set(text.splitlines())  # CONFIG REWRITE's form
        assert password not in proc.stdout + proc.stderr

        again, _ = run_module(tmp_path, "golive.core.redis_persistence", args)
        assert again["changed"] is False and again["steps"] == []


def test_config_disabled_is_a_clear_error_or_a_skip(tmp_path):
    password = uuid.uuid4().hex
    with ScratchServer(password=password, settings={"rename-command": 'CONFIG ""'}) as server:
        args = {"redis_host": "127.0.0.1", "redis_port": server.port, "redis_password": password,
                "appendonly": True}
        failed, proc = run_module(tmp_path, "golive.core.redis_persistence", args)
        assert failed["failed"] is True
        assert failed["msg"].startswith("Failed to read the configuration of Redis at 127.0.0.1:%d: "
                                        "CONFIG is disabled or not permitted" % server.port)
        assert "on_config_unavailable=skip" in failed["msg"]
        assert "Traceback" not in proc.stdout + proc.stderr
        assert server.client().info("persistence")["aof_enabled"] == 0  # nothing was changed

        skipped, _ = run_module(tmp_path, "golive.core.redis_persistence", dict(args, on_config_unavailable="skip"))
        assert not skipped.get("failed") and skipped["changed"] is False
        assert skipped["checks"][0]["status"] == "skip"
        assert "unknown command" in skipped["checks"][0]["evidence"]["answer"]


def test_lab_already_persists_and_check_mode_reports_no_change(lab, tmp_path):
    args = dict(lab_redis_args(lab), appendonly=True, appendfsync="everysec")
    result, _ = run_module(tmp_path, "golive.core.redis_persistence", args, check=True)
    assert result["changed"] is False and result["steps"] == []
    assert len(result["nodes"]) >= 2

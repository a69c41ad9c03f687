"""golive.core.awx_approval against the lab's stand-in of the controller API (the two
endpoints AWX answers with who approved an approval node): approved, pending, denied and
timed-out nodes, an unknown node or workflow job, a wrong token, and the controller
credential's environment variables (CONTROLLER_HOST, CONTROLLER_OAUTH_TOKEN) as AWX injects
them, the token never shown."""


import pytest
from helpers import run_tasks, seed



def task(job, **extra):
    return {"name": "approval", "golive.core.awx_approval": dict({"workflow_job_id": job}, **extra),
            "ignore_errors": True}


NODES = [{"identifier": "approve-phase2", "name": "Approve Day -3", "status": "successful",
          "approved_by": {"username": "sam"}, "finished": "2026-12-01T08:00:00Z"},
         {"identifier": "approve-phase5", "name": "Approve Day 0 - DNS cutover", "status": "successful",
          "approved_by": {"username": "dana", "first_name": "Dana"}, "finished": "2026-12-05T09:12:44Z"}]


def test_the_approver_is_read_from_the_controller(lab, tmp_path):
    standins, token = lab["standins"], lab["standins"]["sandbox_token"]
    job = seed(lab, NODES)
    pending = seed(lab, [dict(NODES[1], status="pending", approved_by=None)])
    denied = seed(lab, [dict(NODES[1], status="failed", approved_by={"username": "lee"})])
    env = {"CONTROLLER_HOST": standins["controller_url"], "CONTROLLER_OAUTH_TOKEN": token,
           "CONTROLLER_USERNAME": "", "CONTROLLER_PASSWORD": "", "CONTROLLER_VERIFY_SSL": ""}
    proc, results = run_tasks(tmp_path, task(job), task(job, node="Approve Day -3"), task(pending), task(denied),
                              task(job, node="approve-phase9"), task(999999999 + 1),
                              task(job, controller_oauthtoken="not-the-token"), env=env)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    approved, by_name, waiting, refused, no_node, no_job, bad_token = results
    assert approved["approved_by"] == "dana" and approved["checks"][0]["status"] == "pass"
    assert approved["approval"]["node"] == "approve-phase5" and approved["approval"]["status"] == "successful"
    assert approved["approval"]["approved_by"]["first_name"] == "Dana"
    assert by_name["approved_by"] == "sam"
    assert waiting["failed"] and "approve-phase5 of workflow job %d is pending" % pending in waiting["msg"]
    assert waiting["approved_by"] is None
    assert refused["failed"] and "is denied by lee" in refused["msg"]
    assert no_node["failed"] and "its approval nodes are approve-phase2, approve-phase5" in no_node["msg"]
    assert no_job["failed"] and "workflow_jobs/1000000000/workflow_nodes" in no_job["msg"] and "404" in no_job["msg"]
    assert bad_token["failed"] and "refused (401)" in bad_token["msg"]
    assert token not in out and "not-the-token" not in out
    assert all(r["changed"] is False for r in results)


@pytest.mark.parametrize("settings, message", [
    ({}, "no controller_host is set"),
    ({"controller_host": "http://127.0.0.1:9"}, "neither a token nor a user and password is set"),
])
def test_missing_controller_settings_are_named(lab, tmp_path, settings, message):
    env = dict((k, "") for k in ("CONTROLLER_HOST", "CONTROLLER_OAUTH_TOKEN", "CONTROLLER_USERNAME",
                                 "CONTROLLER_PASSWORD", "TOWER_HOST"))
    proc, results = run_tasks(tmp_path, task(1, **settings), env=env)
    assert proc.returncode == 0 and results[0]["failed"] and message in results[0]["msg"], results

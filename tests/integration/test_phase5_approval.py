"""Phase 5 under an AWX workflow with a controller credential (CONTROLLER_HOST and a token,
as AWX injects them): the approver recorded in the ledger is the user the controller says
approved the workflow's approval node, with the name typed at launch kept next to it; a node
still pending stops phase 5 before anything else. Both runs stop before the cutover (at a
Secret that does not exist), so nothing of the pager or DNS is touched."""

import json
import uuid

from helpers import read_ledger, run_playbook, seed


def phase5(lab, release, environment, workflow):
    env = {"CONTROLLER_HOST": lab["standins"]["controller_url"],
           "CONTROLLER_OAUTH_TOKEN": lab["standins"]["sandbox_token"], "CONTROLLER_USERNAME": "",
           "CONTROLLER_PASSWORD": "", "CONTROLLER_VERIFY_SSL": "True"}
    survey = {"golive_release": release, "golive_change_id": "CHG-AWX-9", "golive_approved_by": "typed-at-launch",
              "awx_workflow_job_id": workflow, "awx_job_id": 9191, "awx_user_name": "launcher",
              # Stop at the first check after the approval, long before the cutover: a Secret
              # that does not exist.
              "phase5_golive_require_phase4": False, "phase5_golive_tls_ingress_namespaces": [],
              "phase5_golive_images": {},
              "phase5_golive_secrets": [{"namespace": "pager", "name": "no-such-secret-%s" % release[-6:],
                                         "keys": ["X"]}]}
    return run_playbook("playbooks/golive.yml", "--tags", "phase5", "-e", json.dumps(survey), env=env,
                        environment=environment)


def test_the_approver_comes_from_the_controller_and_a_pending_node_stops_phase5(lab):
    node = {"identifier": "approve-phase5", "name": "Approve Day 0 - DNS cutover", "status": "successful",
            "approved_by": {"username": "dana"}, "finished": "2026-12-05T09:12:44Z"}
    approved, pending = seed(lab, [node]), seed(lab, [dict(node, status="pending", approved_by=None)])

    release, environment = "2026.11.9-a%s" % uuid.uuid4().hex[:6], "itest-%s" % uuid.uuid4().hex[:6]
    run = phase5(lab, release, environment, approved)
    out = run.stdout + run.stderr
    assert run.returncode != 0 and "no-such-secret" in out, out[-3000:]  # stops after the approval
    event = [e for e in read_ledger(lab, environment, release)["events"] if e["event"] == "approval"][-1]
    assert event["approved_by"] == "dana" and event["named_at_launch"] == "typed-at-launch"
    assert event["approver_source"].startswith("read from the controller %s: approval node approve-phase5 of "
                                               "workflow job %d approved by dana" % (lab["standins"]["controller_url"],
                                                                                     approved))
    assert event["awx"]["job_id"] == 9191 and event["awx"]["launched_by"] == "launcher"
    assert lab["standins"]["sandbox_token"] not in out

    release = "2026.11.9-p%s" % uuid.uuid4().hex[:6]
    run = phase5(lab, release, environment, pending)
    out = run.stdout + run.stderr
    assert run.returncode != 0 and "approve-phase5 of workflow job %d is pending" % pending in out, out[-3000:]
    record = read_ledger(lab, environment, release)
    assert not [e for e in (record or {}).get("events", []) if e["event"] == "approval"]

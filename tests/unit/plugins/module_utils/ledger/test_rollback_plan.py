"""The emergency rollback planned from a release record alone: every step in order,
whether it runs and why not, what it needs from the record, and the refusals that stop
it before anything is locked."""

import pytest

from ansible_collections.golive.core.plugins.module_utils.common.errors import Refused
from ansible_collections.golive.core.plugins.module_utils.ledger import record as rec
from ansible_collections.golive.core.plugins.module_utils.ledger import rollback

T = "2026-12-01T10:00:00Z"
MIGRATE_UNDO = {"module": "golive.core.pg_restore", "database": "pager", "backup_id": "pre-deploy-R1",
                "environment": "lab"}
DEPLOY_UNDO = {"module": "golive.core.k8s_rollout", "state": "undone", "workloads": [
    {"kind": "Deployment", "namespace": "pager", "name": "pager", "revision": "3", "replicas": 2,
     "images": {"pager": "registry.lab.example/pager:2026.11.2@sha256:" + "a" * 64}, "template": {}}]}
DNS_UNDO = {"module": "golive.core.dns_cutover", "state": "reverted", "provider": "rfc2136", "zone": "lab.example.",
            "before": {"app.lab.example. A": {"values": ["127.0.0.2"]}, "www.lab.example. A": {"values": ["127.0.0.2"]}},
            "after": {"app.lab.example. A": {"values": ["127.0.0.3"]}, "www.lab.example. A": {"values": ["127.0.0.3"]}}}


def record(*steps):
    """A record with ``(phase/step, status, changed, undo)`` steps."""
    r = rec.new_record("R1", "lab", T)
    for sid, status, changed, undo in steps:
        phase, step = sid.split("/")
        r = rec.begin_step(r, phase, step, "run-1", "f", T, undo=undo)
        if status != rec.STARTED:
            r = rec.finish_step(r, phase, step, "run-1", status, T, changed=changed)
    return r


FULL = [("phase2/migrate", rec.DONE, True, MIGRATE_UNDO), ("phase4/deploy", rec.DONE, True, DEPLOY_UNDO),
        ("phase5/dns-cutover", rec.DONE, True, DNS_UNDO)]


def skipped(plan):
    return dict((s["id"], s["why"]) for s in plan["steps"] if not s["run"])


def test_a_full_go_live_is_rolled_back_step_by_step_in_order():
    plan = rollback.emergency(record(*FULL))
    assert [s["id"] for s in plan["steps"]] == [
        "rollback/maintenance-on", "rollback/scale-down", "rollback/db-restore", "rollback/redeploy",
        "rollback/scale-up-50", "rollback/scale-up-100", "rollback/maintenance-off", "rollback/dns-revert"]
    assert all(s["run"] for s in plan["steps"]) and skipped(plan) == {}
    assert plan["database"] == {"database": "pager", "backup_id": "pre-deploy-R1", "environment": "lab"}
    assert plan["redeploy"]["workloads"] == [{"kind": "Deployment", "namespace": "pager", "name": "pager"}]
    assert plan["redeploy"]["undo"] == DEPLOY_UNDO
    assert plan["dns"]["records"] == ["app.lab.example. A", "www.lab.example. A"] and plan["dns"]["provider"] == "rfc2136"
    assert plan["previous_version"]["version"] == "2026.11.2"
    assert plan["changed_by_the_release"] == ["phase5/dns-cutover", "phase4/deploy", "phase2/migrate"]
    assert plan["summary"][2] == "rollback/db-restore: runs"


@pytest.mark.parametrize("steps,options,expected", [
    # Only phase 4: nothing to restore, no DNS to put back.
    ([("phase4/deploy", rec.DONE, True, DEPLOY_UNDO)], {},
     {"rollback/db-restore": "the release did not migrate the database",
      "rollback/dns-revert": "the release did not cut DNS over"}),
    # A deploy that changed nothing (the version was already there) is not redeployed.
    ([("phase4/deploy", rec.DONE, False, dict(DEPLOY_UNDO, workloads=[]))], {},
     {"rollback/db-restore": "the release did not migrate the database", "rollback/redeploy": "the release deployed nothing",
      "rollback/dns-revert": "the release did not cut DNS over"}),
    # Interrupted steps may have changed the world: they are rolled back.
    ([("phase2/migrate", rec.STARTED, None, MIGRATE_UNDO), ("phase5/dns-cutover", rec.FAILED, None, DNS_UNDO)], {},
     {"rollback/redeploy": "the release deployed nothing"}),
    # The database kept as it is, when asked.
    (FULL, {"skip_database": True}, {"rollback/db-restore": "kept as it is (rollback_emergency_skip_database=true)"}),
    # A cutover that recorded nothing to put back.
    ([("phase5/dns-cutover", rec.STARTED, None, None)], {},
     {"rollback/db-restore": "the release did not migrate the database", "rollback/redeploy": "the release deployed nothing",
      "rollback/dns-revert": "the release's cutover recorded no records to put back"}),
])
def test_what_runs_and_why_not(steps, options, expected):
    assert skipped(rollback.emergency(record(*steps), **options)) == expected


def test_a_re_run_skips_what_an_earlier_run_of_the_rollback_did():
    r = record(*FULL)
    for step in ("maintenance-on", "scale-down"):
        r = rec.begin_step(r, "rollback", step, "run-2", "f", T)
        r = rec.finish_step(r, "rollback", step, "run-2", rec.DONE, T, changed=True)
    r = rec.begin_step(r, "rollback", "db-restore", "run-2", "f", T)  # killed during the restore
    plan = rollback.emergency(r, restore_steps=[25, 100])
    assert skipped(plan) == {"rollback/maintenance-on": "done by an earlier run of this rollback",
                             "rollback/scale-down": "done by an earlier run of this rollback"}
    assert plan["run"]["rollback/db-restore"] is True  # resumed, not skipped
    assert [s["id"] for s in plan["steps"] if "scale-up" in s["id"]] == ["rollback/scale-up-25", "rollback/scale-up-100"]
    assert plan["done_before"] == ["rollback/maintenance-on", "rollback/scale-down"]
    assert plan["changed_by_the_release"] == ["phase5/dns-cutover", "phase4/deploy", "phase2/migrate"]


def test_a_migration_without_a_recorded_backup_is_refused_unless_the_database_is_kept():
    steps = [("phase2/migrate", rec.DONE, True, dict(MIGRATE_UNDO, backup_id=None))]
    with pytest.raises(Refused) as refused:
        rollback.emergency(record(*steps))
    assert "names no pre-deploy backup" in str(refused.value)
    assert "-e rollback_emergency_skip_database=true" in str(refused.value)
    assert rollback.emergency(record(*steps), skip_database=True)["run"]["rollback/db-restore"] is False


@pytest.mark.parametrize("image,tag", [
    ("registry.lab.example/pager:2026.11.2@sha256:" + "a" * 64, "2026.11.2"),
    ("registry.lab.example:5000/pager:1.2", "1.2"),
    ("registry.lab.example:5000/pager", None),
    ("pager@sha256:" + "b" * 64, None),
    ("", None),
    (None, None),
])
def test_tag_of(image, tag):
    assert rollback.tag_of(image) == tag


def test_several_versions_before_name_none():
    undo = {"workloads": [{"kind": "Deployment", "namespace": "a", "name": "web", "images": {"web": "r/web:1.0"}},
                          {"kind": "Deployment", "namespace": "a", "name": "api", "images": {"api": "r/api:2.0"}}]}
    found = rollback.previous_version(undo)
    assert found["version"] is None and found["versions"] == ["1.0", "2.0"]
    assert rollback.previous_version(None) == {"workloads": [], "versions": [], "version": None}


ROLLBACK_STEPS = ["maintenance-on", "scale-down", "db-restore", "redeploy", "scale-up-50", "scale-up-100",
                  "maintenance-off", "dns-revert"]


@pytest.mark.parametrize("killed_at", range(len(ROLLBACK_STEPS)))
def test_after_a_kill_at_each_step_the_plan_skips_what_finished_and_runs_the_rest(killed_at):
    # The rollback ran, finished every step before ``killed_at`` and was killed inside it.
    r = record(*FULL)
    for step in ROLLBACK_STEPS[:killed_at]:
        r = rec.begin_step(r, "rollback", step, "run-2", "f", T)
        r = rec.finish_step(r, "rollback", step, "run-2", rec.DONE, T, changed=True)
    r = rec.begin_step(r, "rollback", ROLLBACK_STEPS[killed_at], "run-2", "f", T)
    plan = rollback.emergency(r)
    done = ["rollback/%s" % s for s in ROLLBACK_STEPS[:killed_at]]
    assert plan["done_before"] == done
    assert skipped(plan) == dict((sid, "done by an earlier run of this rollback") for sid in done)
    assert [s["id"] for s in plan["steps"] if s["run"]] == ["rollback/%s" % s for s in ROLLBACK_STEPS[killed_at:]]
    # Whatever was done, the plan still knows what the release changed and what to put back.
    assert plan["database"]["backup_id"] == "pre-deploy-R1" and plan["redeploy"]["undo"] == DEPLOY_UNDO
    assert plan["dns"]["records"] == ["app.lab.example. A", "www.lab.example. A"]

"""The release record's pure rules: write-ahead steps, what a re-run does, and what a
rollback must consider, as tables."""

import pytest

from ansible_collections.golive.core.plugins.module_utils.ledger import record as rec
from ansible_collections.golive.core.plugins.module_utils.ledger.store import encode, head_name, name_part, split
from ansible_collections.golive.core.plugins.module_utils.common.errors import InvalidInput

T0, T1, T2 = "2026-11-29T10:00:00Z", "2026-11-29T10:01:00Z", "2026-11-29T10:02:00Z"


def fresh():
    return rec.new_record("R2", "lab", T0)


@pytest.mark.parametrize("step,digest,expected", [
    (None, "a", rec.RUN),
    ({"status": rec.DONE, "fingerprint": "a"}, "a", rec.SKIP),
    ({"status": rec.DONE, "fingerprint": "a"}, "b", rec.RETRY),
    ({"status": rec.STARTED, "fingerprint": "a"}, "a", rec.RESUME),
    ({"status": rec.FAILED, "fingerprint": "a"}, "a", rec.RETRY),
])
def test_decide(step, digest, expected):
    assert rec.decide(step, digest) == expected


def test_an_interrupted_step_keeps_its_first_undo_and_before():
    r = rec.begin_step(fresh(), "phase4", "deploy", "run-1", "f1", T0, objects=["d/pager"],
                       undo={"image": "v1"}, before={"image": "v1"})
    # killed here; the resumed run sees the world half-changed and must not replace the undo
    r = rec.begin_step(r, "phase4", "deploy", "run-2", "f1", T1, undo={"image": "v2"}, before={"image": "v2"})
    step = rec.find_step(r, "phase4/deploy")
    assert step["status"] == rec.STARTED and step["attempts"] == 2
    assert step["intent"]["undo"] == {"image": "v1"} and step["intent"]["before"] == {"image": "v1"}
    assert step["intent"]["run"] == "run-1" and step["last_attempt"]["run"] == "run-2"
    r = rec.finish_step(r, "phase4", "deploy", "run-2", rec.DONE, T2, changed=True, undo={"image": "v2"})
    step = rec.find_step(r, "phase4/deploy")
    assert step["status"] == rec.DONE and step["intent"]["undo"] == {"image": "v1"}
    assert step["outcome"]["undo"] == {"image": "v2"} and len(r["steps"]) == 1


def test_an_edit_never_changes_its_input():
    r = fresh()
    rec.begin_step(r, "p", "s", "run", "f", T0)
    assert r["steps"] == []


@pytest.mark.parametrize("outcomes,in_plan", [
    ([], True),                                   # started, never finished: may have acted
    ([(rec.DONE, True)], True),
    ([(rec.DONE, False)], False),                 # done, changed nothing
    ([(rec.DONE, True), (rec.DONE, False)], True),  # a repeat that found nothing keeps the change
    ([(rec.FAILED, False)], True),                # a failure may be a partial change
])
def test_undo_plan(outcomes, in_plan):
    r = rec.begin_step(fresh(), "phase4", "deploy", "run", "f", T0, undo={"u": 1})
    for status, changed in outcomes:
        r = rec.begin_step(r, "phase4", "deploy", "run", "f", T1)
        r = rec.finish_step(r, "phase4", "deploy", "run", status, T2, changed=changed)
    plan = rec.undo_plan(r)
    assert (len(plan) == 1) == in_plan
    if in_plan:
        assert plan[0]["undo"] == {"u": 1}


def test_undo_plan_is_newest_first_and_filters_by_phase():
    r = fresh()
    for phase, step in (("phase2", "backup"), ("phase4", "deploy"), ("phase4", "config")):
        r = rec.begin_step(r, phase, step, "run", "f", T0)
    assert [p["id"] for p in rec.undo_plan(r)] == ["phase4/config", "phase4/deploy", "phase2/backup"]
    assert [p["id"] for p in rec.undo_plan(r, "phase2")] == ["phase2/backup"]


@pytest.mark.parametrize("how,event", [("take-over", "lock-taken-over"), ("break", "lock-broken"),
                                       ("force", "lock-force-broken")])
def test_runs_and_a_taken_lock_are_recorded_and_the_old_run_marked_interrupted(how, event):
    r = rec.open_run(fresh(), {"id": "run-1", "holder": {"user": "a"}}, T0)
    took = {"holder": {"run_id": "run-1"}, "how": how, "why": "its process (pid 7) no longer exists on this host"}
    r = rec.open_run(r, {"id": "run-2", "holder": {"user": "b"}}, T1, took=took)
    r = rec.open_run(r, {"id": "run-2", "holder": {"user": "b"}}, T1)  # once per run
    r = rec.interrupt_run(r, "run-1", "run-2", how, T1)
    r = rec.close_run(r, "run-2", "finished", T2)
    assert [x["id"] for x in r["runs"]] == ["run-1", "run-2"]
    assert r["runs"][1]["broke_lock_of"] == {"run_id": "run-1"} and r["runs"][1]["status"] == "finished"
    assert r["runs"][0]["status"] == rec.INTERRUPTED
    assert r["runs"][0]["interrupted_by"] == {"run": "run-2", "how": how, "at": T1}
    assert r["events"] == [{"at": T1, "run": "run-2", "event": event, "holder": {"run_id": "run-1"},
                            "old_run": "run-1", "why": took["why"]}]


def test_a_run_that_ended_is_not_marked_interrupted():
    r = rec.open_run(fresh(), {"id": "run-1", "holder": {}}, T0)
    r = rec.close_run(r, "run-1", "failed", T1)
    assert rec.interrupt_run(r, "run-1", "run-2", "take-over", T2)["runs"][0]["status"] == "failed"
    assert rec.interrupt_run(r, "no-such-run", "run-2", "take-over", T2) == r


def test_finish_rejects_other_statuses():
    with pytest.raises(ValueError):
        rec.finish_step(fresh(), "p", "s", "run", rec.STARTED, T0)


def test_fingerprint_ignores_key_order():
    assert rec.fingerprint({"a": 1, "b": [1, 2]}) == rec.fingerprint({"b": [1, 2], "a": 1})
    assert rec.fingerprint({"a": 1}) != rec.fingerprint({"a": 2})


@pytest.mark.parametrize("env,release,name", [
    ("lab", "2026.11.3", "golive-ledger.lab.2026.11.3"),
    ("prod", "r2", "golive-ledger.prod.r2"),
])
def test_head_names(env, release, name):
    assert head_name(env, release) == name


def test_names_that_differ_only_in_case_do_not_share_a_record():
    assert name_part("R2", "release") != name_part("r2", "release")
    assert name_part("R2", "release").startswith("r2-")
    assert name_part("a_b", "release") != name_part("a-b", "release")


@pytest.mark.parametrize("bad", ["", "-x", "x/y", "a" * 64, "x y", "2026.11.3\n", "../../../x", "2026/11.3",
                                 "r\u00e9lease", "a" * 300, "2026.11.3\nx"])
def test_bad_names_are_refused(bad):
    with pytest.raises(InvalidInput):
        name_part(bad, "release id")


def test_chunks_join_back():
    text = encode({"k": "é" * 1000})
    assert text.isascii()
    assert "".join(split(text, 7)) == text and split("", 7) == [""]


def test_every_finished_step_has_a_duration_even_when_its_writer_gave_none():
    r = rec.begin_step(fresh(), "phase2", "migrate", "run-1", "f", T0)
    r = rec.finish_step(r, "phase2", "migrate", "run-1", rec.DONE, T2, changed=True)
    assert rec.find_step(r, "phase2/migrate")["outcome"]["duration"] == 120.0
    r = rec.begin_step(r, "phase2", "seed", "run-1", "f", "not a time")
    r = rec.finish_step(r, "phase2", "seed", "run-1", rec.DONE, T2, changed=False)
    assert "duration" not in rec.find_step(r, "phase2/seed")["outcome"]
    r = rec.begin_step(r, "phase4", "deploy", "run-1", "f", T0)
    r = rec.finish_step(r, "phase4", "deploy", "run-1", rec.DONE, T1, duration=12.5)
    assert rec.find_step(r, "phase4/deploy")["outcome"]["duration"] == 12.5


def test_an_event_keeps_details_of_any_name_and_its_own_fields_win():
    from ansible_collections.golive.core.plugins.module_utils.ledger import record as rec
    record = rec.new_record("R1", "prod", "2026-11-24T09:00:00Z")
    record = rec.add_event(record, "run-1", "watch", "2026-11-24T10:00:00Z",
                           {"now": "2026-11-24T09:59:00Z", "window": "1h", "at": "ignored"})
    assert record["events"][-1] == {"now": "2026-11-24T09:59:00Z", "window": "1h", "at": "2026-11-24T10:00:00Z",
                                    "run": "run-1", "event": "watch"}

"""The one step protocol, as a service sees it: what the ledger writes, and when, for a step
run, re-run with the same inputs, re-run with changes, failed, killed and resumed. The ledger
here keeps its record in memory (its store is the lab's Kubernetes elsewhere)."""

import pytest

from ansible_collections.golive.core.plugins.module_utils.common.errors import GoliveError
from ansible_collections.golive.core.plugins.module_utils.common.journal import NoJournal
from ansible_collections.golive.core.plugins.module_utils.ledger import record as rec
from ansible_collections.golive.core.plugins.module_utils.ledger.run import Ledger, StepRecorder, with_recorder

T = "2026-12-01T10:00:00Z"


class _Lock:
    renew_every = 60

    def check_held(self, run_id):
        pass


class MemoryLedger(Ledger):
    """``Ledger`` with its record in memory; counts its writes."""

    def __init__(self):
        self.environment, self.release, self.artifact_dir, self.copy = "lab", "R1", None, None
        self.now = lambda: T
        self.lock = _Lock()
        self.stored = rec.new_record("R1", "lab", T)
        self.writes = []

    def read(self, missing_ok=True):
        return self.stored

    def _edit(self, run_id, edit, create=False):
        self.stored = edit(self.stored)
        self.writes.append(run_id)
        return self.stored


def journal(ledger, run_id="run-1", check_mode=False):
    return StepRecorder(ledger, run_id, "phase4", "deploy", check_mode)


def run_step(ledger, inputs, pending, run_id="run-1", effect=None, check_mode=False):
    j = journal(ledger, run_id, check_mode)
    with j.step(inputs, pending=pending, objects=["Deployment a/b"], undo={"module": "m"}) as outcome:
        if effect:
            effect(outcome)
        outcome.setdefault("changed", pending)
    return j


def step(ledger):
    return rec.find_step(ledger.stored, "phase4/deploy")


def test_a_step_writes_its_intent_before_the_effect_and_its_outcome_after():
    ledger = MemoryLedger()
    seen = []
    j = run_step(ledger, {"image": "v2"}, True, effect=lambda o: seen.append(step(ledger)["status"]))
    assert seen == [rec.STARTED]  # the intent was in the record while the effect ran
    assert step(ledger)["status"] == rec.DONE and step(ledger)["intent"]["undo"] == {"module": "m"}
    assert len(ledger.writes) == 2 and j.summary()["decision"] == rec.RUN


def test_a_re_run_with_the_same_inputs_and_nothing_to_change_writes_nothing():
    ledger = MemoryLedger()
    run_step(ledger, {"image": "v2"}, True)
    j = run_step(ledger, {"image": "v2"}, False)
    assert len(ledger.writes) == 2 and j.summary()["decision"] == rec.SKIP


@pytest.mark.parametrize("inputs,pending", [({"image": "v2"}, True), ({"image": "v3"}, False)])
def test_a_re_run_with_changes_or_other_inputs_records_again(inputs, pending):
    ledger = MemoryLedger()
    run_step(ledger, {"image": "v2"}, True)
    j = run_step(ledger, inputs, pending)
    assert len(ledger.writes) == 4 and step(ledger)["attempts"] == 2
    assert step(ledger)["fingerprint"] == rec.fingerprint(inputs) and j.summary()["decision"] == rec.RETRY


def test_a_failed_effect_is_recorded_failed_with_its_error_and_the_error_goes_on():
    ledger = MemoryLedger()

    def fail(outcome):
        outcome["changed"] = True
        raise GoliveError("roll out", "Deployment a/b", "it never became ready")

    with pytest.raises(GoliveError):
        run_step(ledger, {"image": "v2"}, True, effect=fail)
    entry = step(ledger)
    assert entry["status"] == rec.FAILED and "never became ready" in entry["outcome"]["error"]
    assert entry["outcome"]["changed"] is True


def test_an_outcome_that_names_an_error_is_a_failed_step_without_an_exception():
    ledger = MemoryLedger()
    run_step(ledger, {"event": "x"}, True, effect=lambda o: o.update(error="smtp: refused"))
    assert step(ledger)["status"] == rec.FAILED


def test_a_run_that_stops_mid_step_leaves_it_started_and_the_next_run_resumes_with_what_it_recorded():
    ledger = MemoryLedger()
    j = journal(ledger)
    with pytest.raises(KeyboardInterrupt):
        with j.step({"db": "pager"}, before={"restoring": "pager_new", "kept": "pager_before"}):
            raise KeyboardInterrupt  # not an error of the step: the run stopped
    assert step(ledger)["status"] == rec.STARTED
    again = journal(ledger, "run-2")
    assert again.interrupted() == {"restoring": "pager_new", "kept": "pager_before"}
    assert not again.done_before({"db": "pager"})


def test_done_before_is_only_done_with_the_same_inputs():
    ledger = MemoryLedger()
    run_step(ledger, {"event": "golive-started"}, True)
    assert journal(ledger, "run-2").done_before({"event": "golive-started"})
    assert not journal(ledger, "run-2").done_before({"event": "golive-finished"})


def test_check_mode_reads_and_decides_and_writes_nothing():
    ledger = MemoryLedger()
    j = run_step(ledger, {"image": "v2"}, True, check_mode=True)
    assert ledger.writes == [] and j.summary()["decision"] == rec.RUN


def test_a_later_step_finds_an_earlier_steps_outputs():
    ledger = MemoryLedger()
    j = StepRecorder(ledger, "run-1", "phase2", "predeploy-backup")
    with j.step({"db": "pager"}) as outcome:
        outcome.update(changed=True, outputs={"module": "golive.core.pg_backup", "source": "pager", "backup_id": "b1"})
    later = StepRecorder(ledger, "run-1", "phase2", "migrate")
    assert later.outputs_of("golive.core.pg_backup", source="pager")["backup_id"] == "b1"
    assert later.outputs_of("golive.core.pg_backup", source="other") is None


def test_without_the_option_the_service_gets_a_journal_that_records_nothing():
    seen = []

    def act(j):
        seen.append(j)
        with j.step({"a": 1}) as outcome:
            outcome["changed"] = True
        return {"changed": True, "diff": {"before": "", "after": "x"}}

    result = with_recorder(None, "phase4", "deploy", act, diff=False)
    assert isinstance(seen[0], NoJournal) and "ledger" not in result and "diff" not in result
    assert seen[0].done_before({"a": 1}) is False and seen[0].interrupted() is None


def test_the_outcomes_of_several_checks_are_written_at_once_and_a_bad_one_is_refused_before_writing():
    from ansible_collections.golive.core.plugins.module_utils.common.errors import InvalidInput
    from ansible_collections.golive.core.plugins.module_utils.ledger.run import perform
    ledger = MemoryLedger()
    steps = [{"phase": "phase4", "step": "tls@us-1", "status": "done", "outputs": {"checks": ["tls.www"]}},
             {"phase": "phase4", "step": "smoke@us-1", "status": "failed", "error": "login failed", "changed": False}]
    result = perform(ledger, "finish", {"run_id": "run-1", "steps": steps})
    assert ledger.writes == ["run-1"] and [s["id"] for s in result["steps"]] == ["phase4/tls@us-1", "phase4/smoke@us-1"]
    assert rec.find_step(ledger.stored, "phase4/smoke@us-1")["outcome"]["error"] == "login failed"
    with pytest.raises(InvalidInput, match="a status done or failed"):
        perform(ledger, "finish", {"run_id": "run-1", "steps": [{"phase": "phase4", "step": "x", "status": "started"}]})
    assert ledger.writes == ["run-1"]
    assert perform(ledger, "finish", {"run_id": "run-1", "steps": steps}, check_mode=True)["steps"] == []

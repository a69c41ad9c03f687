# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A run's view of the ledger: open (take the lock), begin/finish steps, close, read.

``Ledger`` is what the ``ledger`` module and every module that records itself (with the
``ledger`` option: release, environment, run id) use. Each write checks and renews the
run lock first (a run whose lock was broken stops at its next write), then applies one
pure edit from ``record`` with optimistic concurrency, then refreshes the artifact copy.
Check mode reads and decides, and writes nothing.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time
import uuid


from ansible_collections.golive.core.plugins.module_utils.common.checks import strip_userinfo
from ansible_collections.golive.core.plugins.module_utils.common.clock import format_time, utcnow
from ansible_collections.golive.core.plugins.module_utils.common.errors import GoliveError, InvalidInput, NotFound
from ansible_collections.golive.core.plugins.module_utils.ledger import record as rec
from ansible_collections.golive.core.plugins.module_utils.ledger import rollback
from ansible_collections.golive.core.plugins.module_utils.ledger.lock import (
    ALIVE,
    Heartbeat,
    RunLock,
    describe,
    make_holder,
)
from ansible_collections.golive.core.plugins.module_utils.ledger.store import (
    DEFAULT_NAMESPACE,
    LedgerStore,
    head_name,
    write_copy,
)
from ansible_collections.golive.core.plugins.module_utils.common.journal import NoJournal
from ansible_collections.golive.core.plugins.module_utils.common.options import env_fallback

CHECK_RUN_ID = "check-mode"


def context_spec():
    """Sub-options of the ``ledger`` option of modules that record themselves."""
    return dict(
        release=dict(type="str", required=True),
        environment=dict(type="str", required=True),
        run_id=dict(type="str", required=True),
        namespace=dict(type="str", default=DEFAULT_NAMESPACE),
        phase=dict(type="str"),
        step=dict(type="str"),
        artifact_dir=dict(type="path"),
        cluster=dict(type="str"),
        connection=dict(type="dict", no_log=True),
    )


def evidence_name(environment, release, run_id):
    """Where a run's evidence is kept, relative to the report directory (the report callback
    writes it there; the release's report reads it)."""
    return "releases/%s/%s/runs/%s.json" % (environment, release, run_id)


def artifact_dir_spec():
    return dict(type="path", fallback=(env_fallback, ["GOLIVE_ARTIFACT_DIR"]))


class Ledger:
    def __init__(self, kube, environment, release, namespace=DEFAULT_NAMESPACE, artifact_dir=None,
                 lease_seconds=900, now=None):
        if not release or not environment:
            raise InvalidInput("open", "the ledger", "both a release id and an environment are required")
        # Both name objects in the cluster: a bad one is refused before anything is read or locked.
        head_name(environment, release)
        self.kube = kube
        self.environment = environment
        self.release = release
        self.store = LedgerStore(kube, namespace)
        self.lock = RunLock(kube, namespace, environment, lease_seconds)
        self.artifact_dir = artifact_dir
        self.now = now or (lambda: format_time(utcnow()))
        self.copy = None

    # -- plumbing ----------------------------------------------------------------------
    def _create(self):
        return rec.new_record(self.release, self.environment, self.now())

    def _edit(self, run_id, edit, create=False):
        self.lock.check_held(run_id)
        # Nothing a step records keeps the user-info of a URL (a password written into it).
        stored = self.store.update(self.environment, self.release, lambda r: strip_userinfo(edit(r)),
                                   self.kube.deadline, create=self._create if create else None)
        self.copy = write_copy(self.artifact_dir, stored)
        return stored

    def read(self, missing_ok=True):
        record = self.store.read(self.environment, self.release)[0]
        if record is None and not missing_ok:
            raise NotFound("find", "the ledger of release %s in environment %s" % (self.release, self.environment),
                           "no record in namespace %s" % self.store.namespace,
                           fix="Check the release id and the environment (golive_environment)")
        return record

    # -- operations ----------------------------------------------------------------------
    def _require(self, existing):
        if existing is None:
            elsewhere = [e for e in self.store.environments_of(self.release) if e != self.environment]
            if elsewhere:
                hint = "it has one in %s, use that environment's inventory (or -e golive_environment=%s)" % (
                    ", ".join(elsewhere), elsewhere[0])
            else:
                hint = "check the release id (the one its go-live ran with) and the inventory"
            raise NotFound("open", "the ledger of release %s" % self.release,
                           "release %s has no ledger in environment %s; %s" % (self.release, self.environment, hint),
                           fix="Nothing was changed")

    def open(self, job_id=None, break_lock=False, check_mode=False, holder=None, force=None, require_record=False,
             plan=None):
        """Read the release's record and take the environment's run lock, in one call.

        ``require_record`` refuses a release without a record here, and ``plan`` (a pure
        function of the record, see ``rollback.PLANS``) may refuse it: both before the
        lock is touched. A lock whose holder is gone is taken over and its run marked
        interrupted; see ``lock`` for when ``break_lock`` and ``force`` take one.
        """
        existing = self.read()
        if require_record:
            self._require(existing)
        planned = plan(existing) if plan is not None else None
        if holder is not None:
            run_id = holder["run_id"]
        else:
            run_id = CHECK_RUN_ID if check_mode else "%s-%s" % (time.strftime("%Y%m%dT%H%M%S"), uuid.uuid4().hex[:8])
            holder = make_holder(run_id, self.release, job_id)
        answer = {"run_id": run_id, "holder": holder, "broke_lock_of": None, "took_lock": None, "plan": planned,
                  "resumed": bool(existing), "steps_done": _done_ids(existing),
                  "undo_plan": rec.undo_plan(existing) if existing else []}
        if check_mode:
            # A check run writes nothing, so it may run beside a real one; it says so.
            lease = self.lock.read()
            current = self.lock.holder()
            warnings = []
            if current:
                seen = self.lock.assess(lease, current, self.lock.clock())
                if seen["state"] == ALIVE or not (break_lock or force):
                    refusal = self.lock.refusal(lease, current, self.lock.clock())
                    warnings.append("A real run would be refused: %s. %s" % (refusal.cause, refusal.fix))
            answer.update(lock_holder=current, record=rec.summary(existing) if existing else None, warnings=warnings)
            return answer
        self.store.ensure_namespace()
        took = self.lock.acquire(holder, break_lock=break_lock, force=force)
        run = {"id": run_id, "holder": holder, "evidence": evidence_name(self.environment, self.release, run_id)}
        stored = self._edit(run_id, lambda r: rec.open_run(r, run, self.now(), took=took), create=True)
        if took and took["holder"].get("run_id"):
            self._interrupt(run_id, took)
        answer.update(broke_lock_of=took["holder"] if took else None, took_lock=took, record=rec.summary(stored),
                      resumed=len(stored["runs"]) > 1, copy=self.copy,
                      ledger_run={"run_id": run_id, "release": self.release, "environment": self.environment,
                                  "evidence": run["evidence"]})
        return answer

    def _interrupt(self, run_id, took):
        """Mark the run whose lock was taken as interrupted, in its release's record."""
        old = took["holder"]
        release = old.get("release") or self.release
        try:
            head_name(self.environment, release)
        except InvalidInput:
            return
        self.lock.check_held(run_id)
        self.store.update(self.environment, release,
                          lambda r: rec.interrupt_run(r, old["run_id"], run_id, took["how"], self.now()),
                          self.kube.deadline)

    def begin(self, run_id, phase, step, inputs=None, objects=None, undo=None, before=None, always=False,
              check_mode=False, existing=None):
        """Write a step's intent, unless it is done with these inputs (``decision`` says).

        ``existing`` is the record as the caller just read it (read here when not given).
        """
        digest = rec.fingerprint(inputs)
        if existing is None:
            existing = self.read()
        entry = rec.find_step(existing, rec.step_id(phase, step)) if existing else None
        decision = rec.decide(entry, digest)
        if decision == rec.SKIP and always:
            decision = rec.RETRY
        if decision == rec.SKIP or check_mode:
            return {"decision": decision, "step": entry}
        stored = self._edit(run_id, lambda r: rec.begin_step(r, phase, step, run_id, digest, self.now(),
                                                             objects=objects, undo=undo, before=before))
        return {"decision": decision, "step": rec.find_step(stored, rec.step_id(phase, step))}

    def finish(self, run_id, phase, step, status, check_mode=False, **outcome):
        if check_mode:
            return {"step": None}
        stored = self._edit(run_id, lambda r: rec.finish_step(r, phase, step, run_id, status, self.now(), **outcome))
        return {"step": rec.find_step(stored, rec.step_id(phase, step))}

    def finish_all(self, run_id, steps, check_mode=False):
        """The outcomes of several steps (``[{phase, step, status, ...outcome}]``) in one write."""
        if check_mode or not steps:
            return {"steps": []}
        now = self.now()

        def edit(record):
            for item in steps:
                outcome = dict((k, v) for k, v in item.items() if k not in ("phase", "step", "status"))
                record = rec.finish_step(record, item["phase"], item["step"], run_id, item.get("status") or rec.DONE,
                                         now, **outcome)
            return record
        stored = self._edit(run_id, edit)
        return {"steps": [rec.find_step(stored, rec.step_id(i["phase"], i["step"])) for i in steps]}

    def event(self, run_id, event, check_mode=False, details=None):
        if check_mode:
            return None
        return self._edit(run_id, lambda r: rec.add_event(r, run_id, event, self.now(), details))

    def close(self, run_id, status="finished", check_mode=False):
        """End the run and let go of the lock."""
        if check_mode:
            return {"released": False}
        stored = self._edit(run_id, lambda r: rec.close_run(r, run_id, status, self.now()))
        released = self.lock.release(run_id)
        return {"released": released, "record": rec.summary(stored), "copy": self.copy}


def _done_ids(record):
    return [s["id"] for s in (record or {}).get("steps") or [] if s.get("status") == rec.DONE]


class StepRecorder:
    """The journal of one step, for a module that has the ``ledger`` option.

    This is the one step protocol: a service describes its step (inputs, undo, before,
    then its outcome) and the ledger decides. ``step()`` writes the intent before any
    effect unless the record holds the step done with the same inputs and there is
    nothing to change; it finishes the step done, or failed when the effect raised. A
    service whose effect must not be repeated asks ``done_before(inputs)``; one that
    resumes mid-way reads what its first attempt recorded with ``interrupted()``.

    ``StepRecorder.from_option(kube, params['ledger'], default_phase, default_step)``;
    without the option a module gets ``NoJournal``, which records nothing.
    """

    def __init__(self, ledger, run_id, phase, step, check_mode=False, cluster=None):
        self.ledger = ledger
        self.run_id = run_id
        self.phase = phase
        self.cluster = cluster or None
        # A release run in several clusters records each cluster's step as its own entry.
        self.step_name = rec.in_cluster(step, self.cluster)
        self.check_mode = check_mode
        self.started = None
        self.decision = None
        self.heartbeat = None
        self._record = None

    @classmethod
    def from_option(cls, kube, option, default_phase, default_step, check_mode=False):
        if not option:
            return None
        ledger = Ledger(kube, option["environment"], option["release"], option.get("namespace") or DEFAULT_NAMESPACE,
                        option.get("artifact_dir"))
        return cls(ledger, option["run_id"], option.get("phase") or default_phase, option.get("step") or default_step,
                   check_mode, cluster=option.get("cluster"))

    def _mine(self, entry):
        """Whether a step of the record is of this step's cluster (or, without one, of none)."""
        return rec.cluster_of(entry.get("id")) == self.cluster

    @property
    def step_id(self):
        return rec.step_id(self.phase, self.step_name)

    # -- what a service reads ------------------------------------------------------------
    def record(self):
        """The release's record, read once before the step acts (``{}`` when there is none)."""
        if self._record is None:
            self._record = self.ledger.read() or {}
        return self._record

    def previous(self):
        """The step as the record holds it (None when never started)."""
        return rec.find_step(self.record(), self.step_id) if self.record() else None

    def done_before(self, inputs):
        """Whether the record holds this step done with these inputs (the decision then is
        ``done``: the step is reported, not repeated)."""
        if rec.decide(self.previous(), rec.fingerprint(inputs)) == rec.SKIP:
            self.decision = rec.SKIP
            return True
        return False

    def interrupted(self):
        """The ``before`` an attempt of this step recorded when it started and never finished
        (a run killed mid-step), so the service resumes under the names it began with."""
        previous = self.previous()
        if not previous or previous.get("status") != rec.STARTED:
            return None
        return (previous.get("intent") or {}).get("before") or {}

    def recorded_undo(self, module_name, state=None, step=None):
        """The undo the release's record holds for step ``phase/step`` when given, else the
        first one written by ``module_name`` (with that ``state``): what a later step needs when
        the objects have lost their annotations."""
        if step is not None:
            step = rec.in_cluster(step, self.cluster)
        for entry in (self.record() or {}).get("steps") or []:
            undo = (entry.get("intent") or {}).get("undo") or {}
            if step is not None:
                if entry.get("id") == step:
                    return undo or None
            elif (undo.get("module") == module_name and (state is None or undo.get("state") == state)
                  and self._mine(entry)):
                return undo
        return None

    def _newest_done(self, wanted):
        """The outcome of the release's newest finished step for which ``wanted(entry)`` holds."""
        done = [entry for entry in (self.record() or {}).get("steps") or []
                if entry.get("status") == rec.DONE and wanted(entry)]
        if not done:
            return None
        return max(done, key=lambda entry: (entry.get("outcome") or {}).get("at") or "").get("outcome") or {}

    def left_by(self, module_name):
        """What the release's newest finished step of ``module`` left (its ``after``)."""
        outcome = self._newest_done(
            lambda e: ((e.get("intent") or {}).get("undo") or {}).get("module") == module_name and self._mine(e))
        return None if outcome is None else outcome.get("after")

    def outputs_of(self, module_name, **match):
        """The outputs of the release's newest finished step whose outputs name ``module``
        and hold ``match`` (a later step's link to an earlier one: the backup a migration
        would be undone with)."""
        def wanted(entry):
            outputs = (entry.get("outcome") or {}).get("outputs") or {}
            return outputs.get("module") == module_name and all(outputs.get(k) == v for k, v in match.items())
        outcome = self._newest_done(wanted)
        return None if outcome is None else outcome["outputs"]

    # -- the step ------------------------------------------------------------------------
    def step(self, inputs, pending=True, objects=None, undo=None, before=None):
        """``with journal.step(inputs, pending, ...) as outcome:`` around the step's effect.

        ``pending`` says the service has something to change. The service fills
        ``outcome`` (``changed``, ``after``, ``undo``, ``outputs``) as it goes; it is
        written when the step finishes: failed when the effect raised or the outcome names
        an ``error``, done otherwise.
        """
        return _Step(self, inputs, pending, objects, undo, before)

    def begin(self, inputs, objects=None, undo=None, before=None):
        self.started = time.monotonic()
        answer = self.ledger.begin(self.run_id, self.phase, self.step_name, inputs, objects, undo, before, always=True,
                                   check_mode=self.check_mode, existing=self.record() or None)
        self.decision = answer["decision"]
        self._record = None
        if not self.check_mode and self.heartbeat is None:
            # The step may act for longer than the lease: keep it renewed until it finishes.
            self.heartbeat = Heartbeat(self.ledger.lock, self.run_id).start()
        return answer

    def finish(self, status, **outcome):
        if self.heartbeat is not None:
            self.heartbeat.stop()
            self.heartbeat = None
        if self.started is not None:
            outcome.setdefault("duration", round(time.monotonic() - self.started, 3))
        self._record = None
        return self.ledger.finish(self.run_id, self.phase, self.step_name, status, check_mode=self.check_mode,
                                  **outcome)

    def summary(self):
        return {"release": self.ledger.release, "environment": self.ledger.environment, "run_id": self.run_id,
                "step": self.step_id, "decision": self.decision, "copy": self.ledger.copy}


class _Step:
    """The context of one step: intent written on entry (unless the ledger says the step is
    done with these inputs and nothing is pending), outcome on exit."""

    def __init__(self, journal, inputs, pending, objects, undo, before):
        self.journal = journal
        self.args = (inputs, objects, undo, before)
        self.pending = pending
        self.outcome = {}
        self.writing = False

    def __enter__(self):
        inputs, objects, undo, before = self.args
        # Done before with these inputs and nothing to change: nothing to write.
        if self.pending or not self.journal.done_before(inputs):
            self.journal.begin(inputs, objects=objects, undo=undo, before=before)
            self.writing = True
        return self.outcome

    def __exit__(self, kind, error, trace):
        if not self.writing:
            return False
        if error is None:
            # A step may end without raising and still have failed: its outcome names the error.
            self.journal.finish(rec.FAILED if self.outcome.get("error") else rec.DONE, **self.outcome)
        elif isinstance(error, Exception):
            self.journal.finish(rec.FAILED, **dict(self.outcome, error=str(error)))
        # Anything else (the run stopped) leaves the step started: the next run resumes it.
        return False


def ledger_kube(kube, option):
    """The client of the cluster that keeps the ledger: the ``connection`` the ``ledger``
    option names (a release run in several clusters keeps one ledger, in its home
    cluster), made by the module's own client ``kube``; else ``kube`` itself."""
    connection = (option or {}).get("connection")
    if not connection:
        return kube
    if kube is None:
        raise InvalidInput("record", "the step in the ledger", "ledger.connection needs a Kubernetes client")
    return kube.elsewhere(connection)


def with_recorder(option, phase, step, act, kube=None, check_mode=False, diff=True):
    """``act(journal)`` with the journal of the ``ledger`` option (``NoJournal`` without
    it); ``kube`` is closed afterwards, the result (or a failure's partial result) carries
    the journal's summary as ``ledger``, and the diff is dropped unless asked for."""
    journal = None
    store = None
    try:
        store = ledger_kube(kube, option) if option else None
        journal = StepRecorder.from_option(store, option, phase, step, check_mode)
        result = act(journal or NoJournal())
    except GoliveError as exc:
        if journal is not None:
            exc.result.setdefault("ledger", journal.summary())
        raise
    finally:
        if kube is not None:
            kube.close()
        if store is not None and store is not kube:
            store.close()
    if journal is not None:
        result.setdefault("ledger", journal.summary())
    if not diff:
        result.pop("diff", None)
    return result


def perform(ledger, operation, options, check_mode=False):
    """One operation of the ``ledger`` module; ``options`` holds that operation's fields.

    Bookkeeping is not a change to the systems a go-live manages: only breaking a lock
    reports ``changed``; ``recorded`` says whether the ledger was written.
    """
    run_id = options.get("run_id")
    needs_run = operation in ("begin", "finish", "event", "close")
    if needs_run and not run_id:
        raise InvalidInput("run", "ledger operation %s" % operation, "run_id is required (from the open operation)")
    if operation in ("begin", "finish") and not (options.get("phase") and options.get("step")) and not (
            operation == "finish" and options.get("steps") is not None):
        raise InvalidInput("run", "ledger operation %s" % operation, "phase and step are required")
    result = {"changed": False, "release": ledger.release, "environment": ledger.environment,
              "recorded": not check_mode and operation != "read"}
    plan = None
    if options.get("plan"):
        if operation not in ("open", "read"):
            raise InvalidInput("run", "ledger operation %s" % operation, "plan is for open and read")
        planner = rollback.PLANS[options["plan"]]
        plan_options = dict(options.get("plan_options") or {})

        def plan(record):
            return planner(record, **plan_options) if record else None
    if operation == "open":
        answer = ledger.open(job_id=options.get("job_id"), break_lock=options.get("break_lock"),
                             force=options.get("force_break_lock"), check_mode=check_mode,
                             require_record=options.get("require_record"), plan=plan)
        result.update(answer)
        result["changed"] = bool(answer.get("took_lock"))
        took = answer.get("took_lock")
        if took:
            what = {"take-over": "Took over", "break": "Broke", "force": "Force-broke"}.get(took["how"], "Took")
            result["warnings"] = (result.get("warnings") or []) + [
                "%s the run lock of environment %s held by %s (%s); that run is marked interrupted in its ledger"
                % (what, ledger.environment, describe(took["holder"]), took.get("why"))]
    elif operation == "begin":
        answer = ledger.begin(run_id, options["phase"], options["step"], options.get("inputs"),
                              options.get("objects"), options.get("undo"), options.get("before"),
                              always=options.get("always"), check_mode=check_mode)
        result.update(answer)
        result["done"] = answer["decision"] == rec.SKIP
        result["recorded"] = result["recorded"] and not result["done"]
    elif operation == "finish" and options.get("steps") is not None:
        steps = []
        for item in options["steps"]:
            finished = (item.get("status") or rec.DONE) in (rec.DONE, rec.FAILED)
            if not (item.get("phase") and item.get("step") and finished):
                raise InvalidInput("finish", "the steps", "each needs a phase and a step, and a status done or failed")
            steps.append(dict((k, v) for k, v in item.items() if v is not None))
        result.update(ledger.finish_all(run_id, steps, check_mode=check_mode))
    elif operation == "finish":
        if (options.get("status") or rec.DONE) not in (rec.DONE, rec.FAILED):
            raise InvalidInput("finish", "step %s/%s" % (options["phase"], options["step"]),
                               "status must be done or failed")
        outcome = dict((key, options.get(key)) for key in ("changed", "before", "after", "undo", "outputs", "error",
                                                           "duration"))
        result.update(ledger.finish(run_id, options["phase"], options["step"], options.get("status") or rec.DONE,
                                    check_mode=check_mode, **outcome))
    elif operation == "event":
        ledger.event(run_id, options.get("event") or "note", check_mode=check_mode, details=options.get("details"))
    elif operation == "close":
        result.update(ledger.close(run_id, options.get("status") or "finished", check_mode=check_mode))
    elif operation == "read":
        record = ledger.read(missing_ok=bool(options.get("missing_ok")))
        result["record"] = record
        result["exists"] = record is not None
        if record is None:
            result["elsewhere"] = [e for e in ledger.store.environments_of(ledger.release) if e != ledger.environment]
        if record is not None:
            result["summary"] = rec.summary(record)
            result["undo_plan"] = rec.undo_plan(record)
            result["clusters"] = rec.clusters(record)
            result["live_clusters"] = rec.live_clusters(record)
            if plan is not None:
                result["plan"] = plan(record)
            result["lock_holder"] = ledger.lock.holder()
            if ledger.artifact_dir:
                result["copy"] = write_copy(ledger.artifact_dir, record)
    else:
        raise InvalidInput("run", "ledger operation %r" % operation, "unknown operation")
    if ledger.copy and "copy" not in result:
        result["copy"] = ledger.copy
    return result

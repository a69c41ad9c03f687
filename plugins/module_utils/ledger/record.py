# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The release record: what a go-live changed and how to undo it (pure).

A record belongs to one release of one environment. It holds the runs that worked on the
release (who, from where, when; a broken lock names whose it broke) and its steps. A step
is written twice: its intent before acting (phase, objects, the planned undo) and its
outcome after (status, timings, before/after, undo, outputs). The record is changed only
through the functions here, each a pure ``record -> record`` edit, so a writer that
loses a race re-reads the stored record and applies its edit again: nobody's step is lost.

Rules that make a record trustworthy after ``kill -9``:
- the first intent's ``undo`` and ``before`` are the release's: a later attempt of the
  same step (a resume, a retry) never replaces them, because the state it sees may
  already be the release's own doing;
- a step whose intent has no outcome is ``started``: it may have changed the world, so a
  rollback considers it, and a re-run does it again (every action is idempotent);
- a ``done`` step with the same inputs is not repeated; with other inputs it runs again.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible_collections.golive.core.plugins.module_utils.common.clock import parse_time
from ansible_collections.golive.core.plugins.module_utils.common import fingerprint as digest

API_VERSION = "golive.io/v1"
KIND = "ReleaseRecord"

STARTED = "started"
DONE = "done"
FAILED = "failed"
STEP_STATUSES = (STARTED, DONE, FAILED)

# What ``decide`` answers for a step about to run.
RUN = "run"          # never started
SKIP = "done"        # done with these inputs: report it, do not repeat it
RESUME = "resume"    # started and never finished (interrupted): do it again
RETRY = "retry"      # failed, or done with other inputs: do it again


def new_record(release, environment, now):
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "release": release,
        "environment": environment,
        "created": now,
        "updated": now,
        "runs": [],
        "steps": [],
        "events": [],
    }


def fingerprint(inputs):
    """The digest of a step's inputs the record keeps (``common.fingerprint``)."""
    return digest.fingerprint(inputs)


def step_id(phase, step):
    return "%s/%s" % (phase, step)


CLUSTER_MARK = "@"


def in_cluster(step, cluster):
    """``deploy@us-1``: a step of one cluster of a release run in several (its own entry per cluster)."""
    return "%s%s%s" % (step, CLUSTER_MARK, cluster) if cluster else step


def cluster_of(sid):
    """The cluster a step id names (``phase4/deploy@us-1`` -> ``us-1``), None for a step of
    the release as a whole (a shared database, a single cluster)."""
    return sid.rsplit(CLUSTER_MARK, 1)[1] if CLUSTER_MARK in (sid or "") else None


def live_clusters(record):
    """The clusters whose own records the release cut over and still serves: the newest
    ``phase5/dns-cutover@<cluster>`` done after any ``phase5/dns-revert@<cluster>``, and no
    rollback of that cluster begun."""
    steps = (record or {}).get("steps") or []

    def done_at(sid):
        item = find_step(record, sid)
        if not item or item.get("status") != DONE:
            return None
        return (item.get("outcome") or {}).get("at") or ""

    live = []
    for name in clusters(record):
        cutover = done_at("phase5/%s" % in_cluster("dns-cutover", name))
        revert = done_at("phase5/%s" % in_cluster("dns-revert", name))
        rolled = any(s.get("phase") == "rollback" and cluster_of(s.get("id")) == name for s in steps)
        if cutover is not None and (revert is None or revert < cutover) and not rolled:
            live.append(name)
    return live


def clusters(record):
    """Every cluster the release's steps name, in the order they first appear."""
    seen = []
    for item in (record or {}).get("steps") or []:
        name = cluster_of(item.get("id"))
        if name and name not in seen:
            seen.append(name)
    return seen


def find_step(record, sid):
    for item in record.get("steps") or []:
        if item.get("id") == sid:
            return item
    return None


def find_run(record, run_id):
    for item in record.get("runs") or []:
        if item.get("id") == run_id:
            return item
    return None


def decide(step, inputs_digest):
    """What to do with a step about to run, given what the record says about it."""
    if step is None:
        return RUN
    status = step.get("status")
    if status == DONE:
        return SKIP if step.get("fingerprint") == inputs_digest else RETRY
    if status == STARTED:
        return RESUME
    return RETRY


# -- edits (each returns a new record; the input is never changed) ---------------------

# How a run took the lock from another one (``lock.decide_takeover``) -> its event.
TAKEOVER_EVENTS = {"take-over": "lock-taken-over", "break": "lock-broken", "force": "lock-force-broken"}
INTERRUPTED = "interrupted"


def open_run(record, run, now, took=None):
    """Add a run (``{id, holder, ...}``); ``took`` says whose lock it took and how
    (``{holder, how, why}``), recorded as an event naming the old run."""
    record = copy.deepcopy(record)
    if find_run(record, run["id"]) is None:
        entry = dict(run, started=now, status="running")
        if took:
            entry["broke_lock_of"] = took["holder"]
            event = TAKEOVER_EVENTS.get(took.get("how"), "lock-broken")
            record["events"].append({"at": now, "run": run["id"], "event": event, "holder": took["holder"],
                                     "old_run": took["holder"].get("run_id"), "why": took.get("why")})
        record["runs"].append(entry)
    record["updated"] = now
    return record


def interrupt_run(record, run_id, by, how, now):
    """Mark a run that lost its lock to run ``by`` as interrupted (a run that had ended
    keeps its status)."""
    record = copy.deepcopy(record)
    run = find_run(record, run_id)
    if run is not None and run.get("status") == "running":
        run["status"] = INTERRUPTED
        run["finished"] = now
        run["interrupted_by"] = {"run": by, "how": how, "at": now}
        record["updated"] = now
    return record


def close_run(record, run_id, status, now):
    record = copy.deepcopy(record)
    run = find_run(record, run_id)
    if run is not None:
        run["status"] = status
        run["finished"] = now
    record["updated"] = now
    return record


def begin_step(record, phase, step, run_id, inputs_digest, now, objects=None, undo=None, before=None):
    """Write a step's intent. The first attempt's ``undo``/``before`` are kept."""
    record = copy.deepcopy(record)
    sid = step_id(phase, step)
    entry = find_step(record, sid)
    if entry is None:
        entry = {"id": sid, "phase": phase, "step": step, "attempts": 0,
                 "intent": {"at": now, "run": run_id, "objects": objects or [], "undo": undo, "before": before}}
        record["steps"].append(entry)
    else:
        entry.setdefault("intent", {})
        if not entry["intent"].get("objects") and objects:
            entry["intent"]["objects"] = objects
        if entry["intent"].get("undo") is None and undo is not None:
            entry["intent"]["undo"] = undo
        if entry["intent"].get("before") is None and before is not None:
            entry["intent"]["before"] = before
    entry["attempts"] = int(entry.get("attempts") or 0) + 1
    entry["status"] = STARTED
    entry["fingerprint"] = inputs_digest
    entry["last_attempt"] = {"at": now, "run": run_id}
    record["updated"] = now
    return record


def finish_step(record, phase, step, run_id, status, now, changed=None, before=None, after=None,
                undo=None, outputs=None, error=None, duration=None):
    """Write a step's outcome. ``undo``/``before`` fill the intent's only where it had none."""
    if status not in (DONE, FAILED):
        raise ValueError("a step finishes as %s or %s, not %r" % (DONE, FAILED, status))
    record = copy.deepcopy(record)
    sid = step_id(phase, step)
    entry = find_step(record, sid)
    if entry is None:  # an outcome without an intent (a writer that skipped begin)
        record = begin_step(record, phase, step, run_id, None, now)
        entry = find_step(record, sid)
    intent = entry.setdefault("intent", {})
    if intent.get("undo") is None and undo is not None:
        intent["undo"] = undo
    if intent.get("before") is None and before is not None:
        intent["before"] = before
    if duration is None:
        duration = _seconds_between((entry.get("last_attempt") or {}).get("at"), now)
    outcome = {"at": now, "run": run_id, "status": status}
    for key, value in (("changed", changed), ("after", after), ("outputs", outputs), ("error", error),
                       ("duration", duration), ("before", before), ("undo", undo)):
        if value is not None:
            outcome[key] = value
    # Whether the release changed the world here, at any attempt (a repeat that found
    # nothing to do does not make an earlier change disappear).
    entry["changed"] = bool(entry.get("changed")) or bool(changed) or status == FAILED
    entry["status"] = status
    entry["outcome"] = outcome
    record["updated"] = now
    return record


def _seconds_between(start, end):
    """Seconds from one record time (``2026-11-29T10:00:00Z``) to another; None when either is
    missing or unreadable."""
    try:
        first, last = parse_time(start), parse_time(end)
    except ValueError:
        return None
    if first is None or last is None:
        return None
    return max(0.0, (last - first).total_seconds())


def add_event(record, run_id, event, now, details=None):
    """Append an event; ``details`` are its fields (``at``, ``run`` and ``event`` are the record's)."""
    record = copy.deepcopy(record)
    entry = dict(details or {}, at=now, run=run_id, event=event)
    record["events"].append(entry)
    record["updated"] = now
    return record


# -- reading --------------------------------------------------------------------------

def undo_plan(record, phase=None):
    """The steps that may have changed the world, newest first, with their undo.

    A ``started`` step is included (it may have acted before it was interrupted); a
    ``done`` step only when it changed something; a ``failed`` one always (a partial
    change is still a change).
    """
    plan = []
    for entry in reversed(record.get("steps") or []):
        if phase and entry.get("phase") != phase:
            continue
        status = entry.get("status")
        if status == DONE and not entry.get("changed"):
            continue
        plan.append({"id": entry["id"], "phase": entry.get("phase"), "step": entry.get("step"), "status": status,
                     "undo": (entry.get("intent") or {}).get("undo"),
                     "objects": (entry.get("intent") or {}).get("objects") or []})
    return plan


def summary(record):
    """A short description: counts of steps by status, the runs, the newest update."""
    counts = dict((status, 0) for status in STEP_STATUSES)
    for entry in record.get("steps") or []:
        counts[entry.get("status", STARTED)] = counts.get(entry.get("status", STARTED), 0) + 1
    return {"release": record.get("release"), "environment": record.get("environment"),
            "steps": counts, "runs": len(record.get("runs") or []), "updated": record.get("updated")}

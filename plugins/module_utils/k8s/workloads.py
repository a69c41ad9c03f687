# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Scale many Deployments/StatefulSets at once, and bring them back to their saved counts.

select (names, or a label selector across namespaces) -> plan (pure: each workload's target
count, and the count to save) -> one merge patch per workload, in parallel, that sets the
replicas and the saved count (annotation ``golive.io/saved-replicas``) together, guarded by
the resourceVersion just read -> wait (one deadline for all). The first scale-down saves the
counts; a later one keeps them, so an interrupted rollback re-run never saves a zero. A
restore takes each saved count from the annotation (else from the undo or the ledger), in
steps (``percent`` of it, rounded up), and drops the annotation at 100 %.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math
import time

from ansible_collections.golive.core.plugins.module_utils.common.journal import NoJournal
from ansible_collections.golive.core.plugins.module_utils.common.errors import (
    Conflict,
    GoliveError,
    InvalidInput,
    NotFound,
    Timeout,
)
from ansible_collections.golive.core.plugins.module_utils.common.paths import resource_path
from ansible_collections.golive.core.plugins.module_utils.k8s.diagnose import readiness, timeout_message
from ansible_collections.golive.core.plugins.module_utils.k8s.rollout import Rollout
from ansible_collections.golive.core.plugins.module_utils.k8s.select import match_labels, parallel, ref

SAVED = "golive.io/saved-replicas"


def saved_count(obj):
    text = ((obj.get("metadata") or {}).get("annotations") or {}).get(SAVED)
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        raise InvalidInput("read", "the saved replica count of %s" % ref(obj), "annotation %s is %r" % (SAVED, text))


def plan(objects, state, replicas=0, percent=100, recorded=None):
    """``[{ref, object, current, target, saved_before, saved_after, changed}]`` (pure).

    ``recorded`` maps a ref to a count from the undo or the ledger, used when the object
    has no annotation (someone removed it, or the object was recreated)."""
    steps = []
    anything_saved = any(saved_count(o) is not None or ref(o) in (recorded or {}) for o in objects)
    for obj in objects:
        current = int((obj.get("spec") or {}).get("replicas", 1))
        saved = saved_count(obj)
        if state == "scaled":
            target = int(replicas)
            keep = saved if saved is not None else current
        else:
            base = saved if saved is not None else (recorded or {}).get(ref(obj))
            if base is None and not anything_saved:  # restored before: nothing is saved any more
                steps.append({"ref": ref(obj), "object": obj, "current": current, "target": current,
                              "saved_before": None, "saved_after": None, "changed": False})
                continue
            if base is None:
                raise NotFound("restore", ref(obj), "no saved replica count: it has no %s annotation and the "
                                                    "undo does not name it" % SAVED,
                               fix="Scale it by hand, or give undo (what the scale-down returned)")
            target = int(math.ceil(int(base) * int(percent) / 100.0))
            keep = None if int(percent) >= 100 else int(base)
        steps.append({"ref": ref(obj), "object": obj, "current": current, "target": target,
                      "saved_before": saved, "saved_after": keep,
                      "changed": current != target or saved != keep})
    return steps


def patch_of(step):
    meta = step["object"]["metadata"]
    saved = None if step["saved_after"] is None else str(step["saved_after"])
    return {"metadata": {"resourceVersion": meta.get("resourceVersion"), "annotations": {SAVED: saved}},
            "spec": {"replicas": step["target"]}}


def undo_of(steps):
    return {"module": "golive.core.k8s_workloads", "state": "restored",
            "workloads": [{"kind": s["object"]["kind"], "namespace": s["object"]["metadata"]["namespace"],
                           "name": s["object"]["metadata"]["name"],
                           "replicas": s["saved_after"] if s["saved_after"] is not None else s["current"]}
                          for s in steps]}


def _recorded(undo):
    return dict(("%s %s/%s" % (w.get("kind") or "Deployment", w["namespace"], w["name"]), int(w["replicas"]))
                for w in (undo or {}).get("workloads") or [] if w.get("replicas") is not None)


def scale(kube, workloads=None, label_selector=None, namespaces=None, kinds=None, state="scaled", replicas=0,
          percent=100, undo=None, wait=True, check_mode=False, recorder=None):
    """Scale (or restore) the selected workloads; return the module result (see ``k8s_workloads``)."""
    started = time.monotonic()
    if not 1 <= int(percent) <= 100:
        raise InvalidInput("use", "percent", "%s is not between 1 and 100" % percent)
    if int(replicas) < 0:
        raise InvalidInput("use", "replicas", "a count is 0 or more")
    engine = Rollout(kube)
    objects = engine.select(workloads, label_selector, namespaces, kinds)
    journal = recorder or NoJournal()
    if state == "restored" and undo is None:
        undo = journal.recorded_undo("golive.core.k8s_workloads", "restored")
    steps = plan(objects, state, replicas, percent, _recorded(undo))
    changed = [s for s in steps if s["changed"]]
    undo_data = undo_of(steps) if state == "scaled" else (undo or undo_of(steps))
    result = {"changed": bool(changed), "undo": undo_data,
              "workloads": [{"workload": s["ref"], "current": s["current"], "target": s["target"],
                             "saved": s["saved_after"], "changed": s["changed"]} for s in steps],
              "diff": {"before": "".join("%s replicas=%d saved=%s\n" % (s["ref"], s["current"], s["saved_before"])
                                         for s in steps),
                       "after": "".join("%s replicas=%d saved=%s\n" % (s["ref"], s["target"], s["saved_after"])
                                        for s in steps)}}
    inputs = {"state": state, "replicas": replicas, "percent": percent, "objects": [s["ref"] for s in steps]}
    kept_undo = undo_data if state == "scaled" else None
    with journal.step(inputs, pending=bool(changed), objects=[s["ref"] for s in steps], undo=kept_undo,
                      before=dict((s["ref"], {"replicas": s["current"], "saved": s["saved_before"]})
                                  for s in steps)) as outcome:
        outcome.update(changed=result["changed"], undo=kept_undo)
        if not check_mode:
            recorded = _recorded(undo)
            errors = _apply(kube, engine, changed, lambda fresh: plan([fresh], state, replicas, percent, recorded)[0])
            if errors:
                for entry in result["workloads"]:
                    if entry["workload"] in errors:
                        entry["error"] = errors[entry["workload"]]
                raise GoliveError("scale", "%d of %d workload(s)" % (len(errors), len(steps)),
                                  "; ".join("%s: %s" % kv for kv in sorted(errors.items())),
                                  fix="The saved counts are intact: re-run to finish", result=result)
            if wait:
                latest, pending = engine.wait([s["object"] for s in steps], kube.deadline)
                for entry in result["workloads"]:
                    obj = latest.get(entry["workload"])
                    entry["ready"] = entry["workload"] not in pending
                    if obj is not None:
                        entry["ready_replicas"] = (obj.get("status") or {}).get("readyReplicas") or 0
                if pending:
                    diagnoses = dict((key, dict(engine.diagnose(latest[key]), missing=readiness(latest[key])[1]))
                                     for key in sorted(pending))
                    raise Timeout("scale", "%d workload(s)" % len(pending),
                                  timeout_message(pending, diagnoses, int(kube.deadline.seconds)), result=result)
                # Scaled to zero means no process left: Pods in their grace period still run
                # (and may still write), so wait until they are gone as well.
                left = _wait_pods_gone(kube, [s["object"] for s in steps if s["target"] == 0])
                if left:
                    raise Timeout("scale", "%d workload(s)" % len(left), "%d workload(s) scaled to 0 still have Pods "
                                  "within their grace period after %ss: %s" % (
                                      len(left), int(kube.deadline.seconds), "; ".join(
                                          "%s: %s" % (key, ", ".join(names)) for key, names in sorted(left.items()))),
                                  result=result)
        outcome["after"] = dict((s["ref"], {"replicas": s["target"], "saved": s["saved_after"]}) for s in steps)
    result["duration"] = round(time.monotonic() - started, 3)
    return result


def _wait_pods_gone(kube, objects):
    """``{workload: [Pod names]}`` of the workloads that still have Pods when the deadline
    ends (``{}`` once none has any): Terminating Pods count, their processes still run.
    Each round is one LIST of Pods per namespace, matched to the workloads' selectors here."""
    by_namespace = {}
    for obj in objects:
        if match_labels(obj):  # a workload without matchLabels cannot be told from others
            by_namespace.setdefault(obj["metadata"]["namespace"], []).append(obj)
    while True:
        left = {}
        for namespace, mine in sorted(by_namespace.items()):
            pods = kube.list(resource_path("v1", "pods", namespace))
            for obj in mine:
                wanted = match_labels(obj).items()
                names = [p["metadata"]["name"] for p in pods
                         if all((p["metadata"].get("labels") or {}).get(k) == v for k, v in wanted)]
                if names:
                    left[ref(obj)] = names
        if not left or kube.deadline.expired():
            return left
        time.sleep(min(0.2, max(kube.deadline.remaining(), 0.01)))


def _apply(kube, engine, steps, replan):
    """One merge patch per workload; a 409 (changed since read) re-reads and re-plans it."""
    def one(step):
        obj = step["object"]
        path = engine._path(obj["kind"], obj["metadata"]["namespace"], obj["metadata"]["name"])
        for attempt in range(3):
            try:
                return kube.request("PATCH", path, body=patch_of(step), content_type="application/merge-patch+json",
                                    what="scale %s" % step["ref"])
            except Conflict:
                step = replan(dict(kube.get(path), kind=obj["kind"]))
                if not step["changed"]:
                    return None
        raise Conflict("scale", step["ref"], "it kept changing under us", retryable=False)

    answers = parallel(one, steps)
    return dict((step["ref"], getattr(err, "cause", None) or str(err)) for step, answer, err in answers if err is not None)

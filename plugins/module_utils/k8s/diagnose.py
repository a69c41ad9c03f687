# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Why a workload is not rolled out: ``kubectl rollout status``'s rules, its Pods' states and
their Warning Events, and the message a timeout gives."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.golive.core.plugins.module_utils.common.paths import resource_path
from ansible_collections.golive.core.plugins.module_utils.k8s.select import selector_of


def readiness(obj):
    """``(done, missing)``: whether a workload has rolled out, and what is missing if not.

    The rules are ``kubectl rollout status``'s: the controller saw the newest generation,
    every replica runs the new template, none of the old ones is left, all are available.
    """
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    want = spec.get("replicas", 1)
    generation = obj["metadata"].get("generation") or 0
    if (status.get("observedGeneration") or 0) < generation:
        return False, "the controller has not seen generation %d yet" % generation
    updated = status.get("updatedReplicas") or 0
    ready = status.get("readyReplicas") or 0
    if obj.get("kind") == "StatefulSet":
        if updated < want:
            return False, "%d of %d replicas updated" % (updated, want)
        if ready < want:
            return False, "%d of %d replicas ready" % (ready, want)
        if status.get("updateRevision") and status.get("currentRevision") != status.get("updateRevision"):
            return False, "update revision %s not yet current" % status.get("updateRevision")
        return True, None
    for cond in status.get("conditions") or []:
        if cond.get("type") == "Progressing" and cond.get("reason") == "ProgressDeadlineExceeded":
            return False, "progress deadline exceeded (%s)" % cond.get("message", "")
    total = status.get("replicas") or 0
    available = status.get("availableReplicas") or 0
    if updated < want:
        return False, "%d of %d updated replicas" % (updated, want)
    if total > updated:
        return False, "%d old replicas pending termination" % (total - updated)
    if available < updated:
        return False, "%d of %d updated replicas available" % (available, updated)
    return True, None


def unready_pod(pod):
    """``None`` for a ready (or terminating) Pod; else its phase, why the scheduler left it
    (``Unschedulable`` and the scheduler's reason), the reasons its containers wait (a
    ``CrashLoopBackOff`` with the last exit code), and their restarts."""
    if pod["metadata"].get("deletionTimestamp"):
        return None
    status = pod.get("status") or {}
    statuses = status.get("containerStatuses") or []
    if statuses and all(s.get("ready") for s in statuses):
        return None
    waiting = []
    for cond in status.get("conditions") or []:
        if cond.get("type") == "PodScheduled" and cond.get("status") == "False":
            waiting.append("%s (%s)" % (cond.get("reason") or "not scheduled", cond.get("message") or "no reason given"))
    for item in statuses:
        state = (item.get("state") or {}).get("waiting")
        if not state:
            continue
        detail = [state["message"]] if state.get("message") else []
        last = (item.get("lastState") or {}).get("terminated") or {}
        if "exitCode" in last:
            detail.insert(0, "last exit code %s%s" % (last["exitCode"], ", %s" % last["reason"] if last.get("reason") else ""))
        waiting.append("%s: %s%s" % (item["name"], state.get("reason"), " (%s)" % "; ".join(detail) if detail else ""))
    return {"pod": pod["metadata"]["name"], "phase": status.get("phase"), "waiting": waiting,
            "restarts": sum(int(s.get("restartCount") or 0) for s in statuses)}


def workload_problems(obj):
    """What the workload's own status says stops it (pure): a paused Deployment, and a
    ``ReplicaFailure`` condition (its Pods cannot be created, for example a missing
    ServiceAccount)."""
    problems = []
    if (obj.get("spec") or {}).get("paused"):
        problems.append("the Deployment is paused (spec.paused); resume it (kubectl rollout resume) to roll out")
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "ReplicaFailure" and cond.get("status") == "True":
            problems.append("ReplicaFailure %s: %s" % (cond.get("reason"), cond.get("message")))
    return problems


def warning_events(kube, namespace, names, limit=10):
    """The newest distinct Warning Events of the named objects in ``namespace`` (one LIST)."""
    events = []
    for event in kube.list(resource_path("v1", "events", namespace), field_selector="type=Warning"):
        involved = (event.get("involvedObject") or {}).get("name")
        if involved in names:
            text = "%s %s: %s" % (involved, event.get("reason"), event.get("message"))
            if text not in events:
                events.append(text)
    return events[-limit:]


def diagnose(kube, obj, wanted_images, max_pods=5):
    """Why a workload is not there: its Pods' states and their Warning Events."""
    namespace = obj["metadata"]["namespace"]
    selector = selector_of(obj)
    pods = kube.list(resource_path("v1", "pods", namespace), label_selector=selector) if selector else []
    report = []
    for pod in pods:
        state = unready_pod(pod)
        if state is None:
            continue
        state["new_template"] = _images(pod) == wanted_images if "spec" in pod else False
        report.append(state)
    report = sorted(report, key=lambda p: (not p["new_template"], p["pod"]))[:max_pods]
    names = set(p["pod"] for p in report) | {obj["metadata"]["name"]}
    return {"pods": report, "events": warning_events(kube, namespace, names), "problems": workload_problems(obj)}


def _images(pod_or_template):
    spec = (pod_or_template or {}).get("spec") or {}
    return dict((c["name"], c.get("image")) for key in ("initContainers", "containers") for c in spec.get(key) or [])


def timeout_message(pending, diagnoses, seconds):
    parts = []
    for key in sorted(pending):
        diag = diagnoses.get(key) or {}
        detail = [diag.get("missing") or "not rolled out"] + diag.get("problems", [])
        for pod in diag.get("pods", [])[:1]:
            detail += ["pod %s: %s" % (pod["pod"], text) for text in pod.get("waiting", [])]
            if pod.get("restarts"):
                detail.append("pod %s restarted %d times" % (pod["pod"], pod["restarts"]))
        detail += [e for e in diag.get("events", [])[-2:] if not any(e.split(": ", 1)[-1] in d for d in detail)]
        parts.append("%s: %s" % (key, "; ".join(detail)))
    return "%d workload(s) not rolled out within %ss: %s" % (len(pending), seconds, " | ".join(parts))

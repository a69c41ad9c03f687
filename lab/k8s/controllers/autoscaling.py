"""The horizontal Pod autoscaler, as kube-controller-manager runs it over metrics-server.

Every ``SYNC`` seconds (the controller manager's ``--horizontal-pod-autoscaler-sync-period``
is 15 s; the lab is quicker) each ``autoscaling/v2`` HorizontalPodAutoscaler whose
``scaleTargetRef`` is a Deployment is reconciled:

- metrics: ``Resource`` metrics ``cpu`` and ``memory`` of the target's Pods, from the Pod
  runtime's own series (CPU seconds and resident memory of each Pod's process, sampled
  here: the CPU rate is the difference between two samples), against the containers'
  requests (``Utilization``) or per Pod (``AverageValue``). A Pod without a request for the
  resource, or no Pod with a sample yet, is ``ScalingActive=False``
  (``FailedGetResourceMetric``), with the controller manager's words. Other metric types
  are ``InvalidMetricSourceType``: the lab has no custom or external metrics API.
- the replica count: ``ceil(current * usage / target)`` per metric, the largest wins,
  unchanged within the 10 % tolerance; scale-up at most doubles (or adds 4) per sync,
  scale-down takes the highest recommendation of the stabilization window
  (``behavior.scaleDown.stabilizationWindowSeconds``, default 300 s); clamped to
  ``minReplicas``..``maxReplicas`` (``ScalingLimited``).
- the Deployment's ``spec.replicas`` is set, with a ``SuccessfulRescale`` Event; the
  status carries ``currentMetrics``, ``currentReplicas``, ``desiredReplicas``,
  ``lastScaleTime`` and the ``AbleToScale``/``ScalingActive``/``ScalingLimited`` conditions.
"""

from __future__ import annotations

import math
import re
import time

from .common import K_DEPLOY, K_POD, is_ready, now_iso, selector_from_match, set_condition

K_HPA = ("autoscaling", "horizontalpodautoscalers")
SYNC = 2.0
# A status whose only change is the metrics' current values is written at most this often
# (each write is a watch event for every watcher); replicas and conditions are written at once.
METRICS_WRITE_INTERVAL = 15.0
TOLERANCE = 0.1
DEFAULT_DOWNSCALE_WINDOW = 300.0
_SUFFIX = {"m": 1e-3, "": 1, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12,
           "Ki": 1024, "Mi": 1024 ** 2, "Gi": 1024 ** 3, "Ti": 1024 ** 4}


def quantity(text) -> float | None:
    """A Kubernetes quantity (``250m``, ``1``, ``64Mi``) as a number."""
    match = re.fullmatch(r"\s*([0-9.]+)(m|k|M|G|T|Ki|Mi|Gi|Ti)?\s*", str(text or ""))
    if not match:
        return None
    return float(match.group(1)) * _SUFFIX[match.group(2) or ""]


def cpu_text(cores: float) -> str:
    return "%dm" % round(cores * 1000)


def memory_text(value: float) -> str:
    return "%dMi" % round(value / 1024 ** 2) if value >= 1024 ** 2 else "%d" % value


def desired_for(current: int, usage: float, target: float) -> int:
    """The replica count one metric asks for (the controller manager's formula)."""
    if target <= 0 or current <= 0:
        return current
    ratio = usage / target
    if abs(ratio - 1.0) <= TOLERANCE:
        return current
    return max(1, math.ceil(current * ratio))


class Autoscaling:
    HANDLERS = {"hpa": "_h_hpa"}
    WATCHES = {K_HPA: lambda etype, ns, name: [] if etype == "DELETED" else [("hpa", ns, name)]}

    def _hpa_state(self) -> dict:
        if not hasattr(self, "_hpa_memory"):
            self._hpa_memory = {"samples": {}, "recommendations": {}}
        return self._hpa_memory

    def _h_hpa(self, ns: str, name: str) -> None:
        hpa = self.get(K_HPA, ns, name)
        state = self._hpa_state()
        if hpa is None or hpa["metadata"].get("deletionTimestamp"):
            state["recommendations"].pop((ns, name), None)
            return
        self.later(SYNC, "hpa", ns, name, periodic=True)
        spec, status = hpa.get("spec") or {}, dict(hpa.get("status") or {})  # get() answers a copy
        conds = status.get("conditions") or []
        ref = spec.get("scaleTargetRef") or {}
        target = self.get(K_DEPLOY, ns, ref.get("name", "")) if ref.get("kind") == "Deployment" else None
        if target is None:
            what = "%s.%s %r" % (str(ref.get("kind", "")).lower() + "s", (ref.get("apiVersion") or "").split("/")[0],
                                 ref.get("name"))
            conds = set_condition(conds, "AbleToScale", "False", "FailedGetScale",
                                  "the HPA controller was unable to get the target's current scale: %s not found"
                                  % what)
            self._hpa_status(hpa, dict(status, conditions=conds))
            return
        current = int((target.get("spec") or {}).get("replicas", 1))
        low, high = int(spec.get("minReplicas") or 1), int(spec.get("maxReplicas") or 1)
        conds = set_condition(conds, "AbleToScale", "True", "ReadyForNewScale",
                              "recommended size matches current size")
        if current == 0:  # scaled to zero by hand: autoscaling is off until it is scaled up again
            conds = set_condition(conds, "ScalingActive", "False", "ScalingDisabled",
                                  "scaling is disabled since the replica count of the target is zero")
            self._hpa_status(hpa, dict(status, currentReplicas=0, desiredReplicas=0, conditions=conds))
            return
        if current > high or current < low:  # out of bounds: to the bound, metrics or not
            desired = high if current > high else low
            self._hpa_rescale(hpa, target, desired, "Current number of replicas %s Spec.%s" % (
                ("above", "MaxReplicas") if current > high else ("below", "MinReplicas")))
            conds = set_condition(conds, "AbleToScale", "True", "SucceededRescale",
                                  "the HPA controller was able to update the target scale to %d" % desired)
            self._hpa_status(hpa, dict(status, currentReplicas=current, desiredReplicas=desired,
                                       lastScaleTime=now_iso(), conditions=conds))
            return
        pods = self._hpa_pods(ns, target)
        wanted, metrics, problem = [], [], None
        for metric in spec.get("metrics") or [{"type": "Resource", "resource": {
                "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}]:
            ok, result = self._hpa_metric(metric, pods)
            if not ok:
                problem = problem or result
                continue
            (usage, goal), observed = result
            wanted.append(desired_for(current, usage, goal))
            metrics.append(observed)
        if problem and not wanted:
            reason, message = problem
            # A Pod's first sample gives no rate yet: the Warning comes when a second sync still fails.
            failing = self._hpa_state().setdefault("failing", {})
            if failing.get((ns, name)) == reason and not any(
                    c.get("type") == "ScalingActive" and c.get("reason") == reason and c.get("status") == "False"
                    for c in conds):
                self.event(hpa, reason, message, etype="Warning", component="horizontal-pod-autoscaler")
            failing[(ns, name)] = reason
            conds = set_condition(conds, "ScalingActive", "False", reason,
                                  "the HPA was unable to compute the replica count: " + message)
            status.pop("currentMetrics", None)
            self._hpa_status(hpa, dict(status, currentReplicas=current, desiredReplicas=current, conditions=conds))
            return
        self._hpa_state().setdefault("failing", {}).pop((ns, name), None)
        recommended = max(wanted)
        conds = set_condition(conds, "ScalingActive", "True", "ValidMetricFound",
                              "the HPA was able to successfully calculate a replica count from %s"
                              % ", ".join(m["resource"]["name"] + (" resource utilization (percentage of request)"
                                                                   if "averageUtilization" in m["resource"]["current"]
                                                                   else " resource") for m in metrics))
        # Scale-down stabilization: the highest recommendation of the window wins.
        window = float(((spec.get("behavior") or {}).get("scaleDown") or {}).get(
            "stabilizationWindowSeconds", DEFAULT_DOWNSCALE_WINDOW))
        now = time.monotonic()
        history = [(t, r) for t, r in state["recommendations"].get((ns, name), []) if now - t <= window]
        history.append((now, recommended))
        state["recommendations"][(ns, name)] = history
        desired = recommended if recommended >= current else min(current, max(r for _, r in history))
        desired = min(desired, max(2 * current, current + 4))  # scale-up policy: double or +4 per sync
        limited = None
        if desired > high:
            desired, limited = high, ("TooManyReplicas", "the desired replica count is more than the maximum "
                                                         "replica count")
        elif desired < low:
            desired, limited = low, ("TooFewReplicas", "the desired replica count is less than the minimum "
                                                       "replica count")
        conds = set_condition(conds, "ScalingLimited", "True" if limited else "False",
                              *(limited or ("DesiredWithinRange", "the desired count is within the acceptable range")))
        status.update(currentReplicas=current, desiredReplicas=desired, currentMetrics=metrics)
        if desired != current:
            self._hpa_rescale(hpa, target, desired, "%s resource utilization (percentage of request) above target"
                              % metrics[0]["resource"]["name"] if desired > current else "All metrics below target")
            status["lastScaleTime"] = now_iso()
            conds = set_condition(conds, "AbleToScale", "True", "SucceededRescale",
                                  "the HPA controller was able to update the target scale to %d" % desired)
        status["conditions"] = conds
        self._hpa_status(hpa, status)

    def _hpa_rescale(self, hpa: dict, target: dict, desired: int, reason: str) -> None:
        target["spec"]["replicas"] = desired
        self.update(K_DEPLOY, target)
        self.event(hpa, "SuccessfulRescale", "New size: %d; reason: %s" % (desired, reason),
                   component="horizontal-pod-autoscaler")

    def _hpa_status(self, hpa: dict, status: dict) -> None:
        status["observedGeneration"] = hpa["metadata"].get("generation", 1)
        old = hpa.get("status") or {}
        key = (hpa["metadata"].get("namespace"), hpa["metadata"]["name"])
        written = self._hpa_state().setdefault("written", {})
        if old and dict(old, currentMetrics=None) == dict(status, currentMetrics=None) \
                and time.monotonic() - written.get(key, 0.0) < METRICS_WRITE_INTERVAL:
            return  # only the current values moved, and they were written a moment ago
        written[key] = time.monotonic()
        self.set_status(K_HPA, hpa, status)

    def _hpa_pods(self, ns: str, target: dict) -> list:
        match = selector_from_match((target.get("spec") or {}).get("selector"))
        return [entry.obj for entry in self.store.list(K_POD, ns)
                if match(entry.obj["metadata"].get("labels") or {})
                and not entry.obj["metadata"].get("deletionTimestamp")
                and (entry.obj.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]

    def _hpa_sample(self, pod: dict):
        """``(cpu cores, memory bytes)`` of a Ready Pod's process, or None: no process, or
        its first sample (a CPU rate needs two; samples closer than half a second reuse the
        last rate)."""
        if self.runtime is None or not is_ready(pod):
            return None
        uid = pod["metadata"]["uid"]
        usage = self.runtime.usage(uid)
        if usage is None:
            return None
        cpu_seconds, memory = usage
        samples = self._hpa_state()["samples"]
        now, previous = time.monotonic(), samples.get(uid)
        if previous is None:
            samples[uid] = (now, cpu_seconds, None)
            return None
        if now - previous[0] < 0.5:
            return None if previous[2] is None else (previous[2], memory)
        rate = max(0.0, (cpu_seconds - previous[1]) / (now - previous[0]))
        samples[uid] = (now, cpu_seconds, rate)
        return rate, memory

    def _hpa_metric(self, metric: dict, pods: list):
        """``(True, ((usage, target), currentMetrics entry))``, or ``(False, (reason, message))``."""
        if metric.get("type") != "Resource":
            return False, ("InvalidMetricSourceType", "the lab's metrics are Resource metrics only (cpu, memory); "
                                               "no custom or external metrics API serves %s" % metric.get("type"))
        resource = (metric.get("resource") or {}).get("name")
        goal = (metric.get("resource") or {}).get("target") or {}
        if resource not in ("cpu", "memory"):
            return False, ("FailedGetResourceMetric", "failed to get %s utilization: no metrics for resource %s"
                    % (resource, resource))
        used, requested, counted = 0.0, 0.0, 0
        for pod in pods:
            containers = (pod.get("spec") or {}).get("containers") or []
            if goal.get("type") == "Utilization":
                for container in containers:
                    request = quantity(((container.get("resources") or {}).get("requests") or {}).get(resource))
                    if request is None:
                        return False, ("FailedGetResourceMetric", "failed to get %s utilization: missing request for %s "
                                "in container %s of Pod %s" % (resource, resource, container.get("name"),
                                                                 pod["metadata"]["name"]))
            sample = self._hpa_sample(pod)
            if sample is None:
                continue
            counted += 1
            used += sample[0] if resource == "cpu" else sample[1]
            requested += sum(quantity(((c.get("resources") or {}).get("requests") or {}).get(resource)) or 0
                             for c in containers)
        if not counted:
            return False, ("FailedGetResourceMetric", "failed to get %s utilization: unable to get metrics for resource "
                    "%s: no metrics returned from resource metrics API" % (resource, resource))
        average = used / counted
        text = cpu_text(average) if resource == "cpu" else memory_text(average)
        if goal.get("type") == "Utilization":
            utilization = int(round(100.0 * used / requested)) if requested else 0
            wanted = float(goal.get("averageUtilization") or 80)
            return True, ((utilization, wanted), {"type": "Resource", "resource": {
                "name": resource, "current": {"averageUtilization": utilization, "averageValue": text}}})
        wanted = quantity(goal.get("averageValue"))
        if wanted is None:
            return False, ("FailedGetResourceMetric", "invalid target for %s: %r" % (resource, goal))
        return True, ((average, wanted), {"type": "Resource", "resource": {"name": resource, "current": {
            "averageValue": text}}})

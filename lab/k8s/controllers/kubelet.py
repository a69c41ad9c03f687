"""The simulated scheduler and kubelet: a node per Pod, then the Pod's start and readiness."""

from __future__ import annotations

import hashlib
import json

from .common import K_NODE, K_POD, LAB, controller_of, now_iso


def tolerated(taint: dict, tolerations: list) -> bool:
    """Whether one of ``tolerations`` tolerates ``taint``."""
    for t in tolerations or []:
        if t.get("effect") and t.get("effect") != taint.get("effect"):
            continue
        if t.get("operator") == "Exists" and (not t.get("key") or t.get("key") == taint.get("key")):
            return True
        if t.get("key") == taint.get("key") and t.get("value", "") == taint.get("value", ""):
            return True
    return False


def _untolerated(pod_spec: dict, node: dict) -> dict | None:
    """The first NoSchedule/NoExecute taint of ``node`` the Pod does not tolerate."""
    return next((taint for taint in (node.get("spec") or {}).get("taints") or []
                 if taint.get("effect") in ("NoSchedule", "NoExecute")
                 and not tolerated(taint, pod_spec.get("tolerations"))), None)


def tolerates(pod_spec: dict, node: dict) -> bool:
    return _untolerated(pod_spec, node) is None


def _expression(expr: dict, value) -> bool:
    op, values = expr.get("operator"), expr.get("values") or []
    if op == "In":
        return value is not None and value in values
    if op == "NotIn":
        return value is None or value not in values
    if op == "Exists":
        return value is not None
    if op == "DoesNotExist":
        return value is None
    if op in ("Gt", "Lt") and value is not None and values:
        try:
            return int(value) > int(values[0]) if op == "Gt" else int(value) < int(values[0])
        except ValueError:
            return False
    return False


def affinity_fits(pod_spec: dict, node: dict) -> bool:
    """nodeSelector and requiredDuringSchedulingIgnoredDuringExecution node affinity: every
    nodeSelector label, and one of the terms (each: all matchExpressions on the labels and all
    matchFields on metadata.name)."""
    labels = node["metadata"].get("labels") or {}
    if any(labels.get(k) != v for k, v in (pod_spec.get("nodeSelector") or {}).items()):
        return False
    required = (((pod_spec.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution") or {})
    terms = required.get("nodeSelectorTerms")
    if not terms:
        return True
    fields = {"metadata.name": node["metadata"]["name"]}
    for term in terms:
        exprs, matches = term.get("matchExpressions") or [], term.get("matchFields") or []
        if not exprs and not matches:
            continue  # an empty term matches no node
        if all(_expression(e, labels.get(e.get("key"))) for e in exprs) and \
                all(_expression(e, fields.get(e.get("key"))) for e in matches):
            return True
    return False


def misfit(pod_spec: dict, node: dict) -> str | None:
    """Why the scheduler filters ``node`` out for the Pod (its own words), or None."""
    if (node.get("spec") or {}).get("unschedulable") and not tolerated(
            {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}, pod_spec.get("tolerations")):
        return "node(s) were unschedulable"
    if not affinity_fits(pod_spec, node):
        return "node(s) didn't match Pod's node affinity/selector"
    taint = _untolerated(pod_spec, node)
    if taint is not None:
        return "node(s) had untolerated taint {%s: %s}" % (taint.get("key"), taint.get("value", ""))
    return None


def unschedulable_message(reasons: dict, total: int) -> str:
    """``0/3 nodes are available: ...`` as the scheduler writes it (reasons sorted)."""
    parts = ", ".join("%d %s" % (count, reason) for reason, count in sorted(reasons.items()))
    return ("0/%d nodes are available: %s. preemption: 0/%d nodes are available: %d Preemption is not helpful "
            "for scheduling." % (total, parts or "no nodes available to schedule pods", total, total))


class Kubelet:
    HANDLERS = {"kubelet": "_h_kubelet", "pod_start": "_h_pod_start", "reschedule": "_h_reschedule",
                "pod_gone": "_h_pod_gone"}
    WATCHES = {K_POD: lambda etype, ns, name: [] if etype == "DELETED" else [("kubelet", ns, name)],
               K_NODE: lambda etype, ns, name: [("reschedule",)]}

    # -- the simulated kubelet and scheduler ---------------------------------------------
    def _pick_node(self, pod: dict) -> tuple[str | None, str | None]:
        """``(node, None)`` for a node that fits the Pod, else ``(None, why)`` in the
        scheduler's words. Nodes are taken in turn among those that fit."""
        nodes = [e.obj for e in self.store.list(K_NODE)]
        spec = pod.get("spec") or {}
        reasons: dict = {}
        fit = []
        for node in nodes:
            why = misfit(spec, node)
            if why is None:
                fit.append(node)
            else:
                reasons[why] = reasons.get(why, 0) + 1
        if not fit:
            return None, unschedulable_message(reasons, len(nodes))
        self.node_rr += 1
        return fit[self.node_rr % len(fit)]["metadata"]["name"], None

    def _h_pod_gone(self, ns: str, name: str, uid: str) -> None:
        """The containers of a Terminating Pod have stopped: the kubelet removes it."""
        pod = self.get(K_POD, ns, name)
        if pod is None or pod["metadata"]["uid"] != uid or pod["metadata"].get("finalizers"):
            return
        self.cluster.delete(self.res(K_POD), ns, name, grace=0)

    def _h_reschedule(self) -> None:
        """A node changed (labels, taints, cordon): the Pods no node took are tried again."""
        for entry in self.store.list(K_POD):
            pod = entry.obj
            if not (pod.get("spec") or {}).get("nodeName") and not pod["metadata"].get("deletionTimestamp"):
                self.enqueue("kubelet", pod["metadata"]["namespace"], pod["metadata"]["name"])

    def _unschedulable(self, pod: dict, message: str) -> None:
        status = dict(pod.get("status") or {})
        scheduled = next((c for c in status.get("conditions") or [] if c.get("type") == "PodScheduled"), {})
        if scheduled.get("status") == "False" and scheduled.get("message") == message:
            return
        status["phase"] = "Pending"
        status["conditions"] = [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                                 "message": message, "lastProbeTime": None, "lastTransitionTime": now_iso()}]
        self.set_status(K_POD, pod, status)
        self.event(pod, "FailedScheduling", message, "Warning", component="default-scheduler")

    def _h_kubelet(self, ns: str, name: str) -> None:
        pod = self.get(K_POD, ns, name)
        if pod is None or pod["metadata"].get("deletionTimestamp"):
            return
        status = pod.get("status") or {}
        # A created Pod is Pending with no host yet (as the API server answers a create); one
        # this kubelet took on has a host, and one past Pending is running or done.
        if status.get("phase") not in (None, "Pending") or status.get("hostIP"):
            return
        spec = pod.get("spec") or {}
        if not spec.get("nodeName"):
            node_name, why = self._pick_node(pod)
            if node_name is None:
                self._unschedulable(pod, why)
                return
            pod["spec"]["nodeName"] = node_name
            pod = self.update(K_POD, pod)
            pod = json.loads(json.dumps(pod))
        self.ip += 1
        node = self.get(K_NODE, "", pod["spec"]["nodeName"]) or {}
        host_ip = next((a["address"] for a in (node.get("status") or {}).get("addresses") or []
                        if a.get("type") == "InternalIP"), "192.168.49.2")
        ip = f"10.244.{self.ip // 250 % 250}.{self.ip % 250 + 2}"
        now = now_iso()
        pending = {"phase": "Pending", "hostIP": host_ip, "hostIPs": [{"ip": host_ip}],
                   "podIP": ip, "podIPs": [{"ip": ip}], "startTime": now, "qosClass": "BestEffort",
                   "conditions": [{"type": "PodScheduled", "status": "True", "lastTransitionTime": now}],
                   "containerStatuses": [{"name": c.get("name"), "image": c.get("image"), "imageID": "",
                                          "ready": False, "started": False, "restartCount": 0,
                                          "state": {"waiting": {"reason": "ContainerCreating"}}}
                                         for c in spec.get("containers") or []]}
        self.set_status(K_POD, pod, pending)
        self.event(pod, "Scheduled", f"Successfully assigned {ns}/{name} to {pod['spec']['nodeName']}",
                   component="default-scheduler")
        self.later(self.config.controller_delay, "pod-start", ns, name, pod["metadata"]["uid"])

    def _h_pod_start(self, ns: str, name: str, uid: str) -> None:
        pod = self.get(K_POD, ns, name)
        if pod is None or pod["metadata"]["uid"] != uid or pod["metadata"].get("deletionTimestamp"):
            return
        status = dict(pod.get("status") or {})
        if status.get("phase") != "Pending":
            return
        if self.runtime is not None and self.runtime.handles(pod):
            self.start_process(pod)  # a real process (controllers/pods.py)
            return
        ann = pod["metadata"].get("annotations") or {}
        owner = controller_of(pod) or {}
        now = now_iso()
        containers = (pod.get("spec") or {}).get("containers") or []

        def image_id(image: str) -> str:
            if "@sha256:" in image:
                return image
            return f"{image.split(':')[0]}@sha256:{hashlib.sha256(image.encode()).hexdigest()}"

        if owner.get("kind") == "Job" or (pod.get("spec") or {}).get("restartPolicy") in ("Never", "OnFailure") \
                and owner.get("kind") != "ReplicaSet":
            failed = ann.get(LAB + "fail") == "true"
            status["phase"] = "Failed" if failed else "Succeeded"
            status["conditions"] = [
                {"type": "PodScheduled", "status": "True", "lastTransitionTime": now},
                {"type": "Initialized", "status": "True", "lastTransitionTime": now},
                {"type": "Ready", "status": "False", "reason": "PodCompleted", "lastTransitionTime": now},
                {"type": "ContainersReady", "status": "False", "reason": "PodCompleted", "lastTransitionTime": now}]
            status["containerStatuses"] = [
                {"name": c.get("name"), "image": c.get("image"), "imageID": image_id(c.get("image", "")),
                 "ready": False, "started": False, "restartCount": 0,
                 "containerID": f"containerd://{hashlib.sha256((uid + str(c.get('name'))).encode()).hexdigest()}",
                 "state": {"terminated": {"exitCode": 1 if failed else 0,
                                          "reason": "Error" if failed else "Completed",
                                          "startedAt": now, "finishedAt": now}}} for c in containers]
            self.set_status(K_POD, pod, status)
            return
        ready = ann.get(LAB + "ready", "true") != "false"
        flag = "True" if ready else "False"
        status["phase"] = "Running"
        status["conditions"] = [
            {"type": "PodReadyToStartContainers", "status": "True", "lastTransitionTime": now},
            {"type": "Initialized", "status": "True", "lastTransitionTime": now},
            {"type": "Ready", "status": flag, "lastTransitionTime": now,
             **({} if ready else {"reason": "ContainersNotReady",
                                  "message": "containers with unready status: [" +
                                             " ".join(c.get("name", "") for c in containers) + "]"})},
            {"type": "ContainersReady", "status": flag, "lastTransitionTime": now},
            {"type": "PodScheduled", "status": "True", "lastTransitionTime": now}]
        status["containerStatuses"] = [
            {"name": c.get("name"), "image": c.get("image"), "imageID": image_id(c.get("image", "")),
             "ready": ready, "started": True, "restartCount": 0,
             "containerID": f"containerd://{hashlib.sha256((uid + str(c.get('name'))).encode()).hexdigest()}",
             "state": {"running": {"startedAt": now}}} for c in containers]
        self.set_status(K_POD, pod, status)
        for c in containers:
            self.event(pod, "Started", f"Started container {c.get('name')}", component="kubelet")
        if not ready:
            self.event(pod, "Unhealthy", "Readiness probe failed: HTTP probe failed with statuscode: 503", "Warning",
                       component="kubelet")

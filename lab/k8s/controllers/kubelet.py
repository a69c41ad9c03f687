"""The simulated scheduler and kubelet: a node per Pod, then the Pod's start and readiness."""

from __future__ import annotations

import hashlib
import json

from .common import K_NODE, K_POD, LAB, controller_of, now_iso


def tolerates(pod_spec: dict, node: dict) -> bool:
    tolerations = pod_spec.get("tolerations") or []
    for taint in (node.get("spec") or {}).get("taints") or []:
        if taint.get("effect") not in ("NoSchedule", "NoExecute"):
            continue
        ok = False
        for t in tolerations:
            if t.get("effect") and t.get("effect") != taint.get("effect"):
                continue
            if t.get("operator") == "Exists" and (not t.get("key") or t.get("key") == taint.get("key")):
                ok = True
            elif t.get("key") == taint.get("key") and t.get("value", "") == taint.get("value", ""):
                ok = True
        if not ok:
            return False
    return True


class Kubelet:
    HANDLERS = {"kubelet": "_h_kubelet", "pod_start": "_h_pod_start"}
    WATCHES = {K_POD: lambda etype, ns, name: [] if etype == "DELETED" else [("kubelet", ns, name)]}

    # -- the simulated kubelet and scheduler ---------------------------------------------
    def _pick_node(self, pod: dict) -> str:
        nodes = [e.obj for e in self.store.list(K_NODE)]
        spec = pod.get("spec") or {}
        selector = spec.get("nodeSelector") or {}
        fit = [n for n in nodes if not (n.get("spec") or {}).get("unschedulable")
               and all((n["metadata"].get("labels") or {}).get(k) == v for k, v in selector.items())
               and tolerates(spec, n)]
        pool = fit or nodes
        if not pool:
            return "lab-node-1"
        self.node_rr += 1
        return pool[self.node_rr % len(pool)]["metadata"]["name"]

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
            pod["spec"]["nodeName"] = self._pick_node(pod)
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

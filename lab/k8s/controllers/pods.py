"""The kubelet's side of the Pod runtime (``lab/k8s/runtime.py``): starting a Pod of a lab
image as a process, and writing what its probes and its process do into the Pod's status
and Events, as a kubelet would (``ErrImagePull``/``ImagePullBackOff``,
``CreateContainerConfigError``, ``Unhealthy``, ``BackOff``, ``Killing``)."""

from __future__ import annotations

import base64

import hashlib

from lab.app import catalog

from ..runtime import local_command
from .common import K_POD, now_iso

K_CONFIGMAP = ("", "configmaps")
K_SECRET = ("", "secrets")
RETRY_PULL = 5.0
RETRY_CONFIG = 1.0


class ConfigError(Exception):
    """A referenced Secret or ConfigMap (or key) is missing."""


class Pods:
    HANDLERS = {"pod_probe": "_h_pod_probe", "pod_exited": "_h_pod_exited", "pod_killed": "_h_pod_killed",
                "pod_finished": "_h_pod_finished"}
    WATCHES: dict = {}

    # -- configuration ----------------------------------------------------------------
    def _source(self, kind: str, ns: str, name: str) -> dict:
        key = K_SECRET if kind == "secret" else K_CONFIGMAP
        obj = self.get(key, ns, name)
        if obj is None:
            raise ConfigError(f'{kind} "{name}" not found')
        if kind == "secret":
            return dict((k, base64.b64decode(v).decode("utf-8", "replace")) for k, v in (obj.get("data") or {}).items())
        return dict(obj.get("data") or {})

    def container_env(self, pod: dict, container: dict) -> dict:
        """The environment of a container: envFrom, then env (values and references)."""
        ns = pod["metadata"]["namespace"]
        env: dict = {}
        for item in container.get("envFrom") or []:
            for kind, ref in (("secret", item.get("secretRef")), ("configmap", item.get("configMapRef"))):
                if ref:
                    try:
                        values = self._source(kind, ns, ref["name"])
                    except ConfigError:
                        if ref.get("optional"):
                            continue
                        raise
                    env.update((item.get("prefix", "") + k, v) for k, v in values.items())
        for item in container.get("env") or []:
            if "value" in item:
                env[item["name"]] = str(item["value"])
                continue
            source = item.get("valueFrom") or {}
            for kind, ref in (("secret", source.get("secretKeyRef")), ("configmap", source.get("configMapKeyRef"))):
                if ref:
                    values = self._source(kind, ns, ref["name"])
                    if ref["key"] not in values:
                        raise ConfigError(f'couldn\'t find key {ref["key"]} in {kind.replace("configmap", "ConfigMap").replace("secret", "Secret")} {ns}/{ref["name"]}')
                    env[item["name"]] = values[ref["key"]]
            field = (source.get("fieldRef") or {}).get("fieldPath")
            if field:
                env[item["name"]] = {"metadata.name": pod["metadata"]["name"], "metadata.namespace": ns,
                                     "spec.nodeName": pod["spec"].get("nodeName", "")}.get(field, "")
        return env

    # -- start ------------------------------------------------------------------------
    def start_process(self, pod: dict) -> None:
        meta = pod["metadata"]
        ns, name, uid = meta["namespace"], meta["name"], meta["uid"]
        container = pod["spec"]["containers"][0]
        status = dict(pod.get("status") or {})
        waiting = (status.get("containerStatuses") or [{}])[0].get("state", {}).get("waiting", {}).get("reason")
        try:
            if local_command(container) is None:
                catalog.resolve(container["image"])
            env = self.container_env(pod, container)
        except catalog.PullError as exc:
            reason = "ImagePullBackOff" if waiting in ("ErrImagePull", "ImagePullBackOff") else "ErrImagePull"
            self._waiting(pod, reason, str(exc) if reason == "ErrImagePull" else
                          f'Back-off pulling image "{container["image"]}"')
            if reason == "ErrImagePull":
                self.event(pod, "Failed", f'Failed to pull image "{container["image"]}": {exc}', "Warning",
                           component="kubelet")
                self.event(pod, "Failed", "Error: ErrImagePull", "Warning", component="kubelet")
            else:
                self.event(pod, "BackOff", f'Back-off pulling image "{container["image"]}"', "Warning",
                           component="kubelet")
            self.later(RETRY_PULL if reason == "ImagePullBackOff" else 1.0, "pod-start", ns, name, uid, periodic=True)
            return
        except ConfigError as exc:
            if waiting != "CreateContainerConfigError":
                self.event(pod, "Failed", f"Error: {exc}", "Warning", component="kubelet")
            self._waiting(pod, "CreateContainerConfigError", str(exc))
            self.later(RETRY_CONFIG, "pod-start", ns, name, uid, periodic=True)
            return
        proc = self.runtime.start(pod, env)
        now = now_iso()
        status.update({
            "phase": "Running", "podIP": proc.address, "podIPs": [{"ip": proc.address}],
            "conditions": self._conditions(False, now, container),
            "containerStatuses": [self._container_status(container, uid, False, proc.restarts, now)]})
        self.set_status(K_POD, pod, status)
        self.event(pod, "Pulled", f'Container image "{container["image"]}" already present on machine',
                   component="kubelet")
        self.event(pod, "Created", f"Created container {container['name']}", component="kubelet")
        self.event(pod, "Started", f"Started container {container['name']}", component="kubelet")

    def _waiting(self, pod: dict, reason: str, message: str) -> None:
        status = dict(pod.get("status") or {})
        container = pod["spec"]["containers"][0]
        status["containerStatuses"] = [{"name": container["name"], "image": container["image"], "imageID": "",
                                        "ready": False, "started": False, "restartCount": 0,
                                        "state": {"waiting": {"reason": reason, "message": message}}}]
        status["conditions"] = self._conditions(False, now_iso(), container, reason="ContainersNotReady")
        self.set_status(K_POD, pod, status)

    @staticmethod
    def _conditions(ready: bool, now: str, container: dict, reason: str = "ContainersNotReady") -> list:
        flag = "True" if ready else "False"
        extra = {} if ready else {"reason": reason, "message": f"containers with unready status: [{container['name']}]"}
        return [{"type": "PodReadyToStartContainers", "status": "True", "lastTransitionTime": now},
                {"type": "Initialized", "status": "True", "lastTransitionTime": now},
                dict({"type": "Ready", "status": flag, "lastTransitionTime": now}, **extra),
                dict({"type": "ContainersReady", "status": flag, "lastTransitionTime": now}, **extra),
                {"type": "PodScheduled", "status": "True", "lastTransitionTime": now}]

    @staticmethod
    def _container_status(container: dict, uid: str, ready: bool, restarts: int, started: str,
                          last: dict | None = None) -> dict:
        image = container["image"]
        if "@sha256:" in image:
            image_id = image
        elif catalog.is_lab_image(image):
            image_id = "%s@sha256:%s" % (image.split(":")[0], catalog.digest(*image.split("/", 1)[1].split(":", 1)))
        else:
            image_id = "%s@sha256:%s" % (image.split(":")[0], hashlib.sha256(image.encode()).hexdigest())
        out = {"name": container["name"], "image": image, "imageID": image_id,
               "containerID": f"lab://{uid}", "ready": ready, "started": True, "restartCount": restarts,
               "state": {"running": {"startedAt": started}}}
        if last:
            out["lastState"] = {"terminated": last}
        return out

    # -- what the runtime saw ---------------------------------------------------------
    def _running_pod(self, ns: str, name: str, uid: str) -> dict | None:
        pod = self.get(K_POD, ns, name)
        if pod is None or pod["metadata"]["uid"] != uid or pod["metadata"].get("deletionTimestamp"):
            return None
        return pod

    def _container_changed(self, ns: str, name: str, uid: str, ready: bool, exited: dict | None = None):
        """Write the container's readiness (and, when it ``exited``, its last state) into
        the Pod's status; returns the Pod, or None when it is gone."""
        pod = self._running_pod(ns, name, uid)
        proc = self.runtime.pods.get(uid)
        if pod is None or proc is None:
            return None
        container = pod["spec"]["containers"][0]
        status = dict(pod.get("status") or {})
        now = now_iso()
        previous = (status.get("containerStatuses") or [{}])[0]
        if exited is not None:
            started, last, restarts = now, dict(exited, finishedAt=now), proc.restarts + 1
        else:
            started = ((previous.get("state") or {}).get("running") or {}).get("startedAt") or now
            last, restarts = (previous.get("lastState") or {}).get("terminated"), proc.restarts
        status["conditions"] = self._conditions(ready, now, container)
        status["containerStatuses"] = [self._container_status(container, uid, ready, restarts, started, last)]
        self.set_status(K_POD, pod, status)
        return pod

    def _h_pod_probe(self, ns: str, name: str, uid: str, ready: bool, why: str) -> None:
        pod = self._container_changed(ns, name, uid, ready)
        if pod is not None and not ready and why:
            self.event(pod, "Unhealthy", why, "Warning", component="kubelet")

    def _h_pod_exited(self, ns: str, name: str, uid: str, code: int, tail: str, backoff: float = 10.0) -> None:
        """The container ended and will be started again after ``backoff``: waiting in
        ``CrashLoopBackOff`` with the exit in ``lastState``, as the kubelet reports it."""
        pod = self._running_pod(ns, name, uid)
        proc = self.runtime.pods.get(uid)
        if pod is None or proc is None:
            return
        container = pod["spec"]["containers"][0]
        cname = container["name"]
        now = now_iso()
        status = dict(pod.get("status") or {})
        previous = (status.get("containerStatuses") or [{}])[0]
        started = ((previous.get("state") or {}).get("running") or {}).get("startedAt") or now
        entry = self._container_status(container, uid, False, proc.restarts + 1, started, {
            "exitCode": code, "reason": "Error" if code else "Completed", "message": tail, "startedAt": started,
            "finishedAt": now})
        entry["started"] = False
        entry["state"] = {"waiting": {"reason": "CrashLoopBackOff", "message": (
            f"back-off {int(backoff) if backoff >= 1 else backoff}s restarting failed container={cname} "
            f"pod={name}_{ns}({uid})")}}
        status["conditions"] = self._conditions(False, now, container)
        status["containerStatuses"] = [entry]
        self.set_status(K_POD, pod, status)
        self.event(pod, "BackOff", f"Back-off restarting failed container {cname} in pod {name}_{ns}({uid})",
                   "Warning", component="kubelet")

    def _h_pod_finished(self, ns: str, name: str, uid: str, code: int, tail: str) -> None:
        """The container ended and its Pod does not restart it: ``Succeeded`` or ``Failed``."""
        pod = self.get(K_POD, ns, name)
        if pod is None or pod["metadata"]["uid"] != uid:
            return
        container = pod["spec"]["containers"][0]
        now = now_iso()
        status = dict(pod.get("status") or {})
        previous = (status.get("containerStatuses") or [{}])[0]
        started = ((previous.get("state") or {}).get("running") or {}).get("startedAt") or now
        entry = self._container_status(container, uid, False, int(previous.get("restartCount") or 0), started)
        entry["started"] = False
        entry["state"] = {"terminated": {"exitCode": code, "reason": "Completed" if code == 0 else "Error",
                                         "startedAt": started, "finishedAt": now,
                                         **({"message": tail} if tail and code else {})}}
        status["phase"] = "Succeeded" if code == 0 else "Failed"
        conditions = self._conditions(False, now, container, reason="PodCompleted")
        for cond in conditions:
            if cond["type"] in ("Ready", "ContainersReady"):
                cond.pop("message", None)
        status["conditions"] = conditions
        status["containerStatuses"] = [entry]
        self.set_status(K_POD, pod, status)

    def _h_pod_killed(self, ns: str, name: str, uid: str, why: str) -> None:
        pod = self._running_pod(ns, name, uid)
        if pod is None:
            return
        container = pod["spec"]["containers"][0]
        self.event(pod, "Unhealthy", why, "Warning", component="kubelet")
        self.event(pod, "Killing", f"Container {container['name']} failed liveness probe, will be restarted",
                   component="kubelet")

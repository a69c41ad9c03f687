"""The Pod runtime: Pods of the lab's own images, and containers whose command exists on
this machine (``sleep``, ``true``, ``false``, ``sh -c ...``), run as real local processes.

A Pod whose container image is ``registry.lab.example/<app>:<tag>`` (``lab/app``) gets a
loopback address of its own (``127.<n>.x.y``, ``n`` from the state dir, so two labs on
one machine never share an address; the Pod's ``podIP``, so Endpoints carry the
real address and the container's own port) and a process running that image. Its
probes are real: an HTTP GET every ``periodSeconds``; readiness decides the Pod's Ready
condition, a failing liveness probe restarts the process (``restartCount`` grows), a
process that exits is restarted with back-off. Deleting the Pod sends SIGTERM and, after
``terminationGracePeriodSeconds``, SIGKILL.

A container of another image runs its ``command`` + ``args`` when the command is one of
``LOCAL_COMMANDS`` and found on this machine: its exit code, restarts (``CrashLoopBackOff``)
and, for ``restartPolicy: Never``/``OnFailure``, the Pod's end (``Succeeded``/``Failed``) are
real. Other containers keep the kubelet's simulation (Ready after ``controller_delay``).

Threads here never touch the store: they queue what they saw (``pod-probe``,
``pod-exited``) for the controller thread, which writes status and Events. Processes die
with the API server (``PR_SET_PDEATHSIG``), and ``stop_all`` ends them on a clean stop.
"""

from __future__ import annotations

import ctypes
import hashlib
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from lab.app import catalog

PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # runs in the child before exec
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass


# Commands a container of any image may run here as a real process (no image to pull: the
# machine's own binaries, with the container's environment, in a scratch directory).
LOCAL_COMMANDS = ("sleep", "true", "false", "sh", "echo", "env", "cat")


def local_command(container: dict) -> list | None:
    """The argv a container runs here (``command`` + ``args``), or None when it has no
    command or its command is not one this machine runs for it."""
    command = list(container.get("command") or [])
    if not command or os.path.basename(str(command[0])) not in LOCAL_COMMANDS:
        return None
    found = shutil.which(str(command[0]))
    if found is None:
        return None
    return [found] + [str(a) for a in command[1:]] + [str(a) for a in container.get("args") or []]


def container_port(container: dict, port) -> int | None:
    """A probe's or Service's port (a number, or a container port's name)."""
    if isinstance(port, int) or (isinstance(port, str) and port.isdigit()):
        return int(port)
    for item in container.get("ports") or []:
        if item.get("name") == port:
            return int(item["containerPort"])
    return None


def main_port(container: dict) -> int:
    """The container's first declared port (8080 when it declares none)."""
    return next((int(p["containerPort"]) for p in container.get("ports") or []), 8080)


def probe_settings(container: dict, kind: str) -> dict | None:
    probe = container.get(kind)
    if not probe or "httpGet" not in probe:
        return None
    get = probe["httpGet"]
    return {"path": get.get("path") or "/", "port": container_port(container, get.get("port")),
            "period": float(probe.get("periodSeconds") or 10), "timeout": float(probe.get("timeoutSeconds") or 1),
            "failures": int(probe.get("failureThreshold") or 3), "successes": int(probe.get("successThreshold") or 1),
            "delay": float(probe.get("initialDelaySeconds") or 0)}


def http_probe(address: str, port: int, path: str, timeout: float) -> tuple[bool, str]:
    conn = http.client.HTTPConnection(address, port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"User-Agent": "kube-probe/1.30"})
        resp = conn.getresponse()
        body = resp.read(200).decode("utf-8", "replace").strip()
        if 200 <= resp.status < 400:
            return True, ""
        return False, f"HTTP probe failed with statuscode: {resp.status}" + (f" ({body})" if body else "")
    except OSError as exc:
        return False, f'Get "http://{address}:{port}{path}": {exc}'
    finally:
        conn.close()


class PodProcess:
    """One running Pod: its process, its address, its probers."""

    def __init__(self, runtime: "PodRuntime", pod: dict, container: dict, env: dict, address: str) -> None:
        meta = pod["metadata"]
        self.argv = local_command(container)  # None: the lab's own image
        self.restart_policy = (pod.get("spec") or {}).get("restartPolicy") or "Always"
        self.runtime = runtime
        self.uid, self.namespace, self.name = meta["uid"], meta["namespace"], meta["name"]
        self.container = container
        self.image = container["image"]
        self.env = env
        self.address = address
        self.port = main_port(container)
        self.proc: subprocess.Popen | None = None
        self.restarts = 0
        self.stopping = False
        self.ready = None
        self.started_at = time.time()
        self.log = runtime.log_dir / f"pod-{self.namespace}-{self.name}.log"

    def spawn(self) -> None:
        if self.argv is not None:
            argv, cwd = self.argv, str(self.runtime.log_dir)
            env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": "/", "HOSTNAME": self.name}
        else:
            argv = [self.runtime.python, "-m", "lab.app", "--image", self.image, "--listen",
                    f"{self.address}:{self.port}"]
            cwd, env = str(self.runtime.repo_root), dict(os.environ)
            env["PYTHONPATH"] = str(self.runtime.repo_root)
        env.update(self.env)
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=cwd,
                                         preexec_fn=_die_with_parent, close_fds=True)
        self.started_at = time.time()
        self.runtime.write_listing()

    def run(self) -> None:
        """The kubelet's loop for this Pod: probes, liveness restarts, crash restarts."""
        readiness = probe_settings(self.container, "readinessProbe")
        liveness = probe_settings(self.container, "livenessProbe")
        ok_streak = fail_streak = live_fail = 0
        next_ready = time.monotonic() + (readiness["delay"] if readiness else 0)
        next_live = time.monotonic() + (liveness["delay"] if liveness else 0)
        backoff = 1.0
        while not self.stopping:
            now = time.monotonic()
            if self.proc is not None and self.proc.poll() is not None and not self.stopping:
                code = self.proc.returncode
                if self.restart_policy == "Never" or (self.restart_policy == "OnFailure" and code == 0):
                    # Done for good: the Pod ends Succeeded or Failed with this exit code.
                    self.runtime.report("pod-finished", self, code, self._tail())
                    self.runtime.finished(self.uid)
                    return
                self.ready = False
                self.runtime.report("pod-exited", self, code, self._tail(), backoff)
                time.sleep(backoff)
                backoff = min(backoff * 2, 10.0)
                if self.stopping:
                    return
                self.restarts += 1
                self.spawn()
                self.ready = None  # the next probe reports, with the new restart count
                ok_streak = fail_streak = live_fail = 0
                continue
            if readiness is None:
                if self.ready is None:
                    self._report_ready(True, "")
            elif now >= next_ready:
                next_ready = now + readiness["period"]
                ok, why = http_probe(self.address, readiness["port"] or self.port, readiness["path"],
                                     readiness["timeout"])
                if ok:
                    ok_streak, fail_streak = ok_streak + 1, 0
                    if ok_streak >= readiness["successes"]:
                        self._report_ready(True, "")
                        backoff = 1.0
                else:
                    ok_streak, fail_streak = 0, fail_streak + 1
                    if fail_streak >= readiness["failures"]:
                        self._report_ready(False, "Readiness probe failed: " + why)
                        fail_streak = 0  # report again after another failureThreshold
                    elif self.ready is None:
                        self._report_ready(False, "")  # starting: not ready yet, nothing to report
            if liveness is not None and now >= next_live:
                next_live = now + liveness["period"]
                ok, why = http_probe(self.address, liveness["port"] or self.port, liveness["path"],
                                     liveness["timeout"])
                live_fail = 0 if ok else live_fail + 1
                if live_fail >= liveness["failures"] and not self.stopping:
                    self.runtime.report("pod-killed", self, "Liveness probe failed: " + why)
                    self.terminate(grace=1.0)
                    if self.stopping:
                        return  # deleted meanwhile: no new process for a Pod that is gone
                    self.restarts += 1
                    self.spawn()
                    self.ready = None  # the next probe reports, with the new restart count
                    live_fail = ok_streak = fail_streak = 0
                    continue
            time.sleep(0.1)

    def _report_ready(self, ready: bool, why: str) -> None:
        # A change is reported; a failure that goes on is reported again (as Events repeat).
        if ready != self.ready or (not ready and why):
            self.ready = ready
            self.runtime.report("pod-probe", self, ready, why)

    def _tail(self) -> str:
        try:
            lines = self.log.read_text(errors="replace").strip().splitlines()
        except OSError:
            return ""
        return lines[-1][:200] if lines else ""

    def terminate(self, grace: float) -> None:
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=max(grace, 0.1))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


class PodRuntime:
    """Starts, watches and stops the processes of the lab's Pods."""

    def __init__(self, state_dir: Path, report, python: str | None = None) -> None:
        self.state_dir = Path(state_dir)
        self.log_dir = self.state_dir / "pods"
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.repo_root = Path(__file__).resolve().parent.parent.parent
        self.python = python or sys.executable
        self._report = report
        self.lock = threading.Lock()
        # One writer of the listings at a time: rows read and files written under it, so
        # a listing computed earlier can never replace a newer one (two Pods ending at once).
        self.listing_lock = threading.Lock()
        self.pods: dict[str, PodProcess] = {}
        self.terminating: dict[str, PodProcess] = {}  # deleted, within their grace period
        self.listing = self.state_dir / "pods.json"
        self.targets = self.state_dir / "file_sd.json"
        # Each lab its own 127.<n>.0.0/16 (n from the state dir), addresses checked free.
        n = 16 + int(hashlib.sha256(str(self.state_dir.resolve()).encode()).hexdigest(), 16) % 200
        self.address_pool = [f"127.{n}.{third}.{fourth}" for third in range(0, 8) for fourth in range(2, 255)]
        self.write_listing()

    @staticmethod
    def handles(pod: dict) -> bool:
        containers = (pod.get("spec") or {}).get("containers") or []
        return bool(containers) and (catalog.is_lab_image(containers[0].get("image", ""))
                                     or local_command(containers[0]) is not None)

    def finished(self, uid: str) -> None:
        """A Pod whose process ended for good (``restartPolicy`` Never or OnFailure)."""
        with self.lock:
            self.pods.pop(uid, None)
        self.write_listing()

    def report(self, what: str, pod: PodProcess, *details) -> None:
        self._report(what, pod.namespace, pod.name, pod.uid, *details)

    def _address(self, port: int) -> str:
        used = set(p.address for p in list(self.pods.values()) + list(self.terminating.values()))
        for address in self.address_pool:
            if address in used:
                continue
            with socket.socket() as probe:
                try:
                    probe.bind((address, port))
                except OSError:
                    continue  # something else listens there
            return address
        raise RuntimeError("no free Pod address left")

    def usage(self, uid: str) -> tuple[float, int] | None:
        """What the kubelet's cAdvisor would report of a Pod: the CPU seconds its process has
        used (user + system) and its resident memory, from ``/proc``; None without a process."""
        pod = self.pods.get(uid)
        proc = pod.proc if pod is not None else None
        if proc is None or proc.poll() is not None:
            return None
        try:
            with open(f"/proc/{proc.pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{proc.pid}/statm") as statm:
                resident = int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError, ValueError):
            return None
        ticks = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / ticks, resident  # utime, stime

    def start(self, pod: dict, env: dict) -> PodProcess:
        """Run the Pod's first container; raises ``catalog.PullError`` for an unknown image."""
        container = pod["spec"]["containers"][0]
        if local_command(container) is None:
            catalog.resolve(container["image"])
        with self.lock:
            running = self.pods.get(pod["metadata"]["uid"])
            if running is not None:
                return running
            proc = PodProcess(self, pod, container, env, self._address(main_port(container)))
            self.pods[proc.uid] = proc
        proc.spawn()
        threading.Thread(target=proc.run, name=f"pod-{proc.name}", daemon=True).start()
        return proc

    def stop(self, uid: str, grace: float = 30.0, then=None) -> None:
        """SIGTERM now, SIGKILL after ``grace``, in the background (deletion returns at once);
        ``then`` is called once the process is gone."""
        with self.lock:
            proc = self.pods.pop(uid, None)
            if proc is None:
                if then is not None:
                    then()
                return
            self.terminating[uid] = proc
        proc.stopping = True
        self.write_listing()

        def finish():
            proc.terminate(grace)
            with self.lock:
                self.terminating.pop(uid, None)
            self.write_listing()
            if then is not None:
                then()

        threading.Thread(target=finish, name=f"stop-{proc.name}", daemon=True).start()

    def stop_all(self, grace: float = 5.0) -> None:
        with self.lock:
            procs = list(self.pods.values()) + list(self.terminating.values())
            self.pods.clear()
            self.terminating.clear()
        for proc in procs:
            proc.stopping = True
        threads = [threading.Thread(target=p.terminate, args=(grace,)) for p in procs]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(grace + 6)
        self.write_listing()

    def write_listing(self) -> None:
        with self.listing_lock:
            self._write_listing()

    def _write_listing(self) -> None:
        with self.lock:
            rows = [{"namespace": p.namespace, "pod": p.name, "container": p.container.get("name"), "image": p.image,
                 "address": f"{p.address}:{p.port}",
                     "pid": p.proc.pid if p.proc else None, "restarts": p.restarts,
                     "terminating": p.uid in self.terminating}
                    for p in sorted(list(self.pods.values()) + list(self.terminating.values()),
                                    key=lambda p: (p.namespace, p.name))]
        tmp = self.listing.with_suffix(".tmp")
        tmp.write_text(json.dumps(rows, indent=1) + "\n")
        os.replace(tmp, self.listing)
        # Prometheus file_sd: the running Pods' metrics endpoints, which follow every rollout.
        targets = [{"targets": [row["address"]],
                    "labels": {"namespace": row["namespace"], "pod": row["pod"], "container": row["container"] or "",
                               "app": row["image"].split("/")[-1].split(":")[0]}}
                   for row in rows if not row["terminating"]]
        tmp = self.targets.with_suffix(".tmp")
        tmp.write_text(json.dumps(targets, indent=1) + "\n")
        os.replace(tmp, self.targets)

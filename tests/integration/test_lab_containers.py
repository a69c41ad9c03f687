"""Containers of images other than the lab's own, whose command this machine has, run as
real processes in the lab: exit codes, crash-loop restarts and Job completion are real."""

import json
import os
import time
import uuid

import pytest

from helpers import kubectl, wait


@pytest.fixture
def namespace(lab):
    name = "t-run-%s" % uuid.uuid4().hex[:8]
    kubectl(lab, "create", "namespace", name)
    yield name
    kubectl(lab, "delete", "namespace", name, "--wait=false", check=False)


def apply(lab, namespace, obj):
    path = "/tmp/golive-%s.json" % uuid.uuid4().hex
    with open(path, "w") as handle:
        json.dump(obj, handle)
    kubectl(lab, "-n", namespace, "apply", "-f", path)


def get(lab, namespace, kind, name):
    return json.loads(kubectl(lab, "-n", namespace, "get", kind, name, "-o", "json").stdout)


def pod_of_job(lab, namespace, job):
    items = json.loads(kubectl(lab, "-n", namespace, "get", "pods", "-l", "job-name=%s" % job, "-o", "json").stdout)
    return items["items"][0] if items["items"] else None


def test_a_container_that_exits_1_crash_loops_with_its_exit_code_and_restarts(lab, namespace):
    apply(lab, namespace, {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "crash"},
                           "spec": {"containers": [{"name": "app", "image": "busybox:1.36", "command": ["false"]}]}})
    status = wait(lambda: (lambda s: s if s.get("restartCount", 0) >= 2 else None)(
        (get(lab, namespace, "pod", "crash")["status"].get("containerStatuses") or [{}])[0]),
        timeout=60, what="two restarts")
    assert status["ready"] is False
    assert status["lastState"]["terminated"]["exitCode"] == 1 and status["lastState"]["terminated"]["reason"] == "Error"
    waiting = wait(lambda: (get(lab, namespace, "pod", "crash")["status"]["containerStatuses"][0]["state"]
                            .get("waiting")), timeout=30, what="the back-off")
    assert waiting["reason"] == "CrashLoopBackOff" and "restarting failed container=app" in waiting["message"]
    shown = kubectl(lab, "-n", namespace, "get", "pod", "crash").stdout
    assert "CrashLoopBackOff" in shown or "Error" in shown
    events = kubectl(lab, "-n", namespace, "get", "events", "--field-selector", "reason=BackOff").stdout
    assert "Back-off restarting failed container app" in events


def test_a_job_runs_its_command_for_as_long_as_it_takes_and_ends_with_its_exit_code(lab, namespace):
    def job(name, command):
        return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name}, "spec": {
            "backoffLimit": 0, "template": {"spec": {"restartPolicy": "Never", "containers": [
                {"name": "work", "image": "busybox:1.36", "command": command}]}}}}

    apply(lab, namespace, job("long", ["sleep", "600"]))
    apply(lab, namespace, job("fails", ["sh", "-c", "echo giving up; exit 3"]))
    apply(lab, namespace, job("quick", ["true"]))
    done = wait(lambda: (lambda p: p if p and p["status"].get("phase") == "Succeeded" else None)(
        pod_of_job(lab, namespace, "quick")), timeout=60, what="the quick Job's Pod to succeed")
    assert done["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 0
    failed = wait(lambda: (lambda p: p if p and p["status"].get("phase") == "Failed" else None)(
        pod_of_job(lab, namespace, "fails")), timeout=60, what="the failing Job's Pod to fail")
    terminated = failed["status"]["containerStatuses"][0]["state"]["terminated"]
    assert (terminated["exitCode"], terminated["reason"]) == (3, "Error") and "giving up" in terminated["message"]
    wait(lambda: any(c["type"] == "Failed" and c["status"] == "True"
                     for c in get(lab, namespace, "job", "fails")["status"].get("conditions") or []),
         timeout=60, what="the Job Failed")
    wait(lambda: any(c["type"] == "Complete" and c["status"] == "True"
                     for c in get(lab, namespace, "job", "quick")["status"].get("conditions") or []),
         timeout=60, what="the Job Complete")
    long = pod_of_job(lab, namespace, "long")
    assert long["status"]["phase"] == "Running"  # sleep 600 is still running, as it would be
    assert not get(lab, namespace, "job", "long")["status"].get("succeeded")


def test_a_deleted_pod_is_terminating_until_its_process_ends_within_the_grace_period(lab, lab_instance, namespace):
    listing = lab_instance.state_dir / "k8s" / "pods.json"

    def process():
        return next((r for r in json.loads(listing.read_text())
                     if (r["namespace"], r["pod"]) == (namespace, "stubborn")), None)

    apply(lab, namespace, {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "stubborn"}, "spec": {
        "terminationGracePeriodSeconds": 3,
        "containers": [{"name": "app", "image": "busybox:1.36", "command": ["sh", "-c", "trap '' TERM; sleep 600"]}]}})
    wait(lambda: get(lab, namespace, "pod", "stubborn")["status"].get("phase") == "Running", timeout=30,
         what="the Pod running")
    pid = wait(lambda: (process() or {}).get("pid"), timeout=10, what="the Pod's process")
    kubectl(lab, "-n", namespace, "delete", "pod", "stubborn", "--wait=false")
    deleted = time.monotonic()
    terminating = get(lab, namespace, "pod", "stubborn")
    assert terminating["metadata"]["deletionGracePeriodSeconds"] == 3
    assert "Terminating" in kubectl(lab, "-n", namespace, "get", "pod", "stubborn").stdout
    assert process()["terminating"] is True and os.path.exists("/proc/%d" % pid)  # SIGTERM ignored: still there
    # Killed when the grace period ends, and only then is the Pod gone.
    wait(lambda: kubectl(lab, "-n", namespace, "get", "pod", "stubborn", check=False).returncode != 0,
         timeout=30, what="the Pod gone")
    assert time.monotonic() - deleted >= 2.5
    assert process() is None and not _alive(pid)


def _alive(pid):
    try:
        state = open("/proc/%d/stat" % pid).read().split(") ")[1][0]
    except OSError:
        return False
    return state not in "ZX"


def test_a_readiness_probe_starts_after_its_initial_delay(lab, namespace):
    import datetime
    image = ("registry.lab.example/maintenance:1@sha256:"
             "af5bf4b8d487b2cd3f855eb20402aea1b6dedf40a967bb682c389345dcefa592")
    apply(lab, namespace, {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "slow"}, "spec": {
        "containers": [{"name": "page", "image": image, "ports": [{"name": "http", "containerPort": 8080}],
                        "readinessProbe": {"httpGet": {"path": "/healthz", "port": "http"},
                                           "initialDelaySeconds": 4, "periodSeconds": 1}}]}})

    def ready():
        pod = get(lab, namespace, "pod", "slow")
        cond = next((c for c in pod["status"].get("conditions") or [] if c["type"] == "Ready"), {})
        return pod if cond.get("status") == "True" else None

    pod = wait(ready, timeout=60, what="the Pod Ready")
    started = pod["status"]["containerStatuses"][0]["state"]["running"]["startedAt"]
    became = next(c for c in pod["status"]["conditions"] if c["type"] == "Ready")["lastTransitionTime"]

    def at(text):
        return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ")

    # Whole seconds on both sides: at least the delay less one second of rounding.
    assert (at(became) - at(started)).total_seconds() >= 3

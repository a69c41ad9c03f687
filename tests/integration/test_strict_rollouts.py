"""Rollouts a real cluster refuses or stalls, on the lab as strict as one: a pager's
template changed so that no node fits it, so that it names a missing ServiceAccount, or so
that its container exits 1. Each rollout fails naming the cluster's reason, and the previous
version keeps serving through the router. Each test has a pager of its own (``own_pager``),
so none waits for the shared one."""

import json

import pytest

from helpers import kubectl, request, run_module

CONTAINER = "pager"


def rollout(lab, app, template, timeout=6):
    return run_module("k8s_rollout", {
        "kubeconfig": lab["k8s"]["kubeconfig"],
        "workloads": [{"kind": "Deployment", "namespace": app["namespace"], "name": "pager"}],
        "template": template, "timeout": timeout})


def still_serving(app):
    status, headers, _, _ = request(app, host=app["host"], scheme="http")
    assert status == 200 and headers["X-App-Version"] == "2026.11.2"


@pytest.mark.parametrize("template,named", [
    ({"spec": {"nodeSelector": {"disktype": "nvme"}}},
     ["Unschedulable", "didn't match Pod's node affinity/selector"]),
    ({"spec": {"serviceAccountName": "pager-runner"}},
     ["ReplicaFailure FailedCreate", 'serviceaccount "pager-runner" not found']),
    ({"spec": {"containers": [{"name": CONTAINER, "command": ["false"]}]}},
     ["CrashLoopBackOff", "last exit code 1, Error"]),
], ids=["unschedulable", "missing-service-account", "exits-1"])
def test_a_rollout_the_cluster_refuses_fails_naming_why_and_the_old_version_serves(lab, own_pager, template,
                                                                                   named):
    rc, result, _ = rollout(lab, own_pager, template)
    assert rc != 0 and result.get("failed"), result
    for text in named:
        assert text in result["msg"], result["msg"]
    still_serving(own_pager)
    if "command" in json.dumps(template):
        pods = json.loads(kubectl(lab, "-n", own_pager["namespace"], "get", "pods", "-l",
                                  "app.kubernetes.io/name=pager", "-o", "json").stdout)
        crashing = [s for p in pods["items"] for s in p["status"].get("containerStatuses") or []
                    if ((s.get("state") or {}).get("waiting") or {}).get("reason") == "CrashLoopBackOff"
                    or (s.get("lastState") or {}).get("terminated", {}).get("exitCode") == 1]
        assert crashing and crashing[0]["restartCount"] >= 1

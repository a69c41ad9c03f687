"""Rollouts a real cluster refuses or stalls, on the lab as strict as one: the pager's
template changed so that no node fits it, so that it names a missing ServiceAccount, or so
that its container exits 1. Each rollout fails naming the cluster's reason, and the previous
version keeps serving through the router."""

import json

import pytest

from helpers import kubectl, request, run_module, wait

pytestmark = pytest.mark.xdist_group("pager")

CONTAINER = "pager"


def rollout(lab, template, timeout=12):
    app = lab["app"]
    return run_module("k8s_rollout", {
        "kubeconfig": lab["k8s"]["kubeconfig"],
        "workloads": [{"kind": "Deployment", "namespace": app["namespace"], "name": app["deployment"]}],
        "template": template, "timeout": timeout})


def put_back(lab):
    """The template as the pager runs it: no node selector, its own account, its own command."""
    kubectl(lab, "patch", "deployment/pager", "--type", "strategic", "-p", json.dumps({"spec": {"template": {"spec": {
        "nodeSelector": None, "serviceAccountName": None, "serviceAccount": None,
        "containers": [{"name": CONTAINER, "command": None}]}}}}))
    kubectl(lab, "rollout", "status", "deployment/pager", "--timeout=90s")


def still_serving(lab):
    status, headers, _, _ = request(lab["app"])
    assert status == 200 and headers["X-App-Version"] == "2026.11.2"


@pytest.mark.parametrize("template,named", [
    ({"spec": {"nodeSelector": {"disktype": "nvme"}}},
     ["Unschedulable", "didn't match Pod's node affinity/selector"]),
    ({"spec": {"serviceAccountName": "pager-runner"}},
     ["ReplicaFailure FailedCreate", 'serviceaccount "pager-runner" not found']),
    ({"spec": {"containers": [{"name": CONTAINER, "command": ["false"]}]}},
     ["CrashLoopBackOff", "last exit code 1, Error"]),
], ids=["unschedulable", "missing-service-account", "exits-1"])
def test_a_rollout_the_cluster_refuses_fails_naming_why_and_the_old_version_serves(lab, pager, template, named):
    try:
        rc, result, _ = rollout(lab, template)
        assert rc != 0 and result.get("failed"), result
        for text in named:
            assert text in result["msg"], result["msg"]
        still_serving(lab)
        if "command" in json.dumps(template):
            pods = json.loads(kubectl(lab, "get", "pods", "-l", "app.kubernetes.io/name=pager", "-o", "json").stdout)
            crashing = [s for p in pods["items"] for s in p["status"].get("containerStatuses") or []
                        if ((s.get("state") or {}).get("waiting") or {}).get("reason") == "CrashLoopBackOff"
                        or (s.get("lastState") or {}).get("terminated", {}).get("exitCode") == 1]
            assert crashing and crashing[0]["restartCount"] >= 1
    finally:
        put_back(lab)
    wait(lambda: request(lab["app"])[0] == 200, what="the pager to answer after the put-back")

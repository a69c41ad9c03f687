"""What the rollout diagnosis names when a cluster refuses or stalls a rollout."""

from ansible_collections.golive.core.plugins.module_utils.k8s import diagnose

UNSCHEDULABLE = ("0/4 nodes are available: 4 node(s) didn't match Pod's node affinity/selector. preemption: "
                 "0/4 nodes are available: 4 Preemption is not helpful for scheduling.")


def pod(name, status):
    return {"metadata": {"name": name}, "status": status}


def test_an_unschedulable_pod_names_the_schedulers_reason():
    state = diagnose.unready_pod(pod("web-1", {"phase": "Pending", "conditions": [
        {"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": UNSCHEDULABLE}]}))
    assert state["waiting"] == ["Unschedulable (%s)" % UNSCHEDULABLE] and state["phase"] == "Pending"


def test_a_crash_loop_names_the_exit_code_and_the_restarts():
    state = diagnose.unready_pod(pod("web-1", {"phase": "Running", "containerStatuses": [
        {"name": "app", "ready": False, "restartCount": 4,
         "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 10s restarting failed container"}},
         "lastState": {"terminated": {"exitCode": 1, "reason": "Error"}}}]}))
    assert state["waiting"] == ["app: CrashLoopBackOff (last exit code 1, Error; back-off 10s restarting failed "
                                "container)"]
    assert state["restarts"] == 4


def test_a_paused_deployment_and_a_replica_failure_are_named():
    obj = {"metadata": {"name": "web"}, "spec": {"paused": True}, "status": {"conditions": [
        {"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate",
         "message": 'pods "web-1" is forbidden: error looking up service account shop/ghost: serviceaccount '
                    '"ghost" not found'}]}}
    problems = diagnose.workload_problems(obj)
    assert problems[0].startswith("the Deployment is paused")
    assert problems[1].startswith("ReplicaFailure FailedCreate: pods \"web-1\" is forbidden") and "ghost" in problems[1]


def test_the_timeout_message_carries_problems_pods_and_restarts():
    text = diagnose.timeout_message({"Deployment shop/web"}, {"Deployment shop/web": {
        "missing": "0 of 2 updated replicas available", "problems": ["ReplicaFailure FailedCreate: no account"],
        "pods": [{"pod": "web-1", "waiting": ["app: CrashLoopBackOff (last exit code 1)"], "restarts": 3}],
        "events": ["web-1 BackOff: Back-off restarting failed container"]}}, 60)
    assert text == ("1 workload(s) not rolled out within 60s: Deployment shop/web: 0 of 2 updated replicas available; "
                    "ReplicaFailure FailedCreate: no account; pod web-1: app: CrashLoopBackOff (last exit code 1); "
                    "pod web-1 restarted 3 times; web-1 BackOff: Back-off restarting failed container")

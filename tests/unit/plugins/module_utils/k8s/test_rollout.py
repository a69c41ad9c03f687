"""k8s_rollout's pure parts: the template merge, the plan, and when a workload has rolled out."""

import pytest

from ansible_collections.golive.core.plugins.module_utils.common.errors import InvalidInput, NotFound
from ansible_collections.golive.core.plugins.module_utils.k8s import rollout


def deployment(name="web", image="r/web:1", generation=2, status=None, hash_label=True):
    labels = {"app": name}
    if hash_label:
        labels["pod-template-hash"] = "abc"
    return {"kind": "Deployment", "metadata": {"name": name, "namespace": "shop", "generation": generation,
                                               "annotations": {rollout.REVISION: "3"}},
            "spec": {"replicas": 2, "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "web", "image": image}, {"name": "sidecar", "image": "r/s:1"}]}}},
            "status": status or {}}


@pytest.mark.parametrize("base,patch,expected", [
    ({"a": 1, "b": {"c": 2}}, {"b": {"d": 3}}, {"a": 1, "b": {"c": 2, "d": 3}}),
    ({"a": 1}, {"a": None}, {}),
    ({"l": [1, 2]}, {"l": [3]}, {"l": [3]}),
    ({"c": [{"name": "x", "image": "1"}, {"name": "y"}]}, {"c": [{"name": "x", "image": "2"}, {"name": "z"}]},
     {"c": [{"name": "x", "image": "2"}, {"name": "y"}, {"name": "z"}]}),
])
def test_merge(base, patch, expected):
    assert rollout.merge(base, patch) == expected


def test_plan_sets_images_by_container_and_ignores_controller_labels():
    steps = rollout.plan([deployment()], images={"web": "r/web:2"})
    assert steps[0]["changed"] and steps[0]["after"]["spec"]["containers"][0]["image"] == "r/web:2"
    assert steps[0]["after"]["spec"]["containers"][1]["image"] == "r/s:1"
    assert "pod-template-hash" not in steps[0]["after"]["metadata"]["labels"]
    assert not rollout.plan([deployment(image="r/web:2")], images={"web": "r/web:2"})[0]["changed"]


def test_plan_refuses_an_image_for_a_container_nobody_has():
    with pytest.raises(InvalidInput) as exc:
        rollout.plan([deployment()], images={"api": "r/api:2"})
    assert "api" in str(exc.value) and "sidecar, web" in str(exc.value)


def test_plan_to_recorded_targets_and_a_missing_one():
    target = rollout.comparable(deployment(image="r/web:0")["spec"]["template"])
    steps = rollout.plan([deployment()], targets={"Deployment shop/web": target})
    assert steps[0]["changed"] and steps[0]["after"] == target
    with pytest.raises(NotFound):
        rollout.plan([deployment()], targets={})


def test_record_of_keeps_what_a_rollback_needs():
    record = rollout.record_of(deployment())
    assert record == {"kind": "Deployment", "namespace": "shop", "name": "web", "revision": "3", "replicas": 2,
                      "images": {"web": "r/web:1", "sidecar": "r/s:1"},
                      "template": rollout.comparable(deployment()["spec"]["template"])}


@pytest.mark.parametrize("status,done,missing", [
    ({"observedGeneration": 1}, False, "has not seen generation 2"),
    ({"observedGeneration": 2, "updatedReplicas": 1, "replicas": 2}, False, "1 of 2 updated replicas"),
    ({"observedGeneration": 2, "updatedReplicas": 2, "replicas": 3, "availableReplicas": 2}, False,
     "1 old replicas pending termination"),
    ({"observedGeneration": 2, "updatedReplicas": 2, "replicas": 2, "availableReplicas": 1}, False,
     "1 of 2 updated replicas available"),
    ({"observedGeneration": 2, "updatedReplicas": 2, "replicas": 2, "availableReplicas": 2}, True, None),
    ({"observedGeneration": 2, "conditions": [
        {"type": "Progressing", "reason": "ProgressDeadlineExceeded", "message": "too slow"}]},
     False, "progress deadline exceeded"),
])
def test_deployment_readiness(status, done, missing):
    result = rollout.readiness(deployment(status=status))
    assert result[0] is done
    assert (missing is None and result[1] is None) or missing in result[1]


@pytest.mark.parametrize("status,done", [
    ({"observedGeneration": 2, "updatedReplicas": 2, "readyReplicas": 2, "currentRevision": "a",
      "updateRevision": "a"}, True),
    ({"observedGeneration": 2, "updatedReplicas": 2, "readyReplicas": 1}, False),
    ({"observedGeneration": 2, "updatedReplicas": 2, "readyReplicas": 2, "currentRevision": "a",
      "updateRevision": "b"}, False),
])
def test_statefulset_readiness(status, done):
    obj = dict(deployment(status=status), kind="StatefulSet")
    assert rollout.readiness(obj)[0] is done


def test_timeout_message_names_workload_reason_and_event():
    text = rollout.timeout_message({"Deployment shop/web"}, {"Deployment shop/web": {
        "missing": "0 of 2 updated replicas available",
        "events": ["web-1 Unhealthy: Readiness probe failed: HTTP probe failed with statuscode: 503"],
        "pods": [{"waiting": []}]}}, 60)
    assert text.startswith("1 workload(s) not rolled out within 60s: Deployment shop/web: 0 of 2")
    assert "Readiness probe failed" in text

"""k8s_workloads against the lab API server: many workloads scaled to zero in parallel with
their counts saved (annotation and undo), idempotent, a second scale-down that keeps the
first saved counts, a gradual restore, a restore from the undo when the annotation is gone,
check mode that changes nothing, and a clear refusal."""

import uuid

import pytest

from ansible_collections.golive.core.plugins.module_utils.common.errors import InvalidInput, NotFound
from ansible_collections.golive.core.plugins.module_utils.k8s import workloads
from ansible_collections.golive.core.plugins.module_utils.ledger.run import Ledger, StepRecorder

from helpers import lab_kube as client, workload_manifest as _workload


@pytest.fixture
def shop(k8s_lab):
    tag = uuid.uuid4().hex[:6]
    kube = client(k8s_lab)
    namespace = "sc-%s" % tag
    kube.request("POST", "/api/v1/namespaces", body={"metadata": {"name": namespace}})
    for kind, name, replicas in (("Deployment", "web", 3), ("Deployment", "api", 2), ("StatefulSet", "db", 1)):
        body = _workload(kind, name, tag)
        body["spec"]["replicas"] = replicas
        plural = "deployments" if kind == "Deployment" else "statefulsets"
        kube.request("POST", "/apis/apps/v1/namespaces/%s/%s" % (namespace, plural), body=body)
    kube.close()
    return {"namespace": namespace, "selector": "part-of=" + tag}


def scale(k8s_lab, shop, **kwargs):
    kube = client(k8s_lab)
    try:
        return workloads.scale(kube, label_selector=shop["selector"], namespaces=[shop["namespace"]],
                               kinds=["Deployment", "StatefulSet"], **kwargs)
    finally:
        kube.close()


def counts(k8s_lab, shop):
    kube = client(k8s_lab)
    try:
        found = {}
        for plural in ("deployments", "statefulsets"):
            for obj in kube.get("/apis/apps/v1/namespaces/%s/%s" % (shop["namespace"], plural))["items"]:
                found[obj["metadata"]["name"]] = (obj["spec"]["replicas"], (obj["metadata"].get("annotations") or {})
                                                  .get(workloads.SAVED), (obj.get("status") or {}).get("replicas", 0))
        return found
    finally:
        kube.close()


def test_scale_to_zero_saves_the_counts_and_a_gradual_restore_brings_them_back(k8s_lab, shop):
    planned = scale(k8s_lab, shop, check_mode=True)
    assert planned["changed"] is True
    assert [(w["workload"].split("/")[1], w["current"], w["target"]) for w in planned["workloads"]] == [
        ("api", 2, 0), ("web", 3, 0), ("db", 1, 0)]
    assert counts(k8s_lab, shop) == {"web": (3, None, 3), "api": (2, None, 2), "db": (1, None, 1)}

    down = scale(k8s_lab, shop)
    assert down["changed"] is True
    assert counts(k8s_lab, shop) == {"web": (0, "3", 0), "api": (0, "2", 0), "db": (0, "1", 0)}
    assert sorted((w["name"], w["replicas"]) for w in down["undo"]["workloads"]) == [("api", 2), ("db", 1), ("web", 3)]
    again = scale(k8s_lab, shop)
    assert again["changed"] is False and again["undo"] == down["undo"]  # the first saved counts are kept

    half = scale(k8s_lab, shop, state="restored", percent=50)
    assert counts(k8s_lab, shop) == {"web": (2, "3", 2), "api": (1, "2", 1), "db": (1, "1", 1)}
    assert half["changed"] is True and all(w["ready"] for w in half["workloads"])
    scale(k8s_lab, shop)  # back to zero in the middle of a restore: the saved counts stay
    assert counts(k8s_lab, shop)["web"] == (0, "3", 0)
    full = scale(k8s_lab, shop, state="restored")
    assert counts(k8s_lab, shop) == {"web": (3, None, 3), "api": (2, None, 2), "db": (1, None, 1)}
    assert full["changed"] is True and scale(k8s_lab, shop, state="restored")["changed"] is False


def test_a_restore_without_annotations_uses_the_undo_or_refuses(k8s_lab, shop):
    down = scale(k8s_lab, shop)
    kube = client(k8s_lab)
    path = "/apis/apps/v1/namespaces/%s/deployments/web" % shop["namespace"]
    kube.request("PATCH", path, body={"metadata": {"annotations": {workloads.SAVED: None}}},
                 content_type="application/merge-patch+json")
    kube.close()
    with pytest.raises(NotFound, match="no saved replica count"):
        scale(k8s_lab, shop, state="restored")
    assert counts(k8s_lab, shop)["api"] == (0, "2", 0)  # the refusal changed nothing
    scale(k8s_lab, shop, state="restored", undo=down["undo"])
    assert counts(k8s_lab, shop) == {"web": (3, None, 3), "api": (2, None, 2), "db": (1, None, 1)}


def test_the_ledger_holds_the_saved_counts_and_a_restore_finds_them_there(k8s_lab, shop):
    kube = client(k8s_lab)
    ledger = Ledger(kube, "itest-%s" % uuid.uuid4().hex[:6], "R-%s" % uuid.uuid4().hex[:6])
    run = ledger.open()
    try:
        scale(k8s_lab, shop, recorder=StepRecorder(ledger, run["run_id"], "rollback", "scale-down"))
        record = ledger.read()
        step = [s for s in record["steps"] if s["id"] == "rollback/scale-down"][0]
        assert step["status"] == "done"
        assert sorted((w["name"], w["replicas"]) for w in step["intent"]["undo"]["workloads"]) == [
            ("api", 2), ("db", 1), ("web", 3)]
        for plural, name in (("deployments", "web"), ("deployments", "api"), ("statefulsets", "db")):
            kube.request("PATCH", "/apis/apps/v1/namespaces/%s/%s/%s" % (shop["namespace"], plural, name),
                         body={"metadata": {"annotations": {workloads.SAVED: None}}},
                         content_type="application/merge-patch+json")
        scale(k8s_lab, shop, state="restored", recorder=StepRecorder(ledger, run["run_id"], "rollback", "scale-up"))
        assert counts(k8s_lab, shop) == {"web": (3, None, 3), "api": (2, None, 2), "db": (1, None, 1)}
    finally:
        ledger.close(run["run_id"])
        kube.close()


def test_bad_input_is_refused_before_anything_changes(k8s_lab, shop):
    with pytest.raises(InvalidInput, match="percent"):
        scale(k8s_lab, shop, state="restored", percent=0)
    kube = client(k8s_lab)
    try:
        with pytest.raises(NotFound, match="do not exist"):
            workloads.scale(kube, workloads=[{"namespace": shop["namespace"], "name": "web"},
                                             {"namespace": shop["namespace"], "name": "nope"}])
    finally:
        kube.close()
    assert counts(k8s_lab, shop)["web"] == (3, None, 3)


def test_service_discovery_names_the_pods_not_ready_and_their_warning_events(k8s_lab):
    """What the controlled rollback's assessment shows of a service in trouble."""
    from ansible_collections.golive.core.plugins.module_utils.k8s import services

    from .conftest import wait_until
    tag = uuid.uuid4().hex[:6]
    namespace = "sd-%s" % tag
    kube = client(k8s_lab)
    try:
        kube.request("POST", "/api/v1/namespaces", body={"metadata": {"name": namespace}})
        body = _workload("Deployment", "web", tag)
        body["spec"]["template"]["metadata"]["annotations"] = {"lab.golive.io/ready": "false"}
        kube.request("POST", "/apis/apps/v1/namespaces/%s/deployments" % namespace, body=body)
        kube.request("POST", "/api/v1/namespaces/%s/services" % namespace, body={
            "metadata": {"name": "web"}, "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}})

        def troubled():
            check = services.run(kube, [{"namespace": namespace, "name": "web", "probe": "none"}])["checks"][0]
            return check if check["evidence"].get("events") else None

        check = wait_until(troubled, timeout=30, message="Warning Events of the unready Pods")
        assert check["status"] == "fail" and len(check["evidence"]["unready_pods"]) == 2
        assert all(p["pod"].startswith("web-") for p in check["evidence"]["unready_pods"])
        assert any("Readiness probe failed" in e for e in check["evidence"]["events"]), check["evidence"]["events"]
    finally:
        kube.close()

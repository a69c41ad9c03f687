"""k8s_rollout against the lab API server: many workloads across namespaces in parallel,
undo to the recorded templates or to a revision, server dry-run in check mode, clear
errors, a diagnosis of what is missing, and the ledger written ahead."""

import uuid

import pytest

from ansible_collections.golive.core.plugins.module_utils.common.errors import InvalidInput, NotFound, Timeout
from ansible_collections.golive.core.plugins.module_utils.k8s import rollout
from ansible_collections.golive.core.plugins.module_utils.ledger.run import Ledger, StepRecorder
from helpers import IMAGE, lab_kube as client, workload_manifest as _workload



@pytest.fixture
def apps(k8s_lab):
    """Three Deployments in two namespaces and one StatefulSet, all labelled part-of=<tag>."""
    tag = uuid.uuid4().hex[:6]
    kube = client(k8s_lab)
    namespaces = ["ro-a-%s" % tag, "ro-b-%s" % tag]
    for ns in namespaces:
        kube.request("POST", "/api/v1/namespaces", body={"metadata": {"name": ns}})
    for ns, name in ((namespaces[0], "web"), (namespaces[0], "api"), (namespaces[1], "web")):
        kube.request("POST", "/apis/apps/v1/namespaces/%s/deployments" % ns, body=_workload("Deployment", name, tag))
    kube.request("POST", "/apis/apps/v1/namespaces/%s/statefulsets" % namespaces[1],
                 body=_workload("StatefulSet", "db", tag))
    rollout.Rollout(kube).wait(rollout.Rollout(kube).select(label_selector="part-of=" + tag, namespaces=namespaces,
                                                            kinds=["Deployment", "StatefulSet"]), kube.deadline)
    kube.close()
    return {"tag": tag, "namespaces": namespaces, "selector": "part-of=" + tag}


def roll(k8s_lab, deadline=60, **kwargs):
    kube = client(k8s_lab, deadline)
    try:
        return rollout.roll(kube, timeout=deadline, **kwargs)
    finally:
        kube.close()


def images(k8s_lab, apps):
    kube = client(k8s_lab)
    try:
        objs = rollout.Rollout(kube).select(label_selector=apps["selector"], namespaces=apps["namespaces"],
                                            kinds=["Deployment", "StatefulSet"])
        return dict((rollout.ref(o), rollout.images_of(o["spec"]["template"])["main"]) for o in objs)
    finally:
        kube.close()


def test_a_selector_across_namespaces_rolls_every_kind_then_nothing_changes(k8s_lab, apps):
    result = roll(k8s_lab, label_selector=apps["selector"], namespaces=apps["namespaces"],
                  kinds=["Deployment", "StatefulSet"], images={"main": IMAGE % "2"}, change_cause="release 2")
    assert result["changed"] and len(result["workloads"]) == 4
    assert all(w["rolled_out"] for w in result["workloads"])
    assert set(images(k8s_lab, apps).values()) == {IMAGE % "2"}
    assert sorted(w["name"] for w in result["undo"]["workloads"]) == ["api", "db", "web", "web"]
    assert all(w["images"] == {"main": IMAGE % "1"} for w in result["undo"]["workloads"])
    again = roll(k8s_lab, label_selector=apps["selector"], namespaces=apps["namespaces"],
                 kinds=["Deployment", "StatefulSet"], images={"main": IMAGE % "2"})
    assert again["changed"] is False and again["undo"]["workloads"] == []
    # Undo to the recorded templates: every workload, whatever its kind.
    undone = roll(k8s_lab, label_selector=apps["selector"], namespaces=apps["namespaces"],
                  kinds=["Deployment", "StatefulSet"], state="undone", undo=result["undo"])
    assert undone["changed"] and set(images(k8s_lab, apps).values()) == {IMAGE % "1"}


def test_undo_without_a_record_goes_to_the_previous_revision(k8s_lab, apps):
    web = [{"namespace": apps["namespaces"][0], "name": "web"}]
    roll(k8s_lab, workloads=web, images={"main": IMAGE % "2"})
    roll(k8s_lab, workloads=web, images={"main": IMAGE % "3"})
    result = roll(k8s_lab, workloads=web, state="undone")
    assert result["workloads"][0]["images"] == {"main": IMAGE % "2"}
    result = roll(k8s_lab, workloads=web, state="undone", revision=1)
    assert result["workloads"][0]["images"] == {"main": IMAGE % "1"}
    with pytest.raises(NotFound) as exc:
        roll(k8s_lab, workloads=web, state="undone", revision=99)
    assert "revision 99 is not in its history" in str(exc.value)


def test_check_mode_is_a_server_dry_run_with_a_diff(k8s_lab, apps):
    result = roll(k8s_lab, label_selector=apps["selector"], namespaces=apps["namespaces"],
                  images={"main": IMAGE % "9"}, check_mode=True)
    assert result["changed"] and len(result["diff"]) == 3
    assert IMAGE % "9" in result["diff"][0]["after"] and IMAGE % "1" in result["diff"][0]["before"]
    assert set(images(k8s_lab, apps).values()) == {IMAGE % "1"}


def test_bad_input_is_refused_clearly(k8s_lab, apps):
    with pytest.raises(NotFound) as exc:
        roll(k8s_lab, workloads=[{"namespace": apps["namespaces"][0], "name": "nope"},
                                 {"namespace": apps["namespaces"][0], "name": "web"}], images={"main": IMAGE % "2"})
    assert "Deployment %s/nope do not exist" % apps["namespaces"][0] in str(exc.value)
    with pytest.raises(InvalidInput) as exc:
        roll(k8s_lab, label_selector=apps["selector"], namespaces=apps["namespaces"], images={"mian": IMAGE % "2"})
    assert "no selected workload has a container named mian" in str(exc.value)
    with pytest.raises(NotFound):
        roll(k8s_lab, label_selector="part-of=nothing", images={"main": IMAGE % "2"})
    assert set(images(k8s_lab, apps).values()) == {IMAGE % "1"}


def test_a_timeout_names_the_workload_and_the_probe_failure_and_the_ledger_holds_the_undo(k8s_lab, apps):
    env, release = "env-" + apps["tag"], "R-" + apps["tag"]
    kube = client(k8s_lab)
    run_id = Ledger(kube, env, release).open()["run_id"]
    option = {"release": release, "environment": env, "run_id": run_id, "phase": "phase4", "step": "deploy"}
    recorder = StepRecorder.from_option(kube, option, "rollout", "deploy")
    web = [{"namespace": apps["namespaces"][0], "name": "web"}]
    with pytest.raises(Timeout) as exc:
        # Pods of this template never become ready (the lab's simulated kubelet, no runtime here).
        rollout.roll(client(k8s_lab, 6), workloads=web, images={"main": IMAGE % "2"},
                     template={"metadata": {"annotations": {"lab.golive.io/ready": "false"}}},
                     timeout=6, recorder=recorder)
    text = str(exc.value)
    assert "Deployment %s/web" % apps["namespaces"][0] in text and "Readiness probe failed" in text, text
    diagnosis = exc.value.result["workloads"][0]["diagnosis"]
    assert diagnosis["pods"] and diagnosis["pods"][0]["new_template"]
    step = Ledger(kube, env, release).read()["steps"][0]
    assert step["status"] == "failed" and step["intent"]["undo"]["workloads"][0]["images"] == {"main": IMAGE % "1"}
    kube.close()


def test_literal_secret_env_values_never_leave_the_cluster_and_an_undo_restores_them(k8s_lab, apps):
    import json
    canary = "canary-%s" % uuid.uuid4().hex
    ns = apps["namespaces"][0]
    kube = client(k8s_lab)
    body = _workload("Deployment", "legacy", apps["tag"])
    body["spec"]["template"]["spec"]["containers"][0]["env"] = [{"name": "DB_PASSWORD", "value": canary},
                                                                 {"name": "LOG_LEVEL", "value": "info"}]
    kube.request("POST", "/apis/apps/v1/namespaces/%s/deployments" % ns, body=body)
    env, release = "env-s-" + apps["tag"], "R-s-" + apps["tag"]
    run_id = Ledger(kube, env, release).open()["run_id"]
    recorder = StepRecorder.from_option(kube, {"release": release, "environment": env, "run_id": run_id},
                                        "phase4", "deploy")
    legacy = [{"namespace": ns, "name": "legacy"}]
    result = rollout.roll(client(k8s_lab), workloads=legacy, images={"main": IMAGE % "2"}, timeout=60,
                          recorder=recorder)
    record = Ledger(kube, env, release).read()
    for text in (json.dumps(result), json.dumps(record)):
        assert canary not in text and "DB_PASSWORD" in text
    assert result["undo"]["workloads"][0]["masked"] == ["main/DB_PASSWORD"]
    undone = roll(k8s_lab, workloads=legacy, state="undone", undo=result["undo"])
    assert canary not in json.dumps(undone) and undone["warnings"] == []
    live = kube.get("/apis/apps/v1/namespaces/%s/deployments/legacy" % ns)["spec"]["template"]["spec"]["containers"][0]
    assert live["image"] == IMAGE % "1"
    assert {"name": "DB_PASSWORD", "value": canary} in live["env"]
    kube.close()

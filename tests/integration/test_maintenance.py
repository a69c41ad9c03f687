"""k8s_maintenance against the lab: the router answers the maintenance page (503 with
Retry-After) on the application's names once it is on, and the application again once it
is off; the Ingress is then exactly as before; both ways are idempotent; check mode and a
missing maintenance Service change nothing."""

import uuid

import pytest

from lab.router import client
from helpers import HOST, run_tasks as run, wait

pytestmark = pytest.mark.xdist_group("pager")


def ingress(lab):
    from ansible_collections.golive.core.plugins.module_utils.k8s.client import Kube, KubeSettings
    kube = Kube(KubeSettings(kubeconfig=lab["k8s"]["kubeconfig"]), deadline=30)
    try:
        return kube.get("/apis/networking.k8s.io/v1/namespaces/%s/ingresses/pager" % lab["app"]["namespace"])
    finally:
        kube.close()


def answer(lab):
    app = lab["app"]
    status, headers, _body, _cert = client.request(app["sites"]["old"], app["https_port"], HOST, path="/",
                                                   ca_file=app["ca_file"])
    return status, dict((k.lower(), v) for k, v in headers.items()).get("retry-after")


def test_maintenance_on_then_off_leaves_the_ingress_exactly_as_it_was(lab, tmp_path):
    before = ingress(lab)
    target = {"ingresses": [{"namespace": lab["app"]["namespace"], "name": "pager"}]}
    assert answer(lab)[0] == 404  # the pager has no page at / (its API is under /api)
    try:
        proc, out = run(tmp_path, {"name": "Plan", "golive.core.k8s_maintenance": target, "check_mode": True,
                                   "diff": True})
        assert proc.returncode == 0, proc.stdout[-3000:]
        assert out[0]["changed"] is True and ingress(lab)["spec"] == before["spec"]

        proc, out = run(tmp_path, {"name": "On", "golive.core.k8s_maintenance": target},
                        {"name": "Again", "golive.core.k8s_maintenance": target})
        assert proc.returncode == 0, proc.stdout[-3000:]
        assert out[0]["changed"] is True and out[1]["changed"] is False
        assert out[0]["undo"]["ingresses"][0]["spec"] == before["spec"]
        wait(lambda: answer(lab) == (503, "120"), timeout=20, what="the router to serve the maintenance page")
        backends = [p["backend"]["service"]["name"] for r in ingress(lab)["spec"]["rules"] for p in r["http"]["paths"]]
        assert set(backends) == {"maintenance"} and ingress(lab)["spec"]["tls"] == before["spec"]["tls"]
        # Field by field, only the backends moved: every path keeps its path and pathType (a
        # real API server refuses a path without pathType).
        on = ingress(lab)["spec"]
        for rule_on, rule_before in zip(on["rules"], before["spec"]["rules"]):
            assert rule_on.get("host") == rule_before.get("host")
            for path_on, path_before in zip(rule_on["http"]["paths"], rule_before["http"]["paths"]):
                assert path_before["pathType"] == "Prefix"
                assert dict(path_on, backend=None) == dict(path_before, backend=None)

        off = dict(target, state="disabled")
        proc, out = run(tmp_path, {"name": "Off", "golive.core.k8s_maintenance": off},
                        {"name": "Again", "golive.core.k8s_maintenance": off})
        assert proc.returncode == 0, proc.stdout[-3000:]
        assert out[0]["changed"] is True and out[1]["changed"] is False
        wait(lambda: answer(lab)[0] == 404, timeout=20, what="the router to serve the application again")
        after = ingress(lab)
        assert after["spec"] == before["spec"]
        assert (after["metadata"].get("annotations") or {}) == (before["metadata"].get("annotations") or {})
    finally:
        run(tmp_path, {"name": "Off", "golive.core.k8s_maintenance": dict(target, state="disabled")})


def test_a_missing_maintenance_service_is_refused_and_changes_nothing(lab, tmp_path):
    before = ingress(lab)
    proc, _ = run(tmp_path, {"name": "On", "golive.core.k8s_maintenance": {
        "ingresses": [{"namespace": lab["app"]["namespace"], "name": "pager"}], "service": "no-such-page"}})
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "no-such-page does not exist" in out and "Traceback" not in out
    assert ingress(lab) == before


def test_k8s_workloads_through_ansible_check_mode_scale_and_restore(lab, tmp_path):
    """The module's entry point on the lab cluster: check mode lists counts and changes nothing;
    a scale-down and a restore, each idempotent."""
    from ansible_collections.golive.core.plugins.module_utils.k8s.client import Kube, KubeSettings
    namespace = "scale-%s" % uuid.uuid4().hex[:6]
    kube = Kube(KubeSettings(kubeconfig=lab["k8s"]["kubeconfig"]), deadline=30)
    path = "/apis/apps/v1/namespaces/%s/deployments" % namespace
    try:
        kube.request("POST", "/api/v1/namespaces", body={"metadata": {"name": namespace}})
        kube.request("POST", path, body={"metadata": {"name": "web", "labels": {"tier": "web"}}, "spec": {
            "replicas": 3, "selector": {"matchLabels": {"app": "web"}}, "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "registry.example.test/web:1"}]}}}})
        target = {"label_selector": "tier=web", "namespaces": [namespace], "timeout": 60}
        proc, out = run(tmp_path, {"name": "Plan", "golive.core.k8s_workloads": target, "check_mode": True},
                        {"name": "Down", "golive.core.k8s_workloads": target},
                        {"name": "Again", "golive.core.k8s_workloads": target},
                        {"name": "Up", "golive.core.k8s_workloads": dict(target, state="restored")},
                        {"name": "Again", "golive.core.k8s_workloads": dict(target, state="restored")})
        assert proc.returncode == 0, proc.stdout[-3000:]
        assert [(r["changed"], r["workloads"][0]["current"], r["workloads"][0]["target"]) for r in out] == [
            (True, 3, 0), (True, 3, 0), (False, 0, 0), (True, 0, 3), (False, 3, 3)]
        assert kube.get(path + "/web")["spec"]["replicas"] == 3
    finally:
        kube.request("DELETE", "/api/v1/namespaces/%s" % namespace)
        kube.close()


def test_maintenance_off_takes_the_spec_from_the_ledger_when_the_annotation_is_gone(lab):
    from ansible_collections.golive.core.plugins.module_utils.k8s import maintenance
    from ansible_collections.golive.core.plugins.module_utils.k8s.client import Kube, KubeSettings
    from ansible_collections.golive.core.plugins.module_utils.ledger.run import Ledger, StepRecorder
    before = ingress(lab)
    target = [{"namespace": lab["app"]["namespace"], "name": "pager"}]
    kube = Kube(KubeSettings(kubeconfig=lab["k8s"]["kubeconfig"]), deadline=30)
    ledger = Ledger(kube, "itest-%s" % uuid.uuid4().hex[:6], "R-%s" % uuid.uuid4().hex[:6])
    run_id = ledger.open()["run_id"]
    try:
        maintenance.switch(kube, target, recorder=StepRecorder(ledger, run_id, "rollback", "maintenance-on"))
        path = "/apis/networking.k8s.io/v1/namespaces/%s/ingresses/pager" % lab["app"]["namespace"]
        kube.request("PATCH", path, body={"metadata": {"annotations": {maintenance.SAVED: None}}},
                     content_type="application/merge-patch+json")
        maintenance.switch(kube, target, state="disabled",
                           recorder=StepRecorder(ledger, run_id, "rollback", "maintenance-off"))
        assert ingress(lab)["spec"] == before["spec"]
    finally:
        maintenance.switch(kube, target, state="disabled", undo={"ingresses": [dict(target[0], spec=before["spec"])]})
        ledger.close(run_id)
        kube.close()

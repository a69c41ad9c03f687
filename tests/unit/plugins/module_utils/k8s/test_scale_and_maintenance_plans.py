"""The pure plans of k8s_workloads and k8s_maintenance, as tables."""

import json

import pytest

from ansible_collections.golive.core.plugins.module_utils.common.errors import InvalidInput, NotFound
from ansible_collections.golive.core.plugins.module_utils.k8s import maintenance, workloads


def deployment(name, replicas, saved=None):
    annotations = {workloads.SAVED: str(saved)} if saved is not None else {}
    return {"kind": "Deployment", "metadata": {"namespace": "shop", "name": name, "annotations": annotations},
            "spec": {"replicas": replicas}}


@pytest.mark.parametrize("obj, state, percent, target, saved_after, changed", [
    (deployment("web", 3), "scaled", 100, 0, 3, True),
    (deployment("web", 0, saved=3), "scaled", 100, 0, 3, False),        # a re-run keeps the first saved count
    (deployment("web", 2, saved=3), "scaled", 100, 0, 3, True),         # down again in the middle of a restore
    (deployment("web", 0, saved=3), "restored", 10, 1, 3, True),        # rounded up
    (deployment("web", 0, saved=3), "restored", 50, 2, 3, True),
    (deployment("web", 2, saved=3), "restored", 100, 3, None, True),
    (deployment("web", 3), "restored", 100, 3, None, False),            # restored before: nothing saved
])
def test_scale_plan(obj, state, percent, target, saved_after, changed):
    step = workloads.plan([obj], state, 0, percent)[0]
    assert (step["target"], step["saved_after"], step["changed"]) == (target, saved_after, changed)


def test_a_restore_uses_the_recorded_count_and_refuses_without_one():
    objects = [deployment("web", 0), deployment("api", 0, saved=2)]
    steps = workloads.plan(objects, "restored", 0, 100, {"Deployment shop/web": 4})
    assert [s["target"] for s in steps] == [4, 2]
    with pytest.raises(NotFound, match="no saved replica count"):
        workloads.plan(objects, "restored", 0, 100, {})
    with pytest.raises(InvalidInput, match="annotation"):
        workloads.saved_count(deployment("web", 0, saved="three"))


SPEC = {"ingressClassName": "nginx", "tls": [{"hosts": ["a.test"], "secretName": "a-tls"}],
        "rules": [{"host": "a.test", "http": {"paths": [
            {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "web", "port": {"name": "http"}}}},
            {"path": "/api", "pathType": "Prefix", "backend": {"service": {"name": "api", "port": {"number": 8080}}}}]}}],
        "defaultBackend": {"service": {"name": "web", "port": {"number": 80}}}}


def ingress(spec, saved=None):
    annotations = {maintenance.SAVED: json.dumps(saved)} if saved is not None else {}
    return {"metadata": {"namespace": "shop", "name": "a", "annotations": annotations}, "spec": spec}


def test_maintenance_replaces_every_backend_and_keeps_hosts_and_tls():
    spec = maintenance.maintenance_spec(SPEC, "maintenance", "http")
    assert spec["tls"] == SPEC["tls"] and spec["rules"][0]["host"] == "a.test"
    assert [p["backend"] for p in spec["rules"][0]["http"]["paths"]] == [
        {"service": {"name": "maintenance", "port": {"name": "http"}}}] * 2
    assert spec["defaultBackend"] == {"service": {"name": "maintenance", "port": {"name": "http"}}}
    assert maintenance.backend("m", "8080") == {"service": {"name": "m", "port": {"number": 8080}}}


def test_maintenance_plans_both_ways():
    on = maintenance.plan([ingress(SPEC)], "enabled", "maintenance", "http")[0]
    assert on["changed"] and on["saved_after"] == SPEC
    body = maintenance.body_of(on)
    assert json.loads(body["metadata"]["annotations"][maintenance.SAVED]) == SPEC
    again = maintenance.plan([ingress(on["after"], saved=SPEC)], "enabled", "maintenance", "http")[0]
    assert not again["changed"]
    off = maintenance.plan([ingress(on["after"], saved=SPEC)], "disabled", "maintenance", "http")[0]
    assert off["changed"] and off["after"] == SPEC and maintenance.SAVED not in maintenance.body_of(off)["metadata"][
        "annotations"]
    assert not maintenance.plan([ingress(SPEC)], "disabled", "maintenance", "http")[0]["changed"]
    from_undo = maintenance.plan([ingress(on["after"])], "disabled", "m", "http", {"Ingress shop/a": SPEC})[0]
    assert from_undo["after"] == SPEC


def test_the_maintenance_port_is_one_the_service_has():
    from ansible_collections.golive.core.plugins.module_utils.k8s import maintenance
    svc = {"spec": {"ports": [{"name": "http", "port": 80, "targetPort": 8080}, {"port": 9090}]}}
    assert maintenance.service_has_port(svc, "http") and maintenance.service_has_port(svc, "80")
    assert maintenance.service_has_port(svc, 9090)
    for missing in ("https", "99999", "8080", ""):  # 8080 is the Pods' port, not the Service's
        assert not maintenance.service_has_port(svc, missing)
    assert maintenance.ports_text(svc) == "ports 80 (http), 9090"

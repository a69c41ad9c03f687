"""service_discovery's evaluation: ready Pods, Endpoints that list exactly them, answers."""

import pytest

from ansible_collections.golive.core.plugins.module_utils.k8s import services


def pod(ip, ready=True, deleting=False):
    meta = {"name": "p-" + ip}
    if deleting:
        meta["deletionTimestamp"] = "2026-11-29T00:00:00Z"
    condition = {"type": "Ready", "status": "True" if ready else "False"}
    return {"metadata": meta, "status": {"podIP": ip, "conditions": [condition]}}


SERVICE = {"spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80}]}}


def endpoints(*ips):
    return {"subsets": [{"addresses": [{"ip": ip} for ip in ips], "ports": [{"name": "http", "port": 8080}]}]}


@pytest.mark.parametrize("observed,answers,status,problem", [
    ({"service": SERVICE, "pods": [pod("a"), pod("b")], "endpoints": endpoints("a", "b")}, {"a": None, "b": None},
     "pass", None),
    ({"service": None, "pods": [], "endpoints": None}, None, "fail", "does not exist"),
    ({"service": SERVICE, "pods": [pod("a", ready=False)], "endpoints": endpoints()}, {}, "fail", "0 ready Pods"),
    ({"service": SERVICE, "pods": [pod("a"), pod("b", deleting=True)], "endpoints": endpoints("a", "b")},
     {"a": None, "b": None}, "fail", "Endpoints list a, b, ready Pods are a"),
    ({"service": SERVICE, "pods": [pod("a")], "endpoints": endpoints("a")}, {"a": "connection refused"}, "fail",
     "do not answer: a: connection refused"),
    ({"service": {"spec": {"ports": []}}, "pods": [], "endpoints": None}, None, "fail", "no selector"),
])
def test_evaluate(observed, answers, status, problem):
    check = services.evaluate({"namespace": "shop", "name": "web"}, observed, answers)
    assert check["status"] == status and check["id"] == "svc.shop.web"
    if problem:
        assert any(problem in p for p in check["evidence"]["problems"]), check["evidence"]


def test_endpoint_port_by_name_or_number():
    assert services.endpoint_port(endpoints("a"), SERVICE, "http")[1] == 8080
    assert services.endpoint_port(endpoints("a"), SERVICE, "80")[1] == 8080
    assert services.endpoint_port(endpoints("a"), SERVICE, "nope") == (None, None)

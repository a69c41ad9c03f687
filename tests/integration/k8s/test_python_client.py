"""The official Python client, typed APIs and DynamicClient, against the lab server."""

from __future__ import annotations

import pytest
from kubernetes import client, watch
from kubernetes.dynamic import DynamicClient

from .conftest import deployment, wait_until


def test_typed_api_create_read_list_and_rollout(api_client, namespace, lab_control):
    apps, core = client.AppsV1Api(api_client), client.CoreV1Api(api_client)
    assert client.VersionApi(api_client).get_code().git_version.startswith("v1.")
    apps.create_namespaced_deployment(namespace, deployment("web", replicas=3))
    d = wait_until(lambda: (lambda d: d if d.status.available_replicas == 3 else None)(
        apps.read_namespaced_deployment("web", namespace)), message="3 available replicas")
    assert d.status.observed_generation == d.metadata.generation == 1
    assert {c.type: c.status for c in d.status.conditions} == {"Available": "True", "Progressing": "True"}
    pods = core.list_namespaced_pod(namespace, label_selector="app=web").items
    assert len(pods) == 3 and all(p.status.phase == "Running" for p in pods)
    assert all(any(c.type == "Ready" and c.status == "True" for c in p.status.conditions) for p in pods)
    rs = apps.list_namespaced_replica_set(namespace, label_selector="app=web").items
    assert len(rs) == 1 and rs[0].metadata.annotations["deployment.kubernetes.io/revision"] == "1"
    assert rs[0].metadata.owner_references[0].uid == d.metadata.uid
    # A new template is a new ReplicaSet and revision; old pods are drained.
    apps.patch_namespaced_deployment("web", namespace, {"spec": {"template": {"spec": {"containers": [
        {"name": "app", "image": "registry.example.test/app:2.0"}]}}}})
    lab_control.settle()
    d = apps.read_namespaced_deployment("web", namespace)
    assert d.metadata.annotations["deployment.kubernetes.io/revision"] == "2"
    assert (d.status.updated_replicas, d.status.ready_replicas, d.status.replicas) == (3, 3, 3)
    images = {p.spec.containers[0].image for p in core.list_namespaced_pod(namespace, label_selector="app=web").items}
    assert images == {"registry.example.test/app:2.0"}


def test_stale_update_is_409_and_bad_token_is_401(api_client, namespace, k8s_lab):
    core = client.CoreV1Api(api_client)
    cm = core.create_namespaced_config_map(namespace, {"metadata": {"name": "c"}, "data": {"a": "1"}})
    cm.data["a"] = "2"
    core.replace_namespaced_config_map("c", namespace, cm)
    cm.data["a"] = "3"
    with pytest.raises(client.ApiException) as exc:
        core.replace_namespaced_config_map("c", namespace, cm)
    assert exc.value.status == 409
    cfg = client.Configuration()
    cfg.host, cfg.ssl_ca_cert = k8s_lab["api_server"], k8s_lab["ca_file"]
    cfg.api_key = {"authorization": "Bearer not-the-token"}
    with pytest.raises(client.ApiException) as exc:
        client.CoreV1Api(client.ApiClient(cfg)).list_namespace()
    assert exc.value.status == 401


def test_dry_run_and_access_review(api_client, namespace, control):
    apps = client.AppsV1Api(api_client)
    apps.create_namespaced_deployment(namespace, deployment("dry"), dry_run="All")
    assert apps.list_namespaced_deployment(namespace).items == []
    auth = client.AuthorizationV1Api(api_client)
    body = client.V1SelfSubjectAccessReview(spec=client.V1SelfSubjectAccessReviewSpec(
        resource_attributes=client.V1ResourceAttributes(verb="delete", group="apps", resource="deployments",
                                                        namespace=namespace)))
    assert auth.create_self_subject_access_review(body).status.allowed is True
    control.set_policy({"default": "allow", "rules": [{"effect": "deny", "verbs": ["delete"],
                                                       "resources": ["deployments"]}]})
    assert auth.create_self_subject_access_review(body).status.allowed is False


def test_dynamic_client_discovery_get_list_patch_scale_watch(api_client, namespace, lab_control):
    dyn = DynamicClient(api_client)
    deployments = dyn.resources.get(api_version="apps/v1", kind="Deployment")
    assert set(deployments.subresources) >= {"scale", "status"}
    deployments.create(namespace=namespace, body=deployment("api", replicas=1, labels={"app": "api", "tier": "be"}))
    deployments.create(namespace=namespace, body=deployment("ui", replicas=1, labels={"app": "ui", "tier": "fe"}))
    assert [d.metadata.name for d in deployments.get(namespace=namespace, label_selector="tier=be").items] == ["api"]
    assert [d.metadata.name for d in deployments.get(namespace=namespace, field_selector="metadata.name=ui").items] == ["ui"]
    deployments.patch(namespace=namespace, name="api", body={"metadata": {"labels": {"patched": "yes"}}},
                      content_type="application/merge-patch+json")
    assert deployments.get(namespace=namespace, name="api").metadata.labels["patched"] == "yes"
    rv = deployments.get(namespace=namespace).metadata.resourceVersion
    deployments.scale.patch(namespace=namespace, name="api", body={"spec": {"replicas": 3}})
    seen = []
    for event in deployments.watch(namespace=namespace, name="api", resource_version=rv, timeout=20):
        obj = event["object"]
        seen.append(event["type"])
        if (obj.status or {}).get("availableReplicas") == 3:
            break
    assert seen and set(seen) <= {"ADDED", "MODIFIED"}
    scale = deployments.scale.get(namespace=namespace, name="api")
    assert scale.spec.replicas == 3 and scale.status.replicas == 3 and "app=api" in scale.status.selector
    certs = dyn.resources.get(api_version="cert-manager.io/v1", kind="Certificate")
    assert any(c.metadata.name == "web-tls" for c in certs.get(namespace="shop").items)


def test_watch_helper_with_typed_api(api_client, namespace):
    core = client.CoreV1Api(api_client)
    rv = core.list_namespaced_config_map(namespace).metadata.resource_version
    core.create_namespaced_config_map(namespace, {"metadata": {"name": "w"}})
    core.delete_namespaced_config_map("w", namespace)
    w = watch.Watch()
    events = []
    for ev in w.stream(core.list_namespaced_config_map, namespace, resource_version=rv, timeout_seconds=3):
        events.append((ev["type"], ev["object"].metadata.name))
        if ev["type"] == "DELETED":
            w.stop()
    assert [e for e in events if e[1] == "w"] == [("ADDED", "w"), ("DELETED", "w")]

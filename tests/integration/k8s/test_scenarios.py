"""Scenarios: the healthy cluster passes every go-live check below; each variant fails
exactly the one check it was made for. Each scenario runs in its own server."""

from __future__ import annotations

import datetime as dt

import pytest
from kubernetes import client, config
from kubernetes.dynamic import DynamicClient

from lab.k8s import LabCluster
from lab.k8s.scenarios import scenario_names


def _now():
    return dt.datetime.now(dt.timezone.utc)


def check_version(api, dyn):
    return int(client.VersionApi(api).get_code().minor.rstrip("+")) >= 24


def check_default_storageclass(api, dyn):
    return any((sc.metadata.annotations or {}).get("storageclass.kubernetes.io/is-default-class") == "true"
               for sc in client.StorageV1Api(api).list_storage_class().items)


def check_default_deny(api, dyn):
    return any(not (p.spec.pod_selector.match_labels or p.spec.pod_selector.match_expressions)
               and "Ingress" in (p.spec.policy_types or [])
               for p in client.NetworkingV1Api(api).list_namespaced_network_policy("shop").items)


def check_ingress_ready(api, dyn):
    d = client.AppsV1Api(api).read_namespaced_deployment("ingress-nginx-controller", "ingress-nginx")
    return (d.status.available_replicas or 0) == d.spec.replicas


def check_issuer_ready(api, dyn):
    issuer = dyn.resources.get(api_version="cert-manager.io/v1", kind="ClusterIssuer").get(name="lab-ca")
    return any(c["type"] == "Ready" and c["status"] == "True" for c in (issuer.status or {}).get("conditions", []))


def check_alert_rule(api, dyn):
    rule = dyn.resources.get(api_version="monitoring.coreos.com/v1", kind="PrometheusRule").get(
        namespace="monitoring", name="golive-rules")
    return any(r.get("alert") == "ShopHighErrorRate" for g in rule.spec.groups for r in g.rules)


def check_log_shipper(api, dyn):
    ds = client.AppsV1Api(api).read_namespaced_daemon_set("fluent-bit", "logging").status
    return ds.desired_number_scheduled > 0 and ds.number_ready == ds.desired_number_scheduled


def check_backup_fresh(api, dyn):
    cj = client.BatchV1Api(api).read_namespaced_cron_job("db-backup", "shop")
    last = cj.status.last_successful_time
    return not cj.spec.suspend and last is not None and _now() - last < dt.timedelta(hours=26)


def check_secret_keys(api, dyn):
    d = client.AppsV1Api(api).read_namespaced_deployment("web", "shop")
    wanted = {(e.value_from.secret_key_ref.name, e.value_from.secret_key_ref.key)
              for c in d.spec.template.spec.containers for e in (c.env or [])
              if e.value_from and e.value_from.secret_key_ref}
    core = client.CoreV1Api(api)
    return all(key in (core.read_namespaced_secret(name, "shop").data or {}) for name, key in wanted)


def check_images_pinned(api, dyn):
    d = client.AppsV1Api(api).read_namespaced_deployment("web", "shop")
    return all("@sha256:" in c.image for c in d.spec.template.spec.containers)


def _reports(dyn):
    found = dyn.resources.get(api_version="aquasecurity.github.io/v1alpha1", kind="VulnerabilityReport").get()
    return [item.to_dict() for item in found.items]


def check_no_critical_cve(api, dyn):
    """No VulnerabilityReport lists a critical finding."""
    return not any(v.get("severity") == "CRITICAL" for r in _reports(dyn)
                   for v in r["report"].get("vulnerabilities") or [])


def check_every_image_scanned(api, dyn):
    """Every shop Deployment's image has a report (the scanner names them after the ReplicaSet)."""
    labels = [r["metadata"].get("labels") or {} for r in _reports(dyn) if r["metadata"]["namespace"] == "shop"]
    scanned = {lab.get("trivy-operator.resource.name", "").rsplit("-", 1)[0] for lab in labels
               if lab.get("trivy-operator.resource.kind") == "ReplicaSet"}
    return {"web", "worker"} <= scanned


def check_rbac(api, dyn):
    review = client.V1SelfSubjectAccessReview(spec=client.V1SelfSubjectAccessReviewSpec(
        resource_attributes=client.V1ResourceAttributes(verb="patch", group="apps", resource="deployments",
                                                        namespace="shop")))
    return client.AuthorizationV1Api(api).create_self_subject_access_review(review).status.allowed


def check_certificate(api, dyn):
    cert = dyn.resources.get(api_version="cert-manager.io/v1", kind="Certificate").get(
        namespace="shop", name="web-tls")
    ready = any(c["type"] == "Ready" and c["status"] == "True" for c in (cert.status or {}).get("conditions", []))
    if not (cert.status or {}).get("notAfter"):
        return False
    not_after = dt.datetime.strptime(cert.status.notAfter, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc)
    return ready and not_after > _now()


CHECKS = {
    "version": check_version, "default-storageclass": check_default_storageclass,
    "default-deny": check_default_deny, "ingress-ready": check_ingress_ready,
    "issuer-ready": check_issuer_ready, "alert-rule": check_alert_rule, "log-shipper": check_log_shipper,
    "backup-fresh": check_backup_fresh, "secret-keys": check_secret_keys, "images-pinned": check_images_pinned,
    "rbac": check_rbac, "certificate": check_certificate, "no-critical-cve": check_no_critical_cve,
    "every-image-scanned": check_every_image_scanned,
}

VARIANTS = {
    "healthy": None, "old-version": "version", "no-default-storageclass": "default-storageclass",
    "missing-default-deny": "default-deny", "ingress-not-ready": "ingress-ready",
    # An issuer that is not Ready also leaves the certificate it should sign unissued.
    "clusterissuer-not-ready": ("issuer-ready", "certificate"), "missing-prometheusrule-alert": "alert-rule",
    "logshipper-not-ready": "log-shipper", "stale-backup-cronjob": "backup-fresh",
    "missing-secret-key": "secret-keys", "image-not-pinned": "images-pinned", "rbac-denied": "rbac",
    "expired-certificate": "certificate", "vulnerable-image": "no-critical-cve",
    "unscanned-image": "every-image-scanned",
}


def test_every_scenario_file_is_covered():
    assert set(scenario_names()) == set(VARIANTS)


@pytest.mark.parametrize("scenario", sorted(VARIANTS))
def test_scenario_has_exactly_its_defect(scenario, tmp_path):
    lab = LabCluster(tmp_path, controller_delay=0.02)
    try:
        lab.load_scenario(scenario)
        lab.start()
        assert lab.settle(60)
        api = config.new_client_from_config(config_file=str(lab.kubeconfig))
        dyn = DynamicClient(api)
        failing = {name for name, check in CHECKS.items() if not check(api, dyn)}
        expected = VARIANTS[scenario] or ()
        expected = {expected} if isinstance(expected, str) else set(expected)
        assert failing == expected
    finally:
        lab.stop()


def test_healthy_cluster_shape(tmp_path):
    lab = LabCluster(tmp_path, controller_delay=0.02)
    try:
        lab.load_scenario("healthy")
        lab.start()
        assert lab.settle(60)
        api = config.new_client_from_config(config_file=str(lab.kubeconfig))
        apps, core = client.AppsV1Api(api), client.CoreV1Api(api)
        not_ready = [f"{d.metadata.namespace}/{d.metadata.name}" for d in apps.list_deployment_for_all_namespaces().items
                     if (d.status.ready_replicas or 0) != d.spec.replicas]
        assert not_ready == []
        assert all((s.status.ready_replicas or 0) == s.spec.replicas
                   for s in apps.list_stateful_set_for_all_namespaces().items)
        assert {n.metadata.name for n in core.list_node().items} == {"lab-cp-1", "lab-worker-1", "lab-worker-2",
                                                                     "lab-worker-3"}
        svc = core.read_namespaced_service("ingress-nginx-controller", "ingress-nginx")
        assert svc.status.load_balancer.ingress[0].ip
        ing = client.NetworkingV1Api(api).read_namespaced_ingress("web", "shop")
        assert ing.status.load_balancer.ingress[0].ip == svc.status.load_balancer.ingress[0].ip
        tls = core.read_namespaced_secret("web-tls", "shop")
        assert set(tls.data) == {"tls.crt", "tls.key", "ca.crt"}
        assert "kube-root-ca.crt" in {c.metadata.name for c in core.list_namespaced_config_map("shop").items}
    finally:
        lab.stop()


def test_scenario_loaded_at_runtime_through_the_admin_endpoint(tmp_path):
    from lab.k8s.control import LabControl
    lab = LabCluster(tmp_path, controller_delay=0.02).start()
    try:
        control = LabControl.from_endpoints(lab.endpoints())
        assert control.load_scenario("old-version")["loaded"] > 40
        assert control.settle(60)
        api = config.new_client_from_config(config_file=str(lab.kubeconfig))
        assert client.VersionApi(api).get_code().git_version == "v1.23.17"
        assert client.AppsV1Api(api).read_namespaced_deployment("web", "shop").status.ready_replicas == 3
        stats = control.stats()
        assert stats["objects"]["apps/deployments"] >= 7 and stats["controllers"]["errors"] == 0
    finally:
        lab.stop()

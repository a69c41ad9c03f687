"""k8s_preflight and the phase 1 role against the Kubernetes lab API server.

Every scenario runs in its own throwaway server; assertions read the checks the real
client produced from real HTTPS answers, and for the role, the objects in the cluster.
"""

import json

import pytest
import yaml

from lab.scratch import cluster
from helpers import recap, REPO, run_playbook

from ansible_collections.golive.core.plugins.module_utils.k8s.client import Kube, KubeSettings
from ansible_collections.golive.core.plugins.module_utils.k8s.preflight import run_preflight

SPEC = yaml.safe_load((REPO / "inventories/lab/group_vars/all/main.yml").read_text())["golive_readiness"]

# scenario -> (the one check that must fail, text its evidence must name)
DEFECTS = {
    "old-version": ("k8s.version", "v1.23.17"),
    "rbac-denied": ("k8s.rbac", "patch deployments.apps in shop"),
    "no-default-storageclass": ("k8s.storage_classes", "no default StorageClass"),
    "missing-default-deny": ("k8s.network_policies", '"without_default_deny": ["shop"]'),
    "ingress-not-ready": ("k8s.ingress_controller", "Deployment ingress-nginx/ingress-nginx-controller"),
    "clusterissuer-not-ready": ("k8s.cert_manager", '"cluster_issuer": "lab-ca"'),
    "expired-certificate": ("k8s.cert_manager", '"certificate": "shop/web-tls"'),
    "missing-prometheusrule-alert": ("k8s.alert_rules", '"missing": ["ShopHighErrorRate"]'),
    "logshipper-not-ready": ("k8s.log_shipper", '"not_ready_on": ["lab-worker-2"]'),
    "stale-backup-cronjob": ("k8s.backup_schedules", "CronJob shop/db-backup"),
    "missing-secret-key": ("k8s.secrets", '"missing_keys": ["DB_PASSWORD"]'),
    "image-not-pinned": ("k8s.images", "Deployment shop/web"),
    "vulnerable-image": ("k8s.images", "CVE-2024-45490 (CRITICAL, libexpat1 2.5.0-1, fixed in 2.5.0-1+deb12u1)"),
    "unscanned-image": ("k8s.images", "not scanned (no VulnerabilityReport for this image)"),
}


def preflight(endpoints, spec=None):
    kube = Kube(KubeSettings(kubeconfig=endpoints["kubeconfig"]), deadline=60)
    try:
        return run_preflight(kube, spec or SPEC)
    finally:
        kube.close()


def failed(result):
    return dict((c["id"], c) for c in result["checks"] if c["status"] == "fail")


def test_healthy_cluster_passes_every_check(tmp_path):
    with cluster(tmp_path / "k8s") as k8s:
        result = preflight(k8s)
    assert failed(result) == {}
    # Autoscaling is judged after the deployment (validate_autoscaling), restarts after the go-live
    # (playbooks/watch.yml), not at Day -7.
    assert dict((c["id"], c["status"]) for c in result["checks"] if c["status"] != "pass") == {
        "k8s.autoscaling": "skip", "k8s.restarts": "skip"}, result["checks"]
    assert result["server"]["git_version"] == "v1.30.2"


@pytest.mark.parametrize("scenario", sorted(DEFECTS))
def test_each_defect_fails_exactly_its_check(tmp_path, scenario):
    check_id, named = DEFECTS[scenario]
    with cluster(tmp_path / "k8s", scenario=scenario) as k8s:
        result = preflight(k8s)
    bad = failed(result)
    assert list(bad) == [check_id], json.dumps(bad, indent=1)[:3000]
    assert named in json.dumps(bad[check_id]["evidence"])
    assert bad[check_id]["checklist"]


def test_request_count_depends_on_the_spec_not_the_cluster(tmp_path):
    with cluster(tmp_path / "k8s") as k8s:
        small = preflight(k8s)["requests"]
        kube = Kube(KubeSettings(kubeconfig=k8s["kubeconfig"]))
        for i in range(40):
            ns = "bulk-%02d" % i
            kube.request("POST", "/api/v1/namespaces", body={"apiVersion": "v1", "kind": "Namespace",
                                                             "metadata": {"name": ns}})
            kube.request("POST", "/apis/apps/v1/namespaces/%s/deployments" % ns, body={
                "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "app", "namespace": ns},
                "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "x"}},
                         "template": {"metadata": {"labels": {"app": "x"}},
                                      "spec": {"containers": [{"name": "x", "image": "nginx"}]}}}})
        kube.close()
        large = preflight(k8s)["requests"]
    assert small == large


def test_forbidden_list_is_a_failed_check_naming_verb_and_resource(tmp_path):
    with cluster(tmp_path / "k8s") as k8s:
        k8s["control"].set_policy({"default": "allow", "enforce": True, "rules": [
            {"effect": "deny", "verbs": ["list"], "apiGroups": ["batch"], "resources": ["cronjobs"],
             "reason": "no RBAC rule grants list on cronjobs.batch"}]})
        result = preflight(k8s)
    bad = failed(result)
    assert list(bad) == ["k8s.backup_schedules"]
    evidence = bad["k8s.backup_schedules"]["evidence"]
    assert evidence["request"] == "list cronjobs.batch (all namespaces)"
    assert "forbidden" in evidence["error"].lower() or "cronjobs" in evidence["error"]


def _phase1(k8s, *args):
    return run_playbook("playbooks/golive.yml", "--tags", "phase1", "-e", "golive_release=2026.11.3",
                        "-e", json.dumps({"golive_k8s": {"kubeconfig": k8s["kubeconfig"]}}), *args)


def test_phase1_applies_day7_manifests_then_passes_and_is_idempotent(lab, tmp_path):
    rule_path = "/apis/monitoring.coreos.com/v1/namespaces/monitoring/prometheusrules/golive-rules"
    cron_path = "/apis/batch/v1/namespaces/shop/cronjobs/db-backup"
    with cluster(tmp_path / "k8s") as k8s:
        kube = Kube(KubeSettings(kubeconfig=k8s["kubeconfig"]))
        kube.request("DELETE", rule_path)
        kube.request("DELETE", cron_path)

        dry = _phase1(k8s, "--check")
        assert dry.returncode != 0, "in check mode nothing is applied, so the Day -7 preflight must fail"
        assert "k8s.alert_rules" in dry.stdout and "ShopHighErrorRate" in dry.stdout
        assert kube.get(rule_path, missing_ok=True) is None and kube.get(cron_path, missing_ok=True) is None

        first = _phase1(k8s, "--diff", "-v")
        assert first.returncode == 0, first.stdout[-4000:] + first.stderr[-2000:]
        assert recap(first.stdout)["changed"] == 1
        assert "ShopHighErrorRate" in json.dumps(kube.get(rule_path))
        assert kube.get(cron_path)["spec"]["schedule"] == "0 2 * * *"
        # The CronJob was created just now: no run is due yet, a warning rather than a failure.
        assert "no run yet; created" in first.stdout

        second = _phase1(k8s)
        assert second.returncode == 0 and recap(second.stdout)["changed"] == 0
        kube.close()


def test_phase1_on_a_healthy_cluster_changes_nothing(lab, tmp_path):
    with cluster(tmp_path / "k8s") as k8s:
        run = _phase1(k8s)
        assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
        assert recap(run.stdout)["changed"] == 0

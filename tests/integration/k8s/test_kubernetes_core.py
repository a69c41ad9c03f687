"""kubernetes.core modules (from the `ansible` package) against the lab server: each play
leaves state in the cluster that the test then reads with the Python client."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml
from kubernetes import client

from .conftest import deployment

BIN = Path(sys.executable).parent


def run_play(tmp_path, kubeconfig: str, tasks: list[dict]) -> subprocess.CompletedProcess:
    play = [{"hosts": "localhost", "gather_facts": False, "connection": "local", "tasks": tasks}]
    path = tmp_path / "play.yml"
    path.write_text(yaml.safe_dump(play, sort_keys=False))
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0", ANSIBLE_RETRY_FILES_ENABLED="0",
               ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp"), ANSIBLE_HOME=str(tmp_path / "ansible"), K8S_AUTH_KUBECONFIG=kubeconfig,
               PATH=f"{BIN}:{os.environ.get('PATH', '')}")
    proc = subprocess.run([str(BIN / "ansible-playbook"), "-i", "localhost,", str(path),
                           "-e", f"ansible_python_interpreter={sys.executable}"],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    return proc


def test_apply_wait_scale_rollback(tmp_path, k8s_lab, api_client, namespace, lab_control):
    kc = k8s_lab["kubeconfig"]
    v1 = deployment("api", "registry.example.test/api:1.0", 2)
    v1["metadata"]["namespace"] = namespace
    v2 = deployment("api", "registry.example.test/api:2.0", 2)
    v2["metadata"]["namespace"] = namespace
    run_play(tmp_path, kc, [
        {"name": "apply v1", "kubernetes.core.k8s": {"state": "present", "apply": True, "definition": v1}},
        {"name": "wait until available", "kubernetes.core.k8s_info": {
            "kind": "Deployment", "name": "api", "namespace": namespace, "wait": True, "wait_timeout": 60,
            "wait_condition": {"type": "Available", "status": "True"}}, "register": "info"},
        {"assert": {"that": ["info.resources[0].status.readyReplicas == 2"]}},
        {"name": "apply v2 and wait", "kubernetes.core.k8s": {"state": "present", "apply": True, "wait": True,
                                                              "wait_timeout": 60, "definition": v2}},
        {"name": "scale", "kubernetes.core.k8s_scale": {"api_version": "apps/v1", "kind": "Deployment",
                                                        "name": "api", "namespace": namespace, "replicas": 3,
                                                        "wait": True, "wait_timeout": 60}},
        {"name": "rollback", "kubernetes.core.k8s_rollback": {"api_version": "apps/v1", "kind": "Deployment",
                                                              "name": "api", "namespace": namespace},
         "register": "rb"},
        {"assert": {"that": ["rb.changed"]}},
    ])
    lab_control.settle()
    apps = client.AppsV1Api(api_client)
    d = apps.read_namespaced_deployment("api", namespace)
    assert d.spec.template.spec.containers[0].image == "registry.example.test/api:1.0"
    assert d.spec.replicas == 3 and d.status.available_replicas == 3
    assert d.metadata.annotations["deployment.kubernetes.io/revision"] == "3"
    pods = client.CoreV1Api(api_client).list_namespaced_pod(namespace, label_selector="app=api").items
    assert {p.spec.containers[0].image for p in pods} == {"registry.example.test/api:1.0"}


def test_check_mode_and_lease_and_delete(tmp_path, k8s_lab, api_client, namespace, lab_control):
    kc = k8s_lab["kubeconfig"]
    lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
             "metadata": {"name": "golive-lock", "namespace": namespace},
             "spec": {"holderIdentity": "release-2026.11.3", "leaseDurationSeconds": 600}}
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ledger", "namespace": namespace},
          "data": {"release": "2026.11.3"}}
    run_play(tmp_path, kc, [
        {"name": "lease", "kubernetes.core.k8s": {"state": "present", "definition": lease}},
        {"name": "ledger (check mode: server dry-run)", "kubernetes.core.k8s": {"state": "present", "definition": cm},
         "check_mode": True, "register": "dry"},
        {"assert": {"that": ["dry.changed"]}},
        {"name": "ledger", "kubernetes.core.k8s": {"state": "present", "definition": cm}},
        {"name": "ledger update", "kubernetes.core.k8s": {"state": "patched", "definition": {
            **cm, "data": {"previous_replicas": "3"}}}},
        {"name": "scale to zero through k8s_scale", "kubernetes.core.k8s": {"state": "present", "definition": {
            **deployment("worker", replicas=1), "metadata": {"name": "worker", "namespace": namespace}}}},
        {"kubernetes.core.k8s_scale": {"api_version": "apps/v1", "kind": "Deployment", "name": "worker",
                                       "namespace": namespace, "replicas": 0, "wait": True, "wait_timeout": 60}},
        {"name": "delete lease", "kubernetes.core.k8s": {"state": "absent", "api_version": "coordination.k8s.io/v1",
                                                         "kind": "Lease", "name": "golive-lock",
                                                         "namespace": namespace, "wait": True}},
    ])
    lab_control.settle()
    core = client.CoreV1Api(api_client)
    assert core.read_namespaced_config_map("ledger", namespace).data == {"release": "2026.11.3",
                                                                          "previous_replicas": "3"}
    leases = client.CoordinationV1Api(api_client).list_namespaced_lease(namespace).items
    assert leases == []
    d = client.AppsV1Api(api_client).read_namespaced_deployment("worker", namespace)
    assert d.spec.replicas == 0 and not d.status.replicas
    assert core.list_namespaced_pod(namespace, label_selector="app=worker").items == []

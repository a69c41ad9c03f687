"""The controllers: what makes the lab a cluster rather than a key-value store."""

from __future__ import annotations

import base64
import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives import hashes
from kubernetes import client
from kubernetes.dynamic import DynamicClient

from .conftest import deployment, wait_until


def _pod_template(name: str, annotations: dict | None = None) -> dict:
    meta = {"labels": {"app": name}}
    if annotations:
        meta["annotations"] = annotations
    return {"metadata": meta, "spec": {"containers": [{"name": "c", "image": f"registry.example.test/{name}:1",
                                                       "ports": [{"name": "http", "containerPort": 80}]}]}}


def test_statefulset_daemonset_and_pdb(api_client, namespace, lab_control):
    apps, core = client.AppsV1Api(api_client), client.CoreV1Api(api_client)
    apps.create_namespaced_stateful_set(namespace, {"metadata": {"name": "db"}, "spec": {
        "replicas": 3, "serviceName": "db", "selector": {"matchLabels": {"app": "db"}},
        "template": _pod_template("db"),
        "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {
            "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]}})
    apps.create_namespaced_daemon_set(namespace, {"metadata": {"name": "agent"}, "spec": {
        "selector": {"matchLabels": {"app": "agent"}}, "template": _pod_template("agent")}})
    client.PolicyV1Api(api_client).create_namespaced_pod_disruption_budget(namespace, {
        "metadata": {"name": "db"}, "spec": {"minAvailable": 2, "selector": {"matchLabels": {"app": "db"}}}})
    wait_until(lambda: apps.read_namespaced_stateful_set("db", namespace).status.ready_replicas == 3,
               message="statefulset ready")
    lab_control.settle()
    sts = apps.read_namespaced_stateful_set("db", namespace)
    assert sts.status.current_revision == sts.status.update_revision and sts.status.updated_replicas == 3
    assert sorted(p.metadata.name for p in core.list_namespaced_pod(namespace, label_selector="app=db").items) == \
        ["db-0", "db-1", "db-2"]
    pvcs = core.list_namespaced_persistent_volume_claim(namespace).items
    assert sorted(p.metadata.name for p in pvcs) == ["data-db-0", "data-db-1", "data-db-2"]
    assert {p.status.phase for p in pvcs} == {"Bound"} and pvcs[0].spec.storage_class_name == "standard"
    nodes = core.list_node().items
    schedulable = [n for n in nodes if not any(t.effect == "NoSchedule" for t in (n.spec.taints or []))]
    ds = apps.read_namespaced_daemon_set("agent", namespace).status
    assert ds.desired_number_scheduled == len(schedulable) == ds.number_ready
    pdb = client.PolicyV1Api(api_client).read_namespaced_pod_disruption_budget("db", namespace).status
    assert (pdb.expected_pods, pdb.current_healthy, pdb.desired_healthy, pdb.disruptions_allowed) == (3, 3, 2, 1)
    # Scale down removes the highest ordinals.
    apps.patch_namespaced_stateful_set_scale("db", namespace, {"spec": {"replicas": 1}})
    lab_control.settle()
    assert [p.metadata.name for p in core.list_namespaced_pod(namespace, label_selector="app=db").items] == ["db-0"]


def test_service_endpoints_follow_pod_readiness(api_client, namespace, lab_control):
    apps, core = client.AppsV1Api(api_client), client.CoreV1Api(api_client)
    good = deployment("good", replicas=2, labels={"app": "svc", "v": "good"})
    bad = deployment("bad", replicas=1, labels={"app": "svc", "v": "bad"})
    bad["spec"]["template"]["metadata"]["annotations"] = {"lab.golive.io/ready": "false"}
    apps.create_namespaced_deployment(namespace, good)
    apps.create_namespaced_deployment(namespace, bad)
    core.create_namespaced_service(namespace, {"metadata": {"name": "svc"}, "spec": {
        "selector": {"app": "svc"}, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}})
    lab_control.settle()
    ep = core.read_namespaced_endpoints("svc", namespace).subsets[0]
    assert len(ep.addresses) == 2 and len(ep.not_ready_addresses) == 1 and ep.ports[0].port == 8080
    slices = client.DiscoveryV1Api(api_client).list_namespaced_endpoint_slice(
        namespace, label_selector="kubernetes.io/service-name=svc").items
    assert sorted(e.conditions.ready for e in slices[0].endpoints) == [False, True, True]
    d = apps.read_namespaced_deployment("bad", namespace)
    assert {c.type: c.status for c in d.status.conditions}["Available"] == "False"
    assert not d.status.ready_replicas
    svc = core.read_namespaced_service("svc", namespace)
    assert svc.spec.cluster_ip.startswith("10.96.")


def test_job_and_cronjob(api_client, namespace, lab_control):
    batch = client.BatchV1Api(api_client)
    batch.create_namespaced_job(namespace, {"metadata": {"name": "once"}, "spec": {
        "completions": 2, "template": {"spec": {"restartPolicy": "Never",
                                                "containers": [{"name": "c", "image": "busybox:1"}]}}}})
    wait_until(lambda: batch.read_namespaced_job("once", namespace).status.succeeded == 2, message="job done")
    job = batch.read_namespaced_job("once", namespace)
    assert {c.type for c in job.status.conditions} >= {"Complete"} and job.status.completion_time
    batch.create_namespaced_cron_job(namespace, {"metadata": {"name": "backup"}, "spec": {
        "schedule": "* * * * *", "jobTemplate": {"spec": {"template": {"spec": {
            "restartPolicy": "OnFailure", "containers": [{"name": "c", "image": "backup:1"}]}}}}}})
    three_minutes_ago = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    batch.patch_namespaced_cron_job_status("backup", namespace, {"status": {"lastScheduleTime": three_minutes_ago}})
    cj = wait_until(lambda: (lambda c: c if c.status.last_successful_time else None)(
        batch.read_namespaced_cron_job("backup", namespace)), message="cronjob success")
    assert cj.status.last_schedule_time > dt.datetime.strptime(three_minutes_ago, "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=dt.timezone.utc)
    jobs = batch.list_namespaced_job(namespace).items
    assert any(j.metadata.owner_references and j.metadata.owner_references[0].name == "backup" for j in jobs)


def test_certificate_issues_a_tls_secret_signed_by_the_lab_ca(api_client, namespace, k8s_lab, lab_control):
    dyn = DynamicClient(api_client)
    certs = dyn.resources.get(api_version="cert-manager.io/v1", kind="Certificate")
    issuers = dyn.resources.get(api_version="cert-manager.io/v1", kind="Issuer")
    certs.create(namespace=namespace, body={"apiVersion": "cert-manager.io/v1", "kind": "Certificate",
                                            "metadata": {"name": "api"}, "spec": {
        "secretName": "api-tls", "duration": "1h", "dnsNames": ["api.example.test"],
        "issuerRef": {"name": "lab-ca", "kind": "ClusterIssuer"}}})
    certs.create(namespace=namespace, body={"apiVersion": "cert-manager.io/v1", "kind": "Certificate",
                                            "metadata": {"name": "orphan"}, "spec": {
        "secretName": "orphan-tls", "dnsNames": ["o.example.test"], "issuerRef": {"name": "missing"}}})
    lab_control.settle()
    cert = certs.get(namespace=namespace, name="api")
    ready = {c["type"]: c for c in cert.status.conditions}["Ready"]
    assert ready["status"] == "True"
    secret = client.CoreV1Api(api_client).read_namespaced_secret("api-tls", namespace)
    assert secret.type == "kubernetes.io/tls"
    leaf = x509.load_pem_x509_certificate(base64.b64decode(secret.data["tls.crt"]))
    ca = x509.load_pem_x509_certificate(open(k8s_lab["ca_file"], "rb").read())
    ca.public_key().verify(leaf.signature, leaf.tbs_certificate_bytes, ec.ECDSA(hashes.SHA256()))
    assert leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
        x509.DNSName) == ["api.example.test"]
    lifetime = leaf.not_valid_after_utc - dt.datetime.now(dt.timezone.utc)
    assert dt.timedelta(minutes=50) < lifetime <= dt.timedelta(hours=1)
    assert cert.status.notAfter == leaf.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ")
    orphan = {c["type"]: c for c in certs.get(namespace=namespace, name="orphan").status.conditions}["Ready"]
    assert orphan["status"] == "False"
    # The issuer appears: the certificate gets issued.
    issuers.create(namespace=namespace, body={"apiVersion": "cert-manager.io/v1", "kind": "Issuer",
                                              "metadata": {"name": "missing"}, "spec": {"selfSigned": {}}})
    wait_until(lambda: client.CoreV1Api(api_client).read_namespaced_secret("orphan-tls", namespace),
               message="orphan-tls issued")


def test_pvc_without_default_storageclass_stays_pending(api_client, namespace, lab_control):
    core = client.CoreV1Api(api_client)
    core.create_namespaced_persistent_volume_claim(namespace, {"metadata": {"name": "x"}, "spec": {
        "storageClassName": "does-not-exist", "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": "1Gi"}}}})
    core.create_namespaced_persistent_volume_claim(namespace, {"metadata": {"name": "y"}, "spec": {
        "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}})
    lab_control.settle()
    assert core.read_namespaced_persistent_volume_claim("x", namespace).status.phase == "Pending"
    y = core.read_namespaced_persistent_volume_claim("y", namespace)
    assert y.status.phase == "Bound" and y.spec.storage_class_name == "standard"


def test_progress_deadline_exceeded(api_client, namespace, lab_control):
    apps = client.AppsV1Api(api_client)
    d = deployment("stuck", replicas=1)
    d["spec"]["progressDeadlineSeconds"] = 1
    d["spec"]["template"]["metadata"]["annotations"] = {"lab.golive.io/ready": "false"}
    apps.create_namespaced_deployment(namespace, d)
    cond = wait_until(lambda: next((c for c in apps.read_namespaced_deployment("stuck", namespace).status.conditions
                                    or [] if c.type == "Progressing" and c.status == "False"), None),
                      message="ProgressDeadlineExceeded")
    assert cond.reason == "ProgressDeadlineExceeded"


def test_eviction_respects_pod_disruption_budgets(api_client, namespace, lab_control, kubectl):
    apps, core = client.AppsV1Api(api_client), client.CoreV1Api(api_client)
    apps.create_namespaced_deployment(namespace, deployment("pdb", replicas=3))
    client.PolicyV1Api(api_client).create_namespaced_pod_disruption_budget(namespace, {
        "metadata": {"name": "pdb"}, "spec": {"minAvailable": 2, "selector": {"matchLabels": {"app": "pdb"}}}})
    lab_control.settle()
    pods = [p.metadata.name for p in core.list_namespaced_pod(namespace, label_selector="app=pdb").items]
    eviction = lambda name: client.V1Eviction(metadata=client.V1ObjectMeta(name=name, namespace=namespace))  # noqa: E731
    core.create_namespaced_pod_eviction(pods[0], namespace, eviction(pods[0]))
    with pytest.raises(client.ApiException) as exc:
        core.create_namespaced_pod_eviction(pods[1], namespace, eviction(pods[1]))
    assert exc.value.status == 429
    lab_control.settle()  # the replacement Pod becomes Ready: one disruption is allowed again
    remaining = [p.metadata.name for p in core.list_namespaced_pod(namespace, label_selector="app=pdb").items]
    assert len(remaining) == 3 and pods[0] not in remaining
    core.create_namespaced_pod_eviction(pods[1], namespace, eviction(pods[1]))


def test_min_ready_seconds_delays_availability(api_client, namespace):
    from kubernetes import watch
    apps = client.AppsV1Api(api_client)
    d = deployment("slow", replicas=1)
    d["spec"]["minReadySeconds"] = 2
    apps.create_namespaced_deployment(namespace, d)
    seen = []
    w = watch.Watch()
    for ev in w.stream(apps.list_namespaced_deployment, namespace, timeout_seconds=30):
        st = ev["object"].status
        seen.append((st.ready_replicas or 0, st.available_replicas or 0))
        if seen[-1] == (1, 1):
            w.stop()
    assert (1, 0) in seen and seen.index((1, 0)) < seen.index((1, 1))


def test_a_paused_deployment_says_so_and_its_resume_is_said_before_it_goes_on(api_client, namespace):
    from kubernetes import watch
    apps = client.AppsV1Api(api_client)
    apps.create_namespaced_deployment(namespace, deployment("held", replicas=1))

    def progressing():
        conds = apps.read_namespaced_deployment_status("held", namespace).status.conditions or []
        found = [c for c in conds if c.type == "Progressing"]
        return (found[0].status, found[0].reason) if found else None

    wait_until(lambda: progressing() == ("True", "NewReplicaSetAvailable"), message="the rollout to complete")
    apps.patch_namespaced_deployment("held", namespace, {"spec": {"paused": True}})
    wait_until(lambda: progressing() == ("Unknown", "DeploymentPaused"), message="the paused condition")
    # A new template while paused is not rolled out, and no deadline runs.
    apps.patch_namespaced_deployment("held", namespace, {"spec": {"template": {"metadata": {
        "annotations": {"golive.test/rev": "2"}}}}})
    assert progressing() == ("Unknown", "DeploymentPaused")
    version = apps.read_namespaced_deployment("held", namespace).metadata.resource_version
    seen = []
    w = watch.Watch()
    apps.patch_namespaced_deployment("held", namespace, {"spec": {"paused": False}})
    for ev in w.stream(apps.list_namespaced_deployment, namespace, resource_version=version, timeout_seconds=30):
        conds = [c for c in ev["object"].status.conditions or [] if c.type == "Progressing"]
        if conds:
            seen.append((conds[0].status, conds[0].reason))
        if seen and seen[-1] == ("True", "NewReplicaSetAvailable") and ("Unknown", "DeploymentResumed") in seen:
            w.stop()
    assert ("Unknown", "DeploymentResumed") in seen, seen
    assert seen.index(("Unknown", "DeploymentResumed")) < len(seen) - 1 and seen[-1] == ("True", "NewReplicaSetAvailable")

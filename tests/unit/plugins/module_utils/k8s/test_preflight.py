import datetime

import pytest

from ansible_collections.golive.core.plugins.module_utils.k8s import preflight

NOW = datetime.datetime(2026, 11, 22, 12, 0, tzinfo=datetime.timezone.utc)


def observed(version="v1.30.2", **lists):
    obs = {"version": {"gitVersion": version}, "lists": {}, "secrets": {}, "reviews": {}}
    for kind, items in lists.items():
        obs["lists"][kind] = items if isinstance(items, dict) else {"items": items}
    return obs


def status_of(checks, check_id):
    return next(c for c in checks if c["id"] == check_id)


def test_plan_is_constant_in_cluster_size_and_deduplicated():
    spec = {"images": {"namespaces": ["a"]}, "ingress": {"namespace": "x"}, "log_shipper": {"namespace": "l", "name": "f"},
            "secrets": [{"namespace": "a", "name": "s", "keys": []}],
            "permissions": [{"verb": "get", "resource": "pods"}]}
    plan = preflight.plan_requests(spec)
    lists = [key for kind, key in plan if kind == "list"]
    assert len(lists) == len(set(lists))
    assert sorted(lists) == ["daemonsets", "deployments", "ingressclasses", "nodes", "pods", "statefulsets"]
    assert len(plan) == 1 + 6 + 1 + 1


@pytest.mark.parametrize("version,minimum,ok", [
    ("v1.30.2", "1.24", True), ("v1.24.0", "1.24", True), ("v1.23.17", "1.24", False),
    ("v1.29.3-eks-adc7111", "1.27", True), ("garbage", "1.24", False),
])
def test_version(version, minimum, ok):
    checks = preflight.evaluate({"minimum_version": minimum}, observed(version), NOW)
    assert status_of(checks, "k8s.version")["status"] == ("pass" if ok else "fail")


def test_undeclared_sections_are_skipped():
    checks = preflight.evaluate({}, observed(), NOW)
    assert [c["status"] for c in checks if c["id"] != "k8s.version"] == ["skip"] * (len(checks) - 1)


@pytest.mark.parametrize("policies,ok", [
    ([{"metadata": {"namespace": "shop", "name": "deny"}, "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}}], True),
    ([{"metadata": {"namespace": "shop", "name": "deny"}, "spec": {"podSelector": {}}}], True),
    ([{"metadata": {"namespace": "shop", "name": "web"},
       "spec": {"podSelector": {"matchLabels": {"a": "b"}}, "policyTypes": ["Ingress"]}}], False),
    ([{"metadata": {"namespace": "shop", "name": "egress"}, "spec": {"podSelector": {}, "policyTypes": ["Egress"]}}], False),
    ([{"metadata": {"namespace": "shop", "name": "open"},
       "spec": {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{}]}}], False),
    ([], False),
])
def test_default_deny(policies, ok):
    checks = preflight.evaluate({"network_policies": {"namespaces": ["shop"]}}, observed(networkpolicies=policies), NOW)
    check = status_of(checks, "k8s.network_policies")
    assert check["status"] == ("pass" if ok else "fail")
    assert check["evidence"]["without_default_deny"] == ([] if ok else ["shop"])


def test_unreadable_list_fails_only_its_check_with_the_request_named():
    forbidden = {"error": "Failed to run GET ...: cronjobs.batch is forbidden", "request": "list cronjobs.batch (all namespaces)"}
    spec = {"backup_schedules": [{"namespace": "shop", "name": "db-backup", "max_age": "26h"}],
            "storage_classes": {"require_default": True}}
    sc = {"metadata": {"name": "standard", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}}}
    checks = preflight.evaluate(spec, observed(cronjobs=forbidden, storageclasses=[sc]), NOW)
    assert status_of(checks, "k8s.backup_schedules")["status"] == "fail"
    assert status_of(checks, "k8s.backup_schedules")["evidence"]["request"] == "list cronjobs.batch (all namespaces)"
    assert status_of(checks, "k8s.storage_classes")["status"] == "pass"


@pytest.mark.parametrize("cron,problem", [
    ({"spec": {"schedule": "0 2 * * *"}, "status": {"lastSuccessfulTime": "2026-11-22T02:00:00Z"}}, None),
    ({"spec": {"schedule": "0 2 * * *", "suspend": True}, "status": {"lastSuccessfulTime": "2026-11-22T02:00:00Z"}},
     "suspended"),
    ({"spec": {"schedule": "0 2 * * *"}, "status": {"lastScheduleTime": "2026-11-19T02:00:00Z"}}, "no run within 26h"),
    ({"spec": {"schedule": "0 2 * * *"}, "status": {}}, "no run within 26h"),
    ({"spec": {"schedule": "0 2 * * *"}, "status": {}, "created": "2026-11-22T11:00:00Z"}, "warn"),
])
def test_backup_schedules(cron, problem):
    created = cron.pop("created", "2026-10-01T00:00:00Z")
    cron = dict(cron, metadata={"namespace": "shop", "name": "db-backup", "creationTimestamp": created})
    checks = preflight.evaluate({"backup_schedules": [{"namespace": "shop", "name": "db-backup", "max_age": "26h"}]},
                                observed(cronjobs=[cron]), NOW)
    check = status_of(checks, "k8s.backup_schedules")
    if problem == "warn":
        assert check["status"] == "warn"
        assert check["evidence"]["waiting_for_first_run"][0]["problem"] == "no run yet; created 3600s ago"
        return
    assert check["status"] == ("pass" if problem is None else "fail")
    if problem:
        assert check["evidence"]["problems"][0]["problem"] == problem
        assert check["evidence"]["problems"][0]["cronjob"] == "CronJob shop/db-backup"


@pytest.mark.parametrize("image,problems", [
    ("registry.example.com/shop/web:1.2@sha256:" + "a" * 64, []),
    ("registry.example.com/shop/web:latest", ["not pinned by digest"]),
    ("nginx:1.27@sha256:" + "b" * 64, ["registry docker.io not allowed"]),
    ("localhost:5000/web@sha256:" + "c" * 64, ["registry localhost:5000 not allowed"]),
])
def test_images(image, problems):
    dep = {"metadata": {"namespace": "shop", "name": "web"},
           "spec": {"template": {"spec": {"containers": [{"name": "web", "image": image}]}}}}
    spec = {"images": {"namespaces": ["shop"], "allowed_registries": ["registry.example.com"], "require_digest": True}}
    checks = preflight.evaluate(spec, observed(deployments=[dep], statefulsets=[], daemonsets=[]), NOW)
    offenders = status_of(checks, "k8s.images")["evidence"]["offenders"]
    assert [o["problems"] for o in offenders] == ([problems] if problems else [])
    if problems:
        assert offenders[0]["workload"] == "Deployment shop/web"


def test_secrets_compare_key_names_only():
    obs = observed()
    obs["secrets"][("shop", "web-db")] = {"keys": ["DATABASE_URL"]}
    obs["secrets"][("shop", "gone")] = None
    spec = {"secrets": [{"namespace": "shop", "name": "web-db", "keys": ["DATABASE_URL", "DB_PASSWORD"]},
                        {"namespace": "shop", "name": "gone", "keys": []}]}
    check = status_of(preflight.evaluate(spec, obs, NOW), "k8s.secrets")
    assert check["status"] == "fail"
    assert check["evidence"]["problems"] == [
        {"secret": "Secret shop/web-db", "problem": "missing keys", "missing_keys": ["DB_PASSWORD"]},
        {"secret": "Secret shop/gone", "problem": "not found"}]


def test_log_shipper_names_the_node_without_a_ready_pod():
    nodes = [{"metadata": {"name": n}} for n in ("w1", "w2")] + [
        {"metadata": {"name": "cp"}, "spec": {"taints": [{"key": "cp", "effect": "NoSchedule"}]}}]
    ds = {"metadata": {"namespace": "logging", "name": "fb"},
          "spec": {"selector": {"matchLabels": {"app": "fb"}}, "template": {"spec": {}}},
          "status": {"desiredNumberScheduled": 2, "numberReady": 1}}
    pods = [{"metadata": {"namespace": "logging", "labels": {"app": "fb"}}, "spec": {"nodeName": "w1"},
             "status": {"conditions": [{"type": "Ready", "status": "True"}]}},
            {"metadata": {"namespace": "logging", "labels": {"app": "fb"}}, "spec": {"nodeName": "w2"},
             "status": {"conditions": [{"type": "Ready", "status": "False"}]}}]
    check = status_of(preflight.evaluate({"log_shipper": {"namespace": "logging", "name": "fb"}},
                                         observed(daemonsets=[ds], nodes=nodes, pods=pods), NOW), "k8s.log_shipper")
    assert check["status"] == "fail" and check["evidence"]["not_ready_on"] == ["w2"] and check["evidence"]["nodes"] == 2


@pytest.mark.parametrize("text,seconds", [(90, 90.0), ("45m", 2700.0), ("26h", 93600.0), ("2d", 172800.0)])
def test_parse_duration(text, seconds):
    assert preflight.parse_duration(text) == seconds


def _pod(name, count, reason=None, finished=None):
    status = {"name": "app", "restartCount": count}
    if reason:
        status["lastState"] = {"terminated": {"reason": reason, "exitCode": 137 if reason == "OOMKilled" else 1,
                                              "finishedAt": finished}}
    return {"metadata": {"name": name, "namespace": "shop"}, "status": {"containerStatuses": [status]}}


def test_restarts_in_the_window_fail_and_an_oom_kill_is_named_even_when_tolerated():
    spec = {"restarts": {"namespaces": ["shop"], "since": "2026-11-24T09:00:00Z", "max_restarts": 1}}
    observed = {"restart_pods": {"shop": {"items": [
        _pod("web-1", 0), _pod("web-2", 3, "Error", "2026-11-24T08:00:00Z"),  # before the window
        _pod("web-3", 1, "OOMKilled", "2026-11-24T10:00:00Z")]}}}
    ok, evidence = preflight.eval_restarts(observed, spec, None)
    assert not ok and evidence["pods"] == 3 and [r["pod"] for r in evidence["restarted"]] == ["shop/web-3"]
    assert evidence["problems"] == ["shop/web-3 container app was OOM-killed at 2026-11-24T10:00:00Z (1 restarts since "
                                    "the Pod started): its memory limit is too low for its load"]
    observed["restart_pods"]["shop"]["items"][2] = _pod("web-3", 1, "Error", "2026-11-24T10:00:00Z")
    assert preflight.eval_restarts(observed, spec, None)[0]  # one restart tolerated
    spec["restarts"]["max_restarts"] = 0
    ok, evidence = preflight.eval_restarts(observed, spec, None)
    assert not ok and evidence["problems"][0].startswith("shop/web-3 container app restarted (last exit 1, Error")
    assert not preflight.eval_restarts({"restart_pods": {"shop": {"items": []}}}, spec, None)[0]
    unreadable = {"restart_pods": {"shop": {"error": "403 Forbidden", "request": "list pods in shop"}}}
    assert preflight.eval_restarts(unreadable, spec, None)[1]["problems"] == ["list pods in shop: 403 Forbidden"]

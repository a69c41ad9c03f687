# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Cluster readiness (Day -7) in one call: gather with a fixed set of requests, then
evaluate a declared readiness spec purely.

``plan_requests(spec)`` names every request the spec needs: one cluster-wide LIST per
kind, one GET per declared Secret and one access review per declared permission, so the
count depends on the spec, never on the size of the cluster. ``gather`` runs them and
keeps a failed request (a 403, say) as an observation; ``evaluate`` turns the
observations into checks, and a check whose data could not be read fails with the
request and the reason as evidence.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import time

from ansible_collections.golive.core.plugins.module_utils.common.checks import FAIL, PASS, SKIP, UNDECLARED, WARN, make_check
from ansible_collections.golive.core.plugins.module_utils.common.clock import parse_time, utcnow
from ansible_collections.golive.core.plugins.module_utils.common.errors import GoliveError
from ansible_collections.golive.core.plugins.module_utils.k8s import dashboards
from ansible_collections.golive.core.plugins.module_utils.k8s.images import parse, registry_of
from ansible_collections.golive.core.plugins.module_utils.metrics.prometheus import Prometheus

# kind key -> (API path of the cluster-wide LIST, human name for evidence)
LISTS = {
    "namespaces": ("/api/v1/namespaces", "namespaces"),
    "nodes": ("/api/v1/nodes", "nodes"),
    "storageclasses": ("/apis/storage.k8s.io/v1/storageclasses", "storageclasses.storage.k8s.io"),
    "networkpolicies": ("/apis/networking.k8s.io/v1/networkpolicies", "networkpolicies.networking.k8s.io"),
    "ingressclasses": ("/apis/networking.k8s.io/v1/ingressclasses", "ingressclasses.networking.k8s.io"),
    "deployments": ("/apis/apps/v1/deployments", "deployments.apps"),
    "statefulsets": ("/apis/apps/v1/statefulsets", "statefulsets.apps"),
    "daemonsets": ("/apis/apps/v1/daemonsets", "daemonsets.apps"),
    "cronjobs": ("/apis/batch/v1/cronjobs", "cronjobs.batch"),
    "crds": ("/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
             "customresourcedefinitions.apiextensions.k8s.io"),
    "clusterissuers": ("/apis/cert-manager.io/v1/clusterissuers", "clusterissuers.cert-manager.io"),
    "certificates": ("/apis/cert-manager.io/v1/certificates", "certificates.cert-manager.io"),
    "prometheusrules": ("/apis/monitoring.coreos.com/v1/prometheusrules", "prometheusrules.monitoring.coreos.com"),
    "pods": ("/api/v1/pods", "pods"),
    "vulnerabilityreports": ("/apis/aquasecurity.github.io/v1alpha1/vulnerabilityreports",
                             "vulnerabilityreports.aquasecurity.github.io"),
    "horizontalpodautoscalers": ("/apis/autoscaling/v2/horizontalpodautoscalers",
                                 "horizontalpodautoscalers.autoscaling"),
    "configmaps": ("/api/v1/configmaps", "configmaps"),
}

CERT_MANAGER_CRDS = ("certificates.cert-manager.io", "issuers.cert-manager.io", "clusterissuers.cert-manager.io")
WORKLOAD_KINDS = {"Deployment": "deployments", "StatefulSet": "statefulsets", "DaemonSet": "daemonsets"}

CHECKLIST = {
    "k8s.version": "Kubernetes cluster version verified (1.24+)",
    "k8s.namespaces": "Required namespaces created",
    "k8s.rbac": "RBAC permissions configured",
    "k8s.storage_classes": "Storage classes available",
    "k8s.network_policies": "Network policies applied",
    "k8s.ingress_controller": "Ingress controller installed",
    "k8s.cert_manager": "cert-manager installed and configured",
    "k8s.monitoring": "Monitoring stack (Prometheus/Grafana) deployed",
    "k8s.alert_rules": "Configure alerting rules",
    "k8s.log_shipper": "Set up log aggregation",
    "k8s.backup_schedules": "Create backup schedules",
    "k8s.secrets": "Secrets properly configured",
    "k8s.images": "Container images built and scanned",
    "k8s.autoscaling": "Auto-scaling working",
    "k8s.dashboards": ["Dashboards configured", "Dashboard Creation - Monitoring dashboards created and shared"],
    "k8s.restarts": "System Stability - System running stably",
}

TITLES = {
    "k8s.version": "Cluster version is supported",
    "k8s.namespaces": "Required namespaces exist with their labels",
    "k8s.rbac": "The deploying identity has the permissions it needs",
    "k8s.storage_classes": "A default StorageClass and the named ones exist",
    "k8s.network_policies": "Application namespaces have default-deny and the declared allows",
    "k8s.ingress_controller": "An IngressClass exists and its controller is ready",
    "k8s.cert_manager": "cert-manager is installed, ready, and its issuers and certificates are Ready",
    "k8s.monitoring": "Prometheus, Alertmanager and Grafana are ready",
    "k8s.alert_rules": "PrometheusRules carry the declared alerts",
    "k8s.log_shipper": "The log shipper runs ready on every node",
    "k8s.backup_schedules": "Backup CronJobs exist, are active and ran recently",
    "k8s.secrets": "Declared Secrets exist with the declared keys",
    "k8s.images": "Workload images are pinned by digest and from allowed registries",
    "k8s.autoscaling": "HorizontalPodAutoscalers are active, with current metrics, within their bounds",
    "k8s.dashboards": "Declared Grafana dashboards exist, parse, and every panel's query has data",
    "k8s.restarts": "The release's containers did not restart or get OOM-killed within the window",
}

ORDER = list(TITLES)


# ---------------------------------------------------------------------------
# Planning: which requests a spec needs
# ---------------------------------------------------------------------------

def _section_lists(spec):
    """Which LISTs each declared section needs."""
    needs = {}
    if spec.get("namespaces"):
        needs["k8s.namespaces"] = ["namespaces"]
    if spec.get("storage_classes"):
        needs["k8s.storage_classes"] = ["storageclasses"]
    if spec.get("network_policies"):
        needs["k8s.network_policies"] = ["networkpolicies"]
    if spec.get("ingress"):
        needs["k8s.ingress_controller"] = ["ingressclasses", "deployments", "daemonsets"]
    if spec.get("cert_manager"):
        lists = ["crds", "deployments"]
        if spec["cert_manager"].get("cluster_issuers"):
            lists.append("clusterissuers")
        if spec["cert_manager"].get("certificates"):
            lists.append("certificates")
        needs["k8s.cert_manager"] = lists
    if spec.get("monitoring") and spec["monitoring"].get("components"):
        needs["k8s.monitoring"] = sorted(set(WORKLOAD_KINDS[c.get("kind") or "Deployment"]
                                             for c in spec["monitoring"]["components"]))
    if spec.get("monitoring") and spec["monitoring"].get("alerts"):
        needs["k8s.alert_rules"] = ["prometheusrules"]
    if spec.get("log_shipper"):
        needs["k8s.log_shipper"] = ["daemonsets", "nodes", "pods"]
    if spec.get("backup_schedules"):
        needs["k8s.backup_schedules"] = ["cronjobs"]
    if spec.get("images"):
        needs["k8s.images"] = ["deployments", "statefulsets", "daemonsets"] + (
            ["vulnerabilityreports"] if spec["images"].get("scans") else [])
    if spec.get("autoscaling"):
        needs["k8s.autoscaling"] = ["horizontalpodautoscalers"]
    if spec.get("dashboards"):
        needs["k8s.dashboards"] = ["configmaps"]
    return needs


def plan_requests(spec):
    """The requests ``gather`` will make for ``spec``: (kind, key) pairs, deduplicated."""
    requests = [("version", "/version")]
    lists = []
    for kinds in _section_lists(spec).values():
        for kind in kinds:
            if kind not in lists:
                lists.append(kind)
    requests += [("list", kind) for kind in lists]
    for secret in spec.get("secrets") or []:
        requests.append(("secret", (secret["namespace"], secret["name"])))
    for perm in spec.get("permissions") or []:
        requests.append(("review", _review_key(perm)))
    return requests


def _review_key(perm):
    return (perm.get("service_account") or "", perm["verb"], perm.get("group") or "", perm["resource"],
            perm.get("subresource") or "", perm.get("namespace") or "", perm.get("name") or "")


def review_body(perm):
    attrs = {"verb": perm["verb"], "group": perm.get("group") or "", "resource": perm["resource"]}
    for field in ("subresource", "namespace", "name"):
        if perm.get(field):
            attrs[field] = perm[field]
    if perm.get("service_account"):
        namespace, name = perm["service_account"].split("/", 1)
        return ("/apis/authorization.k8s.io/v1/subjectaccessreviews", {
            "apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
            "spec": {"resourceAttributes": attrs, "user": "system:serviceaccount:%s:%s" % (namespace, name),
                     "groups": ["system:serviceaccounts", "system:serviceaccounts:%s" % namespace,
                                "system:authenticated"]}})
    return ("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", {
        "apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
        "spec": {"resourceAttributes": attrs}})


# ---------------------------------------------------------------------------
# Gathering
# ---------------------------------------------------------------------------

def _list_path(kind, spec):
    """Cluster-wide, except pods: only the log shipper's namespace is needed."""
    if kind == "pods":
        return "/api/v1/namespaces/%s/pods" % spec["log_shipper"]["namespace"]
    return LISTS[kind][0]


def _list_selector(kind, spec):
    """ConfigMaps: only those labelled for the Grafana sidecar."""
    if kind == "configmaps":
        return spec["dashboards"].get("label") or "grafana_dashboard=1"
    return None


def _dashboard_answers(observed, spec):
    """Run each declared dashboard's panel queries against Prometheus: ``{uid: [...]}``."""
    wanted = spec["dashboards"]
    listed = observed["lists"].get("configmaps") or {}
    if "error" in listed or not wanted.get("prometheus_url"):
        return {}
    boards, _broken = dashboards.from_configmaps(listed.get("items") or [])
    prometheus = Prometheus(wanted["prometheus_url"], wanted.get("prometheus_token"),
                            timeout=wanted.get("prometheus_timeout") or 10)
    answers = {}
    for uid in wanted.get("uids") or []:
        if uid not in boards:
            continue
        results = []
        for item in dashboards.queries(boards[uid]["json"], wanted.get("variables")):
            if not item["unknown"]:
                try:
                    item["series"] = len(prometheus.query(item["expr"]))
                except GoliveError as exc:
                    item["error"] = exc.message
            results.append(item)
        answers[uid] = results
    return answers


def gather(kube, spec):
    """Run the planned requests; failures are kept as ``{"error": ...}`` observations."""
    observed = {"lists": {}, "secrets": {}, "reviews": {}, "version": None}
    perms = dict((_review_key(p), p) for p in spec.get("permissions") or [])
    for kind, key in plan_requests(spec):
        try:
            if kind == "version":
                observed["version"] = kube.version()
            elif kind == "list":
                observed["lists"][key] = {"items": kube.list(_list_path(key, spec),
                                                             label_selector=_list_selector(key, spec))}
            elif kind == "secret":
                secret = kube.get("/api/v1/namespaces/%s/secrets/%s" % key, missing_ok=True)
                # Keep key names only: values are dropped here and never reach a result.
                observed["secrets"][key] = None if secret is None else {
                    "keys": sorted(set(list((secret.get("data") or {}).keys())
                                       + list((secret.get("stringData") or {}).keys())))}
            else:
                path, body = review_body(perms[key])
                answer = kube.request("POST", path, body=body, what="an access review") or {}
                observed["reviews"][key] = answer.get("status") or {}
        except GoliveError as exc:
            error = {"error": exc.message}
            if kind == "list":
                error["request"] = "list %s (all namespaces)" % LISTS[key][1]
                observed["lists"][key] = error
            elif kind == "secret":
                error["request"] = "get secret %s/%s" % key
                observed["secrets"][key] = error
            elif kind == "review":
                error["request"] = "create access review"
                observed["reviews"][key] = error
            else:
                observed["version"] = error
    if spec.get("dashboards"):
        try:
            observed["dashboard_answers"] = _dashboard_answers(observed, spec)
        except GoliveError as exc:
            observed["dashboard_answers"] = {"error": exc.message}
    if spec.get("restarts"):
        observed["restart_pods"] = {}
        for namespace in spec["restarts"].get("namespaces") or []:
            try:
                observed["restart_pods"][namespace] = {"items": kube.list(
                    "/api/v1/namespaces/%s/pods" % namespace, label_selector=spec["restarts"].get("selector") or None)}
            except GoliveError as exc:
                observed["restart_pods"][namespace] = {"error": exc.message, "request": "list pods in %s" % namespace}
    return observed


# ---------------------------------------------------------------------------
# Evaluation (pure)
# ---------------------------------------------------------------------------

class _Unreadable(Exception):
    def __init__(self, evidence):
        super(_Unreadable, self).__init__(evidence.get("error"))
        self.evidence = evidence


def _items(observed, kind):
    entry = observed["lists"].get(kind)
    if entry is None:
        raise _Unreadable({"error": "not gathered", "request": "list %s" % LISTS[kind][1]})
    if "error" in entry:
        raise _Unreadable(entry)
    return entry["items"]


def _meta(obj):
    return obj.get("metadata") or {}


def _ref(obj, kind=None):
    meta = _meta(obj)
    name = "%s/%s" % (meta.get("namespace"), meta.get("name")) if meta.get("namespace") else meta.get("name")
    return "%s %s" % (kind or obj.get("kind") or "object", name)


def _condition(obj, ctype):
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if cond.get("type") == ctype:
            return cond
    return None


def parse_version(text):
    match = re.match(r"^v?(\d+)\.(\d+)(?:\.(\d+))?", str(text or "").strip())
    if not match:
        return None
    return tuple(int(part or 0) for part in match.groups())


def parse_duration(value):
    """Seconds from ``90``, ``"45m"``, ``"26h"``, ``"2d"``."""
    if isinstance(value, (int, float)):
        return float(value)
    match = re.match(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$", str(value))
    if not match:
        raise ValueError("not a duration: %r" % (value,))
    return float(match.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]


def workload_ready(obj):
    """(ready, observed) for a Deployment, StatefulSet or DaemonSet."""
    kind = obj.get("kind")
    status = obj.get("status") or {}
    if kind == "DaemonSet":
        desired = int(status.get("desiredNumberScheduled") or 0)
        ready = int(status.get("numberReady") or 0)
        return desired > 0 and ready >= desired, "%d/%d ready" % (ready, desired)
    wanted = int((obj.get("spec") or {}).get("replicas", 1) or 0)
    ready = int(status.get("readyReplicas") or 0)
    return wanted > 0 and ready >= wanted, "%d/%d ready" % (ready, wanted)


def _by_name(items, namespace=None):
    out = {}
    for obj in items:
        meta = _meta(obj)
        if namespace is None or meta.get("namespace") == namespace:
            out[meta.get("name")] = obj
    return out


def _matches(labels, selector):
    """``selector`` is ``{key: value}`` or a ``k=v,k2=v2`` string."""
    if isinstance(selector, str):
        selector = dict(part.split("=", 1) for part in selector.split(",") if "=" in part)
    return all((labels or {}).get(k) == v for k, v in (selector or {}).items())


def eval_version(observed, spec, now):
    version = observed["version"]
    if isinstance(version, dict) and "error" in version:
        raise _Unreadable(version)
    found = parse_version((version or {}).get("gitVersion"))
    minimum = parse_version(spec.get("minimum_version") or "1.24")
    evidence = {"git_version": (version or {}).get("gitVersion"), "minimum": spec.get("minimum_version") or "1.24",
                "platform": (version or {}).get("platform")}
    return found is not None and found >= minimum, evidence


def eval_namespaces(observed, spec, now):
    existing = _by_name(_items(observed, "namespaces"))
    missing, wrong_labels, not_active = [], [], []
    for declared in spec["namespaces"]:
        name = declared["name"] if isinstance(declared, dict) else declared
        ns = existing.get(name)
        if ns is None:
            missing.append(name)
            continue
        if ((ns.get("status") or {}).get("phase") or "Active") != "Active":
            not_active.append(name)
        labels = _meta(ns).get("labels") or {}
        for key, value in ((declared.get("labels") if isinstance(declared, dict) else None) or {}).items():
            if labels.get(key) != value:
                wrong_labels.append({"namespace": name, "label": key, "wanted": value, "found": labels.get(key)})
    evidence = {"declared": len(spec["namespaces"]), "missing": missing, "label_mismatches": wrong_labels,
                "not_active": not_active}
    return not (missing or wrong_labels or not_active), evidence


def eval_rbac(observed, spec, now):
    denied, allowed = [], 0
    for perm in spec["permissions"]:
        status = observed["reviews"].get(_review_key(perm)) or {}
        what = "%s %s%s%s%s" % (perm["verb"], perm["resource"], "/" + perm["subresource"] if perm.get("subresource") else "",
                                "." + perm["group"] if perm.get("group") else "",
                                " in " + perm["namespace"] if perm.get("namespace") else " (cluster-wide)")
        if perm.get("service_account"):
            what += " as " + perm["service_account"]
        if "error" in status:
            denied.append({"permission": what, "reason": status["error"]})
        elif status.get("allowed"):
            allowed += 1
        else:
            denied.append({"permission": what, "reason": status.get("reason") or status.get("evaluationError") or "denied"})
    return not denied, {"checked": len(spec["permissions"]), "allowed": allowed, "denied": denied}


_DEFAULT_SC = ("storageclass.kubernetes.io/is-default-class", "storageclass.beta.kubernetes.io/is-default-class")


def eval_storage(observed, spec, now):
    classes = _by_name(_items(observed, "storageclasses"))
    defaults = sorted(name for name, sc in classes.items()
                      if any((_meta(sc).get("annotations") or {}).get(a) == "true" for a in _DEFAULT_SC))
    wanted = spec["storage_classes"]
    missing = [n for n in wanted.get("names") or [] if n not in classes]
    need_default = wanted.get("require_default", True)
    ok = not missing and (not need_default or len(defaults) == 1)
    evidence = {"classes": sorted(classes), "default": defaults, "missing": missing}
    if need_default and len(defaults) != 1:
        evidence["problem"] = "no default StorageClass" if not defaults else "more than one default StorageClass"
    return ok, evidence


def is_default_deny(policy):
    spec = policy.get("spec") or {}
    selector = spec.get("podSelector") or {}
    if selector.get("matchLabels") or selector.get("matchExpressions"):
        return False
    types = spec.get("policyTypes") or ["Ingress"]
    return "Ingress" in types and not spec.get("ingress")


def eval_network_policies(observed, spec, now):
    policies = _items(observed, "networkpolicies")
    wanted = spec["network_policies"]
    by_ns = {}
    for pol in policies:
        by_ns.setdefault(_meta(pol).get("namespace"), []).append(pol)
    without_deny = [ns for ns in wanted.get("namespaces") or []
                    if not any(is_default_deny(p) for p in by_ns.get(ns, []))]
    names = set((_meta(p).get("namespace"), _meta(p).get("name")) for p in policies)
    missing_allows = ["%s/%s" % (a["namespace"], a["name"]) for a in wanted.get("allows") or []
                      if (a["namespace"], a["name"]) not in names]
    evidence = {"namespaces": wanted.get("namespaces") or [], "without_default_deny": without_deny,
                "missing_allows": missing_allows}
    return not (without_deny or missing_allows), evidence


def _workloads(observed, kinds, namespace, selector):
    found = []
    for kind in kinds:
        for obj in _items(observed, WORKLOAD_KINDS[kind]):
            obj.setdefault("kind", kind)
            if _meta(obj).get("namespace") == namespace and _matches(_meta(obj).get("labels"), selector):
                found.append(obj)
    return found


def eval_ingress(observed, spec, now):
    wanted = spec["ingress"]
    classes = _by_name(_items(observed, "ingressclasses"))
    name = wanted.get("class_name")
    if not name:
        defaults = [n for n, c in classes.items()
                    if (_meta(c).get("annotations") or {}).get("ingressclass.kubernetes.io/is-default-class") == "true"]
        name = defaults[0] if defaults else None
    ingress_class = classes.get(name) if name else None
    evidence = {"ingress_class": name, "controller": (ingress_class or {}).get("spec", {}).get("controller")}
    if ingress_class is None:
        evidence["problem"] = "IngressClass %s not found" % name if name else "no default IngressClass"
        return False, evidence
    workloads = _workloads(observed, ["Deployment", "DaemonSet"], wanted["namespace"], wanted.get("selector") or {})
    states = dict((_ref(w), workload_ready(w)) for w in workloads)
    evidence["controller_workloads"] = dict((ref, state[1]) for ref, state in states.items())
    if not workloads:
        evidence["problem"] = "no controller workload in namespace %s matches %s" % (
            wanted["namespace"], wanted.get("selector"))
        return False, evidence
    not_ready = sorted(ref for ref, state in states.items() if not state[0])
    if not_ready:
        evidence["not_ready"] = not_ready
    return not not_ready, evidence


def eval_cert_manager(observed, spec, now):
    wanted = spec["cert_manager"]
    crds = set(_by_name(_items(observed, "crds")))
    missing_crds = [c for c in CERT_MANAGER_CRDS if c not in crds]
    deployments = [d for d in _items(observed, "deployments")
                   if _meta(d).get("namespace") == (wanted.get("namespace") or "cert-manager")]
    for dep in deployments:
        dep.setdefault("kind", "Deployment")
    not_ready = sorted(_ref(d) for d in deployments if not workload_ready(d)[0])
    evidence = {"missing_crds": missing_crds, "deployments": sorted(_ref(d) for d in deployments),
                "not_ready": not_ready}
    problems = bool(missing_crds or not_ready or not deployments)
    if not deployments:
        evidence["problem"] = "no cert-manager Deployment in namespace %s" % (wanted.get("namespace") or "cert-manager")
    issuers_bad = []
    if wanted.get("cluster_issuers"):
        issuers = _by_name(_items(observed, "clusterissuers"))
        for name in wanted["cluster_issuers"]:
            cond = _condition(issuers.get(name) or {}, "Ready")
            if name not in issuers:
                issuers_bad.append({"cluster_issuer": name, "problem": "not found"})
            elif not cond or cond.get("status") != "True":
                issuers_bad.append({"cluster_issuer": name, "problem": "not Ready",
                                    "reason": (cond or {}).get("reason"), "message": (cond or {}).get("message")})
    certs_bad = []
    if wanted.get("certificates"):
        certs = dict(((_meta(c).get("namespace"), _meta(c).get("name")), c) for c in _items(observed, "certificates"))
        min_valid = parse_duration(wanted.get("min_valid") or "7d")
        for ref in wanted["certificates"]:
            cert = certs.get((ref["namespace"], ref["name"]))
            label = "%s/%s" % (ref["namespace"], ref["name"])
            if cert is None:
                certs_bad.append({"certificate": label, "problem": "not found"})
                continue
            cond = _condition(cert, "Ready")
            not_after = parse_time((cert.get("status") or {}).get("notAfter"))
            if not cond or cond.get("status") != "True":
                certs_bad.append({"certificate": label, "problem": "not Ready", "reason": (cond or {}).get("reason")})
            elif not_after is not None and (not_after - now).total_seconds() < min_valid:
                certs_bad.append({"certificate": label, "problem": "expires too soon",
                                  "not_after": (cert.get("status") or {}).get("notAfter")})
    evidence["cluster_issuers"] = wanted.get("cluster_issuers") or []
    evidence["issuer_problems"] = issuers_bad
    evidence["certificates"] = ["%s/%s" % (c["namespace"], c["name"]) for c in wanted.get("certificates") or []]
    evidence["certificate_problems"] = certs_bad
    return not (problems or issuers_bad or certs_bad), evidence


def eval_monitoring(observed, spec, now):
    states, missing = {}, []
    for comp in spec["monitoring"]["components"]:
        kind = comp.get("kind") or "Deployment"
        objs = _by_name(_items(observed, WORKLOAD_KINDS[kind]), comp["namespace"])
        obj = objs.get(comp["name"])
        label = "%s %s/%s" % (kind, comp["namespace"], comp["name"])
        if obj is None:
            missing.append(label)
            continue
        obj.setdefault("kind", kind)
        states[label] = workload_ready(obj)
    not_ready = sorted(label for label, state in states.items() if not state[0])
    evidence = {"components": dict((label, state[1]) for label, state in states.items()),
                "missing": missing, "not_ready": not_ready}
    return not (missing or not_ready), evidence


def eval_alert_rules(observed, spec, now):
    alerts = {}
    for rule in _items(observed, "prometheusrules"):
        for group in (rule.get("spec") or {}).get("groups") or []:
            for item in group.get("rules") or []:
                if item.get("alert"):
                    alerts.setdefault(item["alert"], []).append(_ref(rule, "PrometheusRule"))
    wanted = spec["monitoring"]["alerts"]
    missing = [a for a in wanted if a not in alerts]
    return not missing, {"declared": wanted, "missing": missing,
                         "found_in": dict((a, alerts[a]) for a in wanted if a in alerts)}


def _schedulable(node, tolerations):
    tolerates_all = any(t.get("operator") == "Exists" and not t.get("key") for t in tolerations or [])
    if tolerates_all:
        return True
    for taint in (node.get("spec") or {}).get("taints") or []:
        if taint.get("effect") in ("NoSchedule", "NoExecute") and not any(
                t.get("key") == taint.get("key") for t in tolerations or []):
            return False
    return True


def eval_log_shipper(observed, spec, now):
    wanted = spec["log_shipper"]
    ds = _by_name(_items(observed, "daemonsets"), wanted["namespace"]).get(wanted["name"])
    label = "DaemonSet %s/%s" % (wanted["namespace"], wanted["name"])
    if ds is None:
        return False, {"daemonset": label, "problem": "not found"}
    template = ((ds.get("spec") or {}).get("template") or {}).get("spec") or {}
    nodes = [_meta(n).get("name") for n in _items(observed, "nodes")
             if _schedulable(n, template.get("tolerations"))]
    selector = ((ds.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    ready_on, not_ready_on = set(), set()
    for pod in _items(observed, "pods"):
        if _meta(pod).get("namespace") != wanted["namespace"] or not _matches(_meta(pod).get("labels"), selector):
            continue
        node = (pod.get("spec") or {}).get("nodeName")
        cond = _condition(pod, "Ready")
        (ready_on if cond and cond.get("status") == "True" else not_ready_on).add(node)
    missing_on = sorted(n for n in nodes if n not in ready_on)
    status = ds.get("status") or {}
    evidence = {"daemonset": label, "nodes": len(nodes), "desired": status.get("desiredNumberScheduled"),
                "ready": status.get("numberReady"), "not_ready_on": missing_on}
    return not missing_on and workload_ready(dict(ds, kind="DaemonSet"))[0], evidence


def eval_backups(observed, spec, now):
    cronjobs = dict(((_meta(c).get("namespace"), _meta(c).get("name")), c) for c in _items(observed, "cronjobs"))
    problems, seen, waiting = [], [], []
    for ref in spec["backup_schedules"]:
        label = "CronJob %s/%s" % (ref["namespace"], ref["name"])
        cron = cronjobs.get((ref["namespace"], ref["name"]))
        if cron is None:
            problems.append({"cronjob": label, "problem": "not found"})
            continue
        status = cron.get("status") or {}
        last = parse_time(status.get("lastSuccessfulTime") or status.get("lastScheduleTime"))
        age = (now - last).total_seconds() if last else None
        max_age = parse_duration(ref.get("max_age") or "26h")
        entry = {"cronjob": label, "schedule": (cron.get("spec") or {}).get("schedule"),
                 "last_run": status.get("lastSuccessfulTime") or status.get("lastScheduleTime"),
                 "age_seconds": None if age is None else int(age), "max_age_seconds": int(max_age)}
        seen.append(entry)
        created = parse_time(_meta(cron).get("creationTimestamp"))
        if (cron.get("spec") or {}).get("suspend"):
            problems.append(dict(entry, problem="suspended"))
        elif age is None and created is not None and (now - created).total_seconds() <= max_age:
            # Just created (Day -7 applies it): no run is due yet, which is not staleness.
            waiting.append(dict(entry, problem="no run yet; created %ds ago" % int((now - created).total_seconds())))
        elif age is None or age > max_age:
            problems.append(dict(entry, problem="no run within %s" % (ref.get("max_age") or "26h")))
    if not problems and waiting:
        return WARN, {"cronjobs": seen, "problems": [], "waiting_for_first_run": waiting}
    return not problems, {"cronjobs": seen, "problems": problems, "waiting_for_first_run": waiting}


def eval_restarts(observed, spec, now):
    """Restarts and OOM kills of the release's containers within the window (``since``).

    The API keeps a container's restart count since its Pod started and its last
    termination only: a restart is counted in the window when the last termination ended
    in it (earlier ones of the same container are in the count, not in the window)."""
    wanted = spec["restarts"]
    since = parse_time(wanted.get("since")) if wanted.get("since") else None
    allowed = int(wanted.get("max_restarts") or 0)
    problems, restarted, unreadable, pods = [], [], [], 0
    for namespace in wanted.get("namespaces") or []:
        entry = (observed.get("restart_pods") or {}).get(namespace) or {}
        if "error" in entry:
            unreadable.append("%s: %s" % (entry.get("request"), entry["error"]))
            continue
        for pod in entry.get("items") or []:
            pods += 1
            meta = _meta(pod)
            for status in ((pod.get("status") or {}).get("initContainerStatuses") or []) + \
                    ((pod.get("status") or {}).get("containerStatuses") or []):
                count = int(status.get("restartCount") or 0)
                last = ((status.get("lastState") or {}).get("terminated")) or {}
                ended = parse_time(last.get("finishedAt")) if last.get("finishedAt") else None
                if not count or (since is not None and (ended is None or ended < since)):
                    continue
                restarted.append({"pod": "%s/%s" % (namespace, meta.get("name")), "container": status.get("name"),
                                  "restarts_since_pod_start": count, "last_reason": last.get("reason"),
                                  "last_exit_code": last.get("exitCode"), "last_finished": last.get("finishedAt")})
    for entry in restarted:
        if entry["last_reason"] == "OOMKilled":
            problems.append("%s container %s was OOM-killed at %s (%d restarts since the Pod started): its memory "
                            "limit is too low for its load" % (entry["pod"], entry["container"], entry["last_finished"],
                                                               entry["restarts_since_pod_start"]))
    if len(restarted) > allowed:
        for entry in restarted:
            if entry["last_reason"] != "OOMKilled":
                problems.append("%s container %s restarted (last exit %s, %s, at %s)" % (
                    entry["pod"], entry["container"], entry["last_exit_code"], entry["last_reason"],
                    entry["last_finished"]))
    evidence = {"since": wanted.get("since"), "pods": pods, "restarted": restarted, "max_restarts": allowed}
    problems.extend(unreadable)
    if problems:
        evidence["problems"] = problems
    elif not pods:
        where = ", ".join(wanted.get("namespaces") or [])
        evidence["problems"] = ["no Pod in %s%s" % (where, " matching %s" % wanted["selector"]
                                                    if wanted.get("selector") else "")]
        return False, evidence
    return not problems, evidence


def eval_secrets(observed, spec, now):
    problems = []
    for ref in spec["secrets"]:
        entry = observed["secrets"].get((ref["namespace"], ref["name"]))
        label = "Secret %s/%s" % (ref["namespace"], ref["name"])
        if entry is None:
            problems.append({"secret": label, "problem": "not found"})
        elif "error" in entry:
            problems.append({"secret": label, "problem": entry["error"]})
        else:
            missing = [k for k in ref.get("keys") or [] if k not in entry["keys"]]
            if missing:
                problems.append({"secret": label, "problem": "missing keys", "missing_keys": missing})
    return not problems, {"declared": ["%s/%s" % (s["namespace"], s["name"]) for s in spec["secrets"]],
                          "problems": problems}


SEVERITIES = ("UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL")


def _report_image(report):
    """``(registry, repository, tag, digest)`` of the image a VulnerabilityReport scanned."""
    body = report.get("report") or {}
    artifact = body.get("artifact") or {}
    registry = ((body.get("registry") or {}).get("server") or "docker.io").replace("index.docker.io", "docker.io")
    return registry, artifact.get("repository"), artifact.get("tag"), artifact.get("digest")


def scan_of(image, reports):
    """The VulnerabilityReports (trivy-operator's) of ``image``: same registry and repository,
    and the same digest when both name one, else the same tag."""
    try:
        parts = parse(image)
    except ValueError:
        return []
    found = []
    for report in reports:
        registry, repository, tag, digest = _report_image(report)
        if registry != parts["registry"] or repository != parts["repository"]:
            continue
        if (parts["digest"] and digest and digest == parts["digest"]) or \
                (not (parts["digest"] and digest) and tag == parts["tag"]):
            found.append(report)
    return found


def scan_problems(image, reports, fail_on="HIGH", ignore=(), require_report=True):
    """``(problems, evidence)`` of an image's scan: findings at or above ``fail_on`` (less
    the ``ignore``d ids), naming the CVE, package, installed and fixed versions; no report
    is "not scanned"."""
    mine = scan_of(image, reports)
    if not mine:
        return (["not scanned (no VulnerabilityReport for this image)"] if require_report else []), {"reports": 0}
    floor = SEVERITIES.index(fail_on)
    findings = []
    for report in mine:
        for vuln in (report.get("report") or {}).get("vulnerabilities") or []:
            severity = str(vuln.get("severity") or "UNKNOWN").upper()
            if vuln.get("vulnerabilityID") in ignore or severity not in SEVERITIES:
                continue
            if SEVERITIES.index(severity) >= floor:
                findings.append({"id": vuln.get("vulnerabilityID"), "severity": severity,
                                 "package": vuln.get("resource"), "installed": vuln.get("installedVersion"),
                                 "fixed": vuln.get("fixedVersion") or None})
    findings.sort(key=lambda f: (-SEVERITIES.index(f["severity"]), f["id"] or ""))
    evidence = {"reports": len(mine), "scanned_at": max(((r.get("report") or {}).get("updateTimestamp") or "")
                                                        for r in mine) or None, "findings": findings}
    if not findings:
        return [], evidence
    shown = ", ".join("%s (%s, %s %s, %s)" % (
        f["id"], f["severity"], f["package"], f["installed"], "fixed in %s" % f["fixed"] if f["fixed"] else "no fix yet")
        for f in findings[:10])
    more = " and %d more" % (len(findings) - 10) if len(findings) > 10 else ""
    return ["%d finding(s) at %s or above: %s%s" % (len(findings), fail_on, shown, more)], evidence


def eval_images(observed, spec, now):
    wanted = spec["images"]
    namespaces = set(wanted.get("namespaces") or [])
    allowed = wanted.get("allowed_registries") or []
    require_digest = wanted.get("require_digest", True)
    scans = wanted.get("scans") or None
    reports = _items(observed, "vulnerabilityreports") if scans else []
    offenders, count, scanned = [], 0, []
    for kind in ("Deployment", "StatefulSet", "DaemonSet"):
        for obj in _items(observed, WORKLOAD_KINDS[kind]):
            meta = _meta(obj)
            if namespaces and meta.get("namespace") not in namespaces:
                continue
            pod = ((obj.get("spec") or {}).get("template") or {}).get("spec") or {}
            for container in (pod.get("initContainers") or []) + (pod.get("containers") or []):
                count += 1
                image = container.get("image") or ""
                problems = []
                if require_digest and "@sha256:" not in image:
                    problems.append("not pinned by digest")
                if allowed and registry_of(image) not in allowed:
                    problems.append("registry %s not allowed" % registry_of(image))
                workload = "%s %s/%s" % (kind, meta.get("namespace"), meta.get("name"))
                if scans:
                    found, evidence = scan_problems(image, reports, scans.get("fail_on") or "HIGH",
                                                    scans.get("ignore") or (), scans.get("require_report", True))
                    problems += found
                    scanned.append(dict(evidence, workload=workload, container=container.get("name"), image=image))
                if problems:
                    offenders.append({"workload": workload, "container": container.get("name"), "image": image,
                                      "problems": problems})
    evidence = {"containers_checked": count, "offenders": offenders,
                "allowed_registries": allowed, "require_digest": require_digest}
    if scans:
        evidence["scans"] = {"fail_on": scans.get("fail_on") or "HIGH", "ignored": list(scans.get("ignore") or []),
                             "images": scanned}
    return not offenders, evidence


def eval_autoscaling(observed, spec, now):
    wanted = spec["autoscaling"]
    namespaces = set(wanted.get("namespaces") or [])
    names = list(wanted.get("names") or [])
    hpas = [h for h in _items(observed, "horizontalpodautoscalers")
            if not namespaces or _meta(h).get("namespace") in namespaces]
    problems, seen = [], []
    present = set("%s/%s" % (_meta(h).get("namespace"), _meta(h).get("name")) for h in hpas)
    for name in names:
        if name not in present and not any(p.endswith("/" + name) for p in present):
            problems.append("HorizontalPodAutoscaler %s not found" % name)
    if not hpas and not names:
        problems.append("no HorizontalPodAutoscaler in %s" % (", ".join(sorted(namespaces)) or "the cluster"))
    for hpa in hpas:
        meta, spec_, status = _meta(hpa), hpa.get("spec") or {}, hpa.get("status") or {}
        ref = "%s/%s" % (meta.get("namespace"), meta.get("name"))
        if names and ref not in names and meta.get("name") not in names:
            continue
        low, high = int(spec_.get("minReplicas") or 1), int(spec_.get("maxReplicas") or 0)
        current = status.get("currentReplicas")
        conds = dict((c.get("type"), c) for c in status.get("conditions") or [])
        target = spec_.get("scaleTargetRef") or {}
        entry = {"hpa": ref, "target": "%s/%s" % (target.get("kind"), target.get("name")), "min": low, "max": high,
                 "current_replicas": current, "desired_replicas": status.get("desiredReplicas"),
                 "metrics": [_metric_text(m) for m in status.get("currentMetrics") or []],
                 "conditions": dict((t, "%s/%s" % (c.get("status"), c.get("reason"))) for t, c in conds.items())}
        seen.append(entry)
        for ctype in ("AbleToScale", "ScalingActive"):
            cond = conds.get(ctype)
            if cond is None:
                problems.append("%s has no %s condition yet (the autoscaler has not reconciled it)" % (ref, ctype))
            elif cond.get("status") != "True":
                problems.append("%s %s=%s (%s): %s" % (ref, ctype, cond.get("status"), cond.get("reason"),
                                                       cond.get("message")))
        if not status.get("currentMetrics") and (conds.get("ScalingActive") or {}).get("status") == "True":
            problems.append("%s reports no current metrics" % ref)
        if current is None or not low <= int(current) <= max(high, low):
            problems.append("%s has %s replicas, outside %d..%d" % (ref, current, low, high))
        limited = conds.get("ScalingLimited") or {}
        if limited.get("status") == "True" and wanted.get("fail_when_limited"):
            problems.append("%s is limited (%s): %s" % (ref, limited.get("reason"), limited.get("message")))
    evidence = {"autoscalers": seen}
    if problems:
        evidence["problems"] = problems
    return not problems, evidence


def _metric_text(metric):
    body = metric.get(metric.get("type", "").lower() or "resource") or metric.get("resource") or {}
    current = body.get("current") or {}
    name = body.get("name") or (body.get("metric") or {}).get("name")
    if current.get("averageUtilization") is not None:
        return "%s %s%% (%s)" % (name, current["averageUtilization"], current.get("averageValue"))
    return "%s %s" % (name, current.get("averageValue") or current.get("value"))


def eval_dashboards(observed, spec, now):
    wanted = spec["dashboards"]
    listed = observed["lists"].get("configmaps") or {}
    if "error" in listed:
        raise _Unreadable(listed)
    answers = observed.get("dashboard_answers") or {}
    if "error" in answers:
        return False, {"problems": ["Prometheus: %s" % answers["error"]]}
    boards, broken = dashboards.from_configmaps(listed.get("items") or [])
    if not wanted.get("prometheus_url"):  # the queries are listed, not run
        answers = dict((uid, dashboards.queries(boards[uid]["json"], wanted.get("variables")))
                       for uid in wanted.get("uids") or [] if uid in boards)
    ok, evidence = dashboards.judge(wanted.get("uids") or [], boards, broken, answers,
                                    require_data=bool(wanted.get("prometheus_url")))
    evidence["label"] = _list_selector("configmaps", spec)
    if not wanted.get("prometheus_url"):
        evidence["panels"] = "not queried (no prometheus_url): the dashboards exist and parse"
    return ok, evidence


EVALUATORS = {
    "k8s.version": (lambda spec: True, eval_version),
    "k8s.namespaces": (lambda spec: bool(spec.get("namespaces")), eval_namespaces),
    "k8s.rbac": (lambda spec: bool(spec.get("permissions")), eval_rbac),
    "k8s.storage_classes": (lambda spec: bool(spec.get("storage_classes")), eval_storage),
    "k8s.network_policies": (lambda spec: bool(spec.get("network_policies")), eval_network_policies),
    "k8s.ingress_controller": (lambda spec: bool(spec.get("ingress")), eval_ingress),
    "k8s.cert_manager": (lambda spec: bool(spec.get("cert_manager")), eval_cert_manager),
    "k8s.monitoring": (lambda spec: bool((spec.get("monitoring") or {}).get("components")), eval_monitoring),
    "k8s.alert_rules": (lambda spec: bool((spec.get("monitoring") or {}).get("alerts")), eval_alert_rules),
    "k8s.log_shipper": (lambda spec: bool(spec.get("log_shipper")), eval_log_shipper),
    "k8s.backup_schedules": (lambda spec: bool(spec.get("backup_schedules")), eval_backups),
    "k8s.secrets": (lambda spec: bool(spec.get("secrets")), eval_secrets),
    "k8s.images": (lambda spec: bool(spec.get("images")), eval_images),
    "k8s.autoscaling": (lambda spec: bool(spec.get("autoscaling")), eval_autoscaling),
    "k8s.dashboards": (lambda spec: bool(spec.get("dashboards")), eval_dashboards),
    "k8s.restarts": (lambda spec: bool(spec.get("restarts")), eval_restarts),
}


def evaluate(spec, observed, now=None):
    """Checks for every section of ``spec``; undeclared sections are reported as skipped."""
    now = now or utcnow()
    checks = []
    for check_id in ORDER:
        declared, evaluator = EVALUATORS[check_id]
        if not declared(spec):
            checks.append(make_check(check_id, TITLES[check_id], SKIP, {"reason": UNDECLARED},
                                     CHECKLIST[check_id]))
            continue
        try:
            ok, evidence = evaluator(observed, spec, now)
            # An evaluator answers a boolean, or a status of its own (WARN).
            status = ok if isinstance(ok, str) else (PASS if ok else FAIL)
        except _Unreadable as exc:
            status, evidence = FAIL, dict(exc.evidence)
        checks.append(make_check(check_id, TITLES[check_id], status, evidence, _checklist(check_id, spec)))
    return checks


# The items a declared image scan gives evidence for, besides the images' own row.
SCAN_ITEMS = ["Security vulnerabilities addressed", "Vulnerability scans clean",
              "Vulnerability Scanning - Security vulnerabilities scanned and fixed"]


def _checklist(check_id, spec):
    if check_id == "k8s.images" and (spec.get("images") or {}).get("scans"):
        items = [CHECKLIST[check_id]] + SCAN_ITEMS
        if not spec["images"]["scans"].get("ignore"):  # any threshold fails on a critical finding
            items.append("No critical vulnerabilities")
        return items
    return CHECKLIST[check_id]


def run_preflight(kube, spec, now=None):
    started = time.monotonic()
    observed = gather(kube, spec)
    checks = evaluate(spec, observed, now)
    return {"changed": False, "checks": checks, "requests": kube.requests,
            "elapsed_seconds": round(time.monotonic() - started, 3),
            "server": {"host": kube.host, "git_version": (observed.get("version") or {}).get("gitVersion")}}

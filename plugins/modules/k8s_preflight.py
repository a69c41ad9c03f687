#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: k8s_preflight
short_description: Check a cluster's readiness for a go-live in one call
version_added: 1.0.0
description:
  - Evaluates a declared readiness spec against a Kubernetes cluster and returns one check
    per section in the collection's check model, each with evidence naming the objects
    behind a failure.
  - Sections are the server version, namespaces and their labels, RBAC permissions of the
    identity the run uses (and of named service accounts), StorageClasses, default-deny
    NetworkPolicies, the ingress controller, cert-manager, the monitoring stack and its
    alert rules, the log shipper, backup CronJobs, Secrets and their keys, and workload
    images.
  - It reads with one cluster-wide LIST per kind it needs, one GET per declared Secret and
    one access review per declared permission, so the number of requests depends on the
    spec and never on the size of the cluster (see RV(requests)).
  - A request the API refuses (a 403, for example) fails the check that needed it, with the
    request and the reason as evidence. Secret values are never read into the result; only
    key names are compared.
author:
  - golive.core maintainers (@golive)
extends_documentation_fragment:
  - golive.core.attributes
  - golive.core.checks
  - golive.core.k8s
options:
  minimum_version:
    description: Oldest supported server version.
    type: str
    default: "1.24"
  namespaces:
    description: Namespaces that must exist (Active), with the labels they must carry.
    type: list
    elements: dict
    suboptions:
      name:
        description: Name of the namespace.
        type: str
        required: true
      labels:
        description: Labels the namespace must carry, with their values.
        type: dict
  permissions:
    description:
      - Permissions the run needs, checked with SelfSubjectAccessReview, or with
        SubjectAccessReview for O(permissions[].service_account).
    type: list
    elements: dict
    suboptions:
      verb:
        description: Verb, for example V(patch).
        type: str
        required: true
      resource:
        description: Resource, for example V(deployments).
        type: str
        required: true
      group:
        description: API group; empty for the core group.
        type: str
        default: ""
      subresource:
        description: Subresource, for example V(scale).
        type: str
      namespace:
        description: Namespace; unset for a cluster-wide check.
        type: str
      name:
        description: Name of one object, when the permission is for one object only.
        type: str
      service_account:
        description: Check for this service account (V(namespace/name)) instead of the caller.
        type: str
  storage_classes:
    description: StorageClasses that must exist.
    type: dict
    suboptions:
      require_default:
        description: Exactly one StorageClass must be the default.
        type: bool
        default: true
      names:
        description: StorageClasses that must exist by name.
        type: list
        elements: str
  network_policies:
    description: NetworkPolicies that must be in force.
    type: dict
    suboptions:
      namespaces:
        description: Namespaces that must each have a default-deny ingress policy (empty pod selector, no ingress rules).
        type: list
        elements: str
      allows:
        description: Allow policies that must exist, by namespace and name.
        type: list
        elements: dict
        suboptions:
          namespace:
            description: Namespace of the policy.
            type: str
            required: true
          name:
            description: Name of the policy.
            type: str
            required: true
  ingress:
    description: The ingress controller.
    type: dict
    suboptions:
      class_name:
        description: IngressClass that must exist; unset means the default IngressClass.
        type: str
      namespace:
        description: Namespace of the controller's Deployment or DaemonSet.
        type: str
        required: true
      selector:
        description: Labels that select the controller's workloads in O(ingress.namespace).
        type: dict
  cert_manager:
    description: cert-manager and what it must have issued.
    type: dict
    suboptions:
      namespace:
        description: Namespace of cert-manager's Deployments.
        type: str
        default: cert-manager
      cluster_issuers:
        description: ClusterIssuers that must be Ready.
        type: list
        elements: str
      certificates:
        description: Certificates that must be Ready and valid for at least O(cert_manager.min_valid).
        type: list
        elements: dict
        suboptions:
          namespace:
            description: Namespace of the Certificate.
            type: str
            required: true
          name:
            description: Name of the Certificate.
            type: str
            required: true
      min_valid:
        description: Shortest acceptable remaining validity, like V(7d) or V(72h).
        type: str
        default: 7d
  monitoring:
    description: The monitoring stack.
    type: dict
    suboptions:
      components:
        description: Workloads that must be ready (Prometheus, Alertmanager, Grafana, ...).
        type: list
        elements: dict
        suboptions:
          kind:
            description: Kind of the workload.
            type: str
            default: Deployment
            choices: [Deployment, StatefulSet, DaemonSet]
          namespace:
            description: Namespace of the workload.
            type: str
            required: true
          name:
            description: Name of the workload.
            type: str
            required: true
      alerts:
        description: Alert names that must be defined in some PrometheusRule.
        type: list
        elements: str
  log_shipper:
    description: The log shipper DaemonSet that must run ready on every node it can schedule on.
    type: dict
    suboptions:
      namespace:
        description: Namespace of the DaemonSet.
        type: str
        required: true
      name:
        description: Name of the DaemonSet.
        type: str
        required: true
  backup_schedules:
    description: Backup CronJobs that must exist, not be suspended, and have run recently.
    type: list
    elements: dict
    suboptions:
      namespace:
        description: Namespace of the CronJob.
        type: str
        required: true
      name:
        description: Name of the CronJob.
        type: str
        required: true
      max_age:
        description: Longest acceptable time since the last successful (or scheduled) run, like V(26h).
        type: str
        default: 26h
  secrets:
    description: Secrets that must exist with the given keys. Values are never returned.
    type: list
    elements: dict
    suboptions:
      namespace:
        description: Namespace of the Secret.
        type: str
        required: true
      name:
        description: Name of the Secret.
        type: str
        required: true
      keys:
        description: Keys the Secret must hold.
        type: list
        elements: str
  images:
    description: Rules for the images of Deployments, StatefulSets and DaemonSets.
    type: dict
    suboptions:
      namespaces:
        description: Namespaces whose workloads are checked; empty means all.
        type: list
        elements: str
      allowed_registries:
        description: Registries images may come from (for example V(registry.example.com)); empty allows any.
        type: list
        elements: str
      require_digest:
        description: Images must be pinned by digest (V(@sha256:...)).
        type: bool
        default: true
      scans:
        description:
          - The scan results the cluster holds, as trivy-operator publishes them (C(VulnerabilityReport) objects of
            C(aquasecurity.github.io/v1alpha1), one per workload container), matched to each image by registry,
            repository and digest (or tag). An image with findings at or above O(images.scans.fail_on) fails,
            naming the CVE ids, packages and fixed versions; an image without a report is "not scanned".
        type: dict
        suboptions:
          fail_on:
            description: The lowest severity that fails.
            type: str
            default: HIGH
            choices: [CRITICAL, HIGH, MEDIUM, LOW]
          ignore:
            description: Vulnerability ids accepted (a risk signed off elsewhere).
            type: list
            elements: str
            default: []
          require_report:
            description: An image without a report fails as not scanned.
            type: bool
            default: true
  autoscaling:
    description:
      - HorizontalPodAutoscalers (C(autoscaling/v2)) that must be working (check C(k8s.autoscaling)) - each
        exists, has C(AbleToScale=True) and C(ScalingActive=True) (otherwise the condition's reason and message
        are named, for example C(FailedGetResourceMetric) when the metrics are missing), reports current
        metrics, and runs a replica count within C(minReplicas)..C(maxReplicas).
    type: dict
    suboptions:
      namespaces:
        description: Namespaces whose autoscalers are checked; empty means all.
        type: list
        elements: str
      names:
        description: Autoscalers that must exist, as V(name) or V(namespace/name); empty checks every one found.
        type: list
        elements: str
      fail_when_limited:
        description: Fail when an autoscaler is held at its minimum or maximum (C(ScalingLimited=True)).
        type: bool
        default: false
  dashboards:
    description:
      - Grafana dashboards as clusters ship them (check C(k8s.dashboards)) - JSON in ConfigMaps labelled for the
        Grafana sidecar (O(dashboards.label), as kube-prometheus-stack does), one dashboard per C(*.json) key.
        Each declared UID must exist and every labelled key must be valid JSON; with O(dashboards.prometheus_url),
        each panel's Prometheus query (rows' panels included; Grafana's interval variables and the dashboard's
        current template values filled in, or O(dashboards.variables)) is run as an instant query and a panel
        whose query fails or returns no series is named.
    type: dict
    suboptions:
      uids:
        description: The dashboards that must exist (their C(uid)).
        type: list
        elements: str
        required: true
      label:
        description: The label selector of the dashboards' ConfigMaps.
        type: str
        default: grafana_dashboard=1
      prometheus_url:
        description: The Prometheus the panels query; without it the queries are listed, not run.
        type: str
      prometheus_token:
        description: A bearer token for O(dashboards.prometheus_url).
        type: str
      variables:
        description: Values of the dashboards' template variables (for example V(namespace)).
        type: dict
        default: {}
  restarts:
    description:
      - The release's Pods after the go-live (check C(k8s.restarts)) - a container whose last termination ended
        after O(restarts.since) restarted within the window; an C(OOMKilled) one fails, naming the Pod, and more
        than O(restarts.max_restarts) restarted containers fail. The API keeps a container's restart count since
        its Pod started and its last termination only; both are in the evidence.
    type: dict
    suboptions:
      namespaces:
        description: The release's namespaces.
        type: list
        elements: str
        required: true
      selector:
        description: A label selector of the release's Pods.
        type: str
      since:
        description: The start of the window (RFC 3339); empty counts every restart since each Pod started.
        type: str
      max_restarts:
        description: How many restarted containers are tolerated (OOM kills never are).
        type: int
        default: 0
  timeout:
    description: Time budget of the whole call, retries included, in seconds.
    type: float
    default: 120.0
attributes:
  check_mode:
    support: full
    details: The module only reads.
  diff_mode:
    support: none
seealso:
  - module: golive.core.k8s_apply
    description: Applies the Day -7 manifests.
  - module: kubernetes.core.k8s_info
    description: Reads any Kubernetes object.
"""

EXAMPLES = r"""
- name: Day -7 readiness of the production cluster
  golive.core.k8s_preflight:
    minimum_version: "1.27"
    namespaces:
      - {name: shop, labels: {golive.io/environment: production}}
    permissions:
      - {verb: patch, resource: deployments, group: apps, namespace: shop}
      - {verb: update, resource: deployments, subresource: scale, group: apps, namespace: shop}
    storage_classes: {require_default: true}
    network_policies: {namespaces: [shop]}
    ingress: {class_name: nginx, namespace: ingress-nginx, selector: {app.kubernetes.io/name: ingress-nginx}}
    cert_manager: {cluster_issuers: [letsencrypt-prod]}
    monitoring:
      components:
        - {kind: StatefulSet, namespace: monitoring, name: prometheus-k8s}
        - {kind: Deployment, namespace: monitoring, name: grafana}
      alerts: [ShopHighErrorRate]
    log_shipper: {namespace: logging, name: fluent-bit}
    backup_schedules: [{namespace: shop, name: db-backup, max_age: 26h}]
    secrets: [{namespace: shop, name: web-db, keys: [DATABASE_URL]}]
    images: {namespaces: [shop], allowed_registries: [registry.example.com]}
"""

RETURN = r"""
checks:
  description: One check per section, in the collection's check model; undeclared sections are V(skip).
  returned: always
  type: list
  elements: dict
  sample:
    - id: k8s.storage_classes
      title: A default StorageClass and the named ones exist
      status: fail
      evidence: {classes: [fast, standard], default: [], missing: [], problem: no default StorageClass}
      checklist: Storage classes available
summary:
  description: Number of checks per status, and the total.
  returned: always
  type: dict
  sample:
    pass: 3
    fail: 0
    warn: 0
    skip: 0
    total: 3
requests:
  description: Number of API requests the call made.
  returned: always
  type: int
elapsed_seconds:
  description: Time the call spent gathering and evaluating, in seconds.
  returned: always
  type: float
server:
  description: The API server and its version.
  returned: always
  type: dict
  sample: {host: "https://10.0.0.1:6443", git_version: v1.30.2}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.golive.core.plugins.module_utils.common import module as base
from ansible_collections.golive.core.plugins.module_utils.common.clock import parse_time
from ansible_collections.golive.core.plugins.module_utils.common.errors import InvalidInput
from ansible_collections.golive.core.plugins.module_utils.k8s import client as k8s
from ansible_collections.golive.core.plugins.module_utils.k8s.preflight import run_preflight


def _ref(**extra):
    spec = dict(namespace=dict(type="str", required=True), name=dict(type="str", required=True))
    spec.update(extra)
    return spec


def argument_spec():
    lst = dict(type="list", elements="str")
    spec = dict(
        minimum_version=dict(type="str", default="1.24"),
        namespaces=dict(type="list", elements="dict", options=dict(
            name=dict(type="str", required=True), labels=dict(type="dict"))),
        permissions=dict(type="list", elements="dict", options=dict(
            verb=dict(type="str", required=True), resource=dict(type="str", required=True),
            group=dict(type="str", default=""), subresource=dict(type="str"), namespace=dict(type="str"),
            name=dict(type="str"), service_account=dict(type="str"))),
        storage_classes=dict(type="dict", options=dict(require_default=dict(type="bool", default=True), names=lst)),
        network_policies=dict(type="dict", options=dict(
            namespaces=lst, allows=dict(type="list", elements="dict", options=_ref()))),
        ingress=dict(type="dict", options=dict(class_name=dict(type="str"), namespace=dict(type="str", required=True),
                                               selector=dict(type="dict"))),
        cert_manager=dict(type="dict", options=dict(
            namespace=dict(type="str", default="cert-manager"), cluster_issuers=lst,
            certificates=dict(type="list", elements="dict", options=_ref()), min_valid=dict(type="str", default="7d"))),
        monitoring=dict(type="dict", options=dict(alerts=lst, components=dict(type="list", elements="dict", options=_ref(
            kind=dict(type="str", default="Deployment", choices=["Deployment", "StatefulSet", "DaemonSet"]))))),
        log_shipper=dict(type="dict", options=_ref()),
        backup_schedules=dict(type="list", elements="dict", options=_ref(max_age=dict(type="str", default="26h"))),
        secrets=dict(type="list", elements="dict", no_log=False, options=_ref(
            keys=dict(type="list", elements="str", no_log=False))),
        images=dict(type="dict", options=dict(namespaces=lst, allowed_registries=lst,
                                              require_digest=dict(type="bool", default=True),
                                              scans=dict(type="dict", options=dict(
                                                  fail_on=dict(type="str", default="HIGH",
                                                               choices=["CRITICAL", "HIGH", "MEDIUM", "LOW"]),
                                                  ignore=dict(type="list", elements="str", default=[]),
                                                  require_report=dict(type="bool", default=True))))),
        autoscaling=dict(type="dict", options=dict(namespaces=lst, names=lst,
                                                   fail_when_limited=dict(type="bool", default=False))),
        dashboards=dict(type="dict", options=dict(
            uids=dict(type="list", elements="str", required=True), label=dict(type="str", default="grafana_dashboard=1"),
            prometheus_url=dict(type="str"), prometheus_token=dict(type="str", no_log=True),
            variables=dict(type="dict", default={}))),
        restarts=dict(type="dict", options=dict(namespaces=dict(type="list", elements="str", required=True),
                                                selector=dict(type="str"), since=dict(type="str"),
                                                max_restarts=dict(type="int", default=0))),
        timeout=dict(type="float", default=120.0),
    )
    spec.update(base.CHECKS_ARGUMENT_SPEC)
    spec.update(k8s.argument_spec())
    return spec


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    base.require_libs(module, [("kubernetes", k8s.KUBERNETES_IMPORT_ERROR)])

    def service():
        since = (module.params.get("restarts") or {}).get("since")
        try:
            parse_time(since)
        except ValueError:
            raise InvalidInput("check", "restarts", "since %r is not an RFC 3339 time (2026-11-24T09:12:00Z)" % since)
        kube = k8s.Kube(k8s.KubeSettings.from_params(module.params), deadline=module.params["timeout"])
        try:
            result = run_preflight(kube, module.params)
        finally:
            kube.close()
        return base.finish_checks(result, module.params["fail_on_failed_checks"])

    base.run(module, service)


if __name__ == "__main__":
    main()

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: slo_gate
short_description: Judge service level objectives over a window, from synthetic traffic and Prometheus
version_added: 1.0.0
description:
  - Measures every objective O(count) times, O(interval) seconds apart. An objective is either a
    PromQL query (O(objectives[].source=prometheus)) whose first sample is compared with the
    threshold, or a statistic of synthetic traffic (O(objectives[].source=http)), the requests of
    O(traffic) sent once per measurement the way M(golive.core.http_check) sends them.
  - The vocabulary is Argo Rollouts' analysis. A measurement is a success, a failure, or
    inconclusive; an objective fails when its failures exceed O(objectives[].failure_limit), is
    inconclusive when its inconclusive measurements exceed O(objectives[].inconclusive_limit), and
    passes otherwise. No data (an empty query, no answer) is a failure unless
    O(objectives[].no_data) says otherwise; inconclusive is reported as such, never as a pass.
  - The gate stops as soon as an objective has failed for good. Each objective is a check
    (C(slo.<name>)) with its measured values, threshold and verdict; the task fails unless every
    objective passed.
author:
  - golive.core maintainers (@golive)
extends_documentation_fragment:
  - golive.core.attributes
  - golive.core.checks
  - golive.core.k8s
attributes:
  check_mode:
    support: full
    details: Only measures; traffic requests are sent in check mode too.
  diff_mode:
    support: none
options:
  objectives:
    description:
      - The objectives.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Name (the check id is C(slo.<name>)).
        type: str
        required: true
      source:
        description:
          - Where the value comes from. V(resources) is the highest ratio of a container's usage
            (cAdvisor's C(container_cpu_usage_seconds_total) rate, C(container_memory_working_set_bytes))
            to its declared request or limit, across the Pods of O(objectives[].workload), read from
            Prometheus; the workload's declaration is read from the cluster.
        type: str
        default: prometheus
        choices: [prometheus, http, resources]
      query:
        description: PromQL whose first sample is the value (V(prometheus)).
        type: str
      metric:
        description: The statistic of the traffic (V(http)).
        type: str
        choices: [error_ratio, latency_avg_ms, latency_p50_ms, latency_p95_ms, latency_p99_ms]
      resource:
        description: The resource of a V(resources) objective.
        type: str
        choices: [cpu, memory]
      against:
        description: What usage is divided by (V(resources)).
        type: str
        default: limits
        choices: [limits, requests]
      workload:
        description: The workload of a V(resources) objective, a dict with C(namespace), C(name) and C(kind)
          (V(Deployment), the default, V(StatefulSet) or V(DaemonSet)).
        type: dict
      window:
        description: Rate window of the CPU usage (V(resources)).
        type: str
        default: 2m
      count:
        description: Measurements of this objective (default O(count)).
        type: int
      interval:
        description: Seconds between its measurements (default O(interval)).
        type: float
      max:
        description: Largest acceptable value.
        type: float
      min:
        description: Smallest acceptable value.
        type: float
      failure_limit:
        description: Failed measurements tolerated.
        type: int
        default: 0
      inconclusive_limit:
        description: Inconclusive measurements tolerated.
        type: int
        default: 0
      no_data:
        description: What a measurement without data is.
        type: str
        default: fail
        choices: [fail, inconclusive, pass]
      checklist:
        description: The checklist item the objective gives evidence for.
        type: str
  count:
    description:
      - Measurements per objective.
    type: int
    default: 3
  interval:
    description:
      - Seconds between measurements.
    type: float
    default: 10
  traffic:
    description:
      - The synthetic traffic of V(http) objectives, sent once per measurement.
    type: dict
    suboptions:
      requests:
        description: Requests as M(golive.core.http_check) takes them.
        type: list
        elements: dict
        required: true
      count:
        description: Sends of each request per measurement.
        type: int
        default: 20
      concurrency:
        description: Sends at once.
        type: int
        default: 4
      resolve:
        description:
          - Addresses by host name. With O(traffic.dns_server), a value may be another name, asked of that
            server (a region's own name, for traffic that follows that region's records).
        type: dict
      dns_server:
        description: A DNS server to ask for the hosts' addresses (traffic that follows DNS).
        type: str
      dns_port:
        description: Port of O(traffic.dns_server).
        type: int
        default: 53
      ca_cert:
        description: CA bundle for HTTPS.
        type: path
        aliases: [ca_file]
      request_timeout:
        description: Timeout of one request, in seconds.
        type: float
        default: 10
  prometheus_url:
    description:
      - Base URL of the Prometheus HTTP API.
    type: str
  prometheus_token:
    description:
      - Bearer token for Prometheus. Never logged.
    type: str
  timeout:
    description:
      - One deadline, in seconds, for the whole gate.
    type: float
    default: 900
seealso:
  - module: golive.core.http_check
    description: Single checks of endpoints.
  - module: golive.core.dns_cutover
    description: The cutover whose traffic it validates.
"""

EXAMPLES = r"""
- name: Traffic validation, 5 measurements 30 s apart
  golive.core.slo_gate:
    prometheus_url: http://prometheus.monitoring:9090
    count: 5
    interval: 30
    traffic:
      requests: [{name: home, url: "https://www.example.com/"}]
      dns_server: 198.51.100.53
    objectives:
      - {name: error-ratio, source: http, metric: error_ratio, max: 0.001}
      - {name: latency-p95, source: http, metric: latency_p95_ms, max: 200}
      - {name: memory, source: resources, resource: memory, workload: {namespace: shop, name: web}, max: 0.8,
         count: 2, interval: 60}
      - {name: server-errors, query: "sum(rate(http_requests_total{code=~'5..'}[1m])) / sum(rate(http_requests_total[1m]))",
         max: 0.01}
"""

RETURN = r"""
objectives:
  description: Per objective, its verdict (passed, failed, inconclusive), threshold and every measurement.
  returned: always
  type: list
  elements: dict
checks:
  description: One check per objective (shared check model).
  returned: always
  type: list
  elements: dict
  sample:
    - id: slo.error-ratio
      title: error-ratio <= 0.001
      status: pass
      evidence:
        value: 0.0
        max: 0.001
        samples: 3
      checklist: null
passed:
  description: Whether every objective passed.
  returned: always
  type: bool
summary:
  description: Number of checks per status.
  returned: always
  type: dict
  sample:
    pass: 3
    fail: 0
    warn: 0
    skip: 0
    total: 3
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.golive.core.plugins.module_utils.common import module as base
from ansible_collections.golive.core.plugins.module_utils.common.retry import Deadline
from ansible_collections.golive.core.plugins.module_utils.k8s import client as k8s
from ansible_collections.golive.core.plugins.module_utils.metrics import gate


def main():
    objective = dict(
        name=dict(type="str", required=True),
        source=dict(type="str", default="prometheus", choices=["prometheus", "http", "resources"]),
        resource=dict(type="str", choices=["cpu", "memory"]), against=dict(type="str", default="limits",
                                                                           choices=["limits", "requests"]),
        workload=dict(type="dict"), window=dict(type="str", default="2m"), count=dict(type="int"),
        interval=dict(type="float"),
        query=dict(type="str"), metric=dict(type="str", choices=sorted(gate.HTTP_METRICS)),
        max=dict(type="float"), min=dict(type="float"), failure_limit=dict(type="int", default=0),
        inconclusive_limit=dict(type="int", default=0),
        no_data=dict(type="str", default="fail", choices=["fail", "inconclusive", "pass"]), checklist=dict(type="str"),
    )
    traffic = dict(
        requests=dict(type="list", elements="dict", required=True), count=dict(type="int", default=20),
        concurrency=dict(type="int", default=4), resolve=dict(type="dict"), dns_server=dict(type="str"),
        dns_port=dict(type="int", default=53), ca_cert=dict(type="path", aliases=["ca_file"]), request_timeout=dict(type="float", default=10.0),
    )
    spec = dict(
        objectives=dict(type="list", elements="dict", required=True, options=objective),
        count=dict(type="int", default=3), interval=dict(type="float", default=10.0),
        traffic=dict(type="dict", options=traffic),
        prometheus_url=dict(type="str"), prometheus_token=dict(type="str", no_log=True),
        timeout=dict(type="float", default=900.0),
    )
    spec.update(base.CHECKS_ARGUMENT_SPEC)
    spec.update(k8s.argument_spec())  # where resources objectives read their workload
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    p = module.params
    needs_kube = any(o["source"] == "resources" for o in p["objectives"])
    if needs_kube:
        base.require_libs(module, [("kubernetes", k8s.KUBERNETES_IMPORT_ERROR)])

    def service():
        deadline = Deadline(p["timeout"])
        kube = k8s.Kube(k8s.KubeSettings.from_params(p), deadline=deadline) if needs_kube else None
        try:
            return gate.evaluate(p["objectives"], p["count"], p["interval"], p["traffic"], p["prometheus_url"],
                                 p["prometheus_token"], deadline, p["fail_on_failed_checks"], kube)
        finally:
            if kube is not None:
                kube.close()

    base.run(module, service)


if __name__ == "__main__":
    main()

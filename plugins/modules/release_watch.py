#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: release_watch
short_description: Watch a release after its go-live over a window (1h, 24h, 7d, 30d) from Prometheus
version_added: 1.1.0
description:
  - "Computes each figure over the whole window from Prometheus, evaluated at O(now): the error rate
    (C(increase) of the request counter, errors by status code, over all requests), latency p95 (the duration
    histogram's buckets) and average (its sum over its count), and with O(availability) the share of successful
    probes (C(avg_over_time)), and the security events: the shares of requests answered 401/403
    (C(auth-failures)) and 429 (C(rate-limited)). Each is checked against O(objectives) (C(watch.<window>.<figure>) fails beyond it)
    and compared with the window before and the window before the go-live (O(cutover)); a regression beyond
    O(tolerance) is a warning naming both numbers. Each check carries the figure's series over the window and
    its threshold, which the evidence report draws as a chart."
  - "O(capacity): each query's series over the window is fitted with a straight line and projected to the date
    it reaches its limit (C(watch.<window>.capacity.<name>)), a warning when that is within O(capacity_warn_days).
    Only windows of a day or more project capacity: an hour's trend says nothing about weeks."
  - "The success criteria over the go-live week (C(watch.success.uptime-week), C(error-rate-week),
    C(latency-p95-week)): passed or failed once a week has passed since O(cutover), otherwise skipped as not
    measurable yet, naming how many days are missing."
  - Read-only. C(playbooks/watch.yml) takes O(cutover) from the release's ledger, refuses a release that never went
    live or was rolled back, and records each run in the ledger.
author:
  - golive.core maintainers (@golive)
extends_documentation_fragment:
  - golive.core.attributes
  - golive.core.checks
attributes:
  check_mode:
    support: full
    details: The module only reads.
  diff_mode:
    support: none
options:
  prometheus_url:
    description: Base URL of Prometheus.
    type: str
    required: true
  prometheus_token:
    description: Bearer token for Prometheus.
    type: str
  ca_cert:
    description: CA bundle to verify Prometheus's certificate.
    type: path
  validate_certs:
    description: Verify Prometheus's certificate.
    type: bool
    default: true
  window:
    description: The window the figures are computed over, ending at O(now).
    type: str
    required: true
    choices: ["1h", "24h", "7d", "30d"]
  now:
    description: The end of the window (RFC 3339); empty is the current time.
    type: str
  cutover:
    description: When the release went live (RFC 3339), from its ledger.
    type: str
    required: true
  requests:
    description: The application's request metrics.
    type: dict
    required: true
    suboptions:
      selector:
        description: Label matchers of the application's series, for example V(namespace="shop").
        type: str
        required: true
      metric:
        description: The request counter, with a C(code) label.
        type: str
        default: http_requests_total
      duration_metric:
        description: The request duration histogram (C(_bucket), C(_sum), C(_count)).
        type: str
        default: http_request_duration_seconds
      error_codes:
        description: Regular expression of the C(code) values that are errors.
        type: str
        default: 5..
  availability:
    description: A probe series (0 or 1), for example V(probe_success{job="blackbox"}); empty leaves availability out.
    type: str
  objectives:
    description: The thresholds.
    type: dict
    default: {}
    suboptions:
      error_rate_max:
        description: Highest error rate (ratio).
        type: float
      latency_p95_ms_max:
        description: Highest p95 latency, in milliseconds.
        type: float
      latency_avg_ms_max:
        description: Highest average latency, in milliseconds.
        type: float
      availability_min:
        description: Lowest availability (ratio).
        type: float
      auth_failure_rate_max:
        description: Highest share of requests answered 401 or 403 (security events); without it only the trend is judged.
        type: float
      rate_limited_max:
        description: Highest share of requests answered 429; without it only the trend is judged.
        type: float
  tolerance:
    description: A figure worse than the window before (or before the go-live) by more than this share is a warning.
    type: float
    default: 0.2
  capacity:
    description: Resources projected to their limit.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: The name in the check id and the evidence, for example V(memory of shop/web).
        type: str
        required: true
      query:
        description: PromQL giving one series, for example V(max(container_memory_working_set_bytes{namespace="shop"})).
        type: str
        required: true
      limit:
        description: The limit, a number or a quantity (V(128Mi)).
        type: str
        required: true
  signals:
    description:
      - "Further figures of the release's systems, each a PromQL expression giving one series, folded over the window
        (a subquery at the chart's resolution) into one figure: database connections against C(max_connections),
        replication lag, PgBouncer's waiting clients, the cache's hit ratio, restarts, CDN latency from a prober..."
      - "Each is a check C(watch.<window>.<name>): failed beyond O(signals[].max) (or under O(signals[].min)), a
        warning when worse than the window before or the window before the go-live by more than O(tolerance)."
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: The name in the check id (lower-cased, other characters as V(-)) and the evidence.
        type: str
        required: true
      query:
        description: PromQL giving one series.
        type: str
        required: true
      over:
        description: How the window's series is folded into its figure.
        type: str
        choices: [max, min, avg, last]
        default: max
      max:
        description: Highest acceptable figure (higher is worse).
        type: float
      min:
        description: Lowest acceptable figure (lower is worse), when O(signals[].max) is not set.
        type: float
      unit:
        description: How figures are shown (V(ratio) as a percentage, V(ms), V(s), V(bytes), or any word).
        type: str
      scale:
        description: Factor applied to the query's values (V(1000) for seconds shown as V(ms)).
        type: float
        default: 1.0
      noise:
        description: A change smaller than this is never a regression.
        type: float
      checklist:
        description: The checklist item the check gives evidence for.
        type: str
  capacity_warn_days:
    description: A limit reached within this many days at the window's growth is a warning.
    type: float
    default: 30
  timeout:
    description: Time budget of the whole call, in seconds.
    type: float
    default: 60
seealso:
  - module: golive.core.slo_gate
    description: The objectives at one moment, on synthetic traffic (phase 5).
  - module: golive.core.ledger
    description: Where the cutover is read and each watch is recorded.
"""

EXAMPLES = r"""
- name: The first 24 hours of release 2026.11.3
  golive.core.release_watch:
    prometheus_url: https://prometheus.monitoring.prod.internal
    window: 24h
    cutover: "2026-11-24T09:12:00Z"
    requests: {selector: 'namespace="shop"'}
    availability: probe_success{job="blackbox"}
    objectives: {error_rate_max: 0.001, latency_p95_ms_max: 200, availability_min: 0.999}
    capacity:
      - {name: memory of shop/web, query: 'max(container_memory_working_set_bytes{namespace="shop",container="web"})', limit: 512Mi}
"""

RETURN = r"""
checks:
  description: One check per figure, capacity item and success criterion.
  returned: always
  type: list
  elements: dict
  sample:
    - id: watch.24h.error-rate
      title: error-rate over the last 24h
      status: warn
      evidence: {value: 0.0026, previous_window: 0.0005, objective: 0.01,
                 regressions: ["error-rate 0.260% over the last 24h vs 0.050% the 24h before"]}
      checklist: Error Analysis - Error patterns analyzed
summary:
  description: Number of checks per status, and the total.
  returned: always
  type: dict
  sample: {pass: 6, fail: 0, warn: 1, skip: 0, total: 7}
verdict:
  description: C(passed), C(warnings) or C(failed).
  returned: success
  type: str
  sample: warnings
figures:
  description: Each figure's value, the window before, and the window before the go-live.
  returned: success
  type: dict
  sample: {error-rate: {value: 0.0026, previous: 0.0005, before: 0.0004}}
since:
  description: The start of the window (RFC 3339).
  returned: success
  type: str
  sample: "2026-11-30T21:12:00Z"
days_live:
  description: Days from the cutover to O(now).
  returned: success
  type: float
  sample: 7.5
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.golive.core.plugins.module_utils.common import module as base
from ansible_collections.golive.core.plugins.module_utils.common.clock import parse_time, utcnow
from ansible_collections.golive.core.plugins.module_utils.common.errors import InvalidInput
from ansible_collections.golive.core.plugins.module_utils.common.retry import Deadline
from ansible_collections.golive.core.plugins.module_utils.metrics import watch
from ansible_collections.golive.core.plugins.module_utils.metrics.prometheus import Prometheus


def main():
    spec = dict(
        prometheus_url=dict(type="str", required=True),
        prometheus_token=dict(type="str", no_log=True),
        ca_cert=dict(type="path"),
        validate_certs=dict(type="bool", default=True),
        window=dict(type="str", required=True, choices=list(watch.WINDOWS)),
        now=dict(type="str"),
        cutover=dict(type="str", required=True),
        requests=dict(type="dict", required=True, options=dict(
            selector=dict(type="str", required=True), metric=dict(type="str", default="http_requests_total"),
            duration_metric=dict(type="str", default="http_request_duration_seconds"),
            error_codes=dict(type="str", default="5.."))),
        availability=dict(type="str"),
        objectives=dict(type="dict", default={}, options=dict(
            error_rate_max=dict(type="float"), latency_p95_ms_max=dict(type="float"),
            latency_avg_ms_max=dict(type="float"), availability_min=dict(type="float"),
            auth_failure_rate_max=dict(type="float"), rate_limited_max=dict(type="float"))),
        signals=dict(type="list", elements="dict", default=[], options=dict(
            name=dict(type="str", required=True), query=dict(type="str", required=True),
            over=dict(type="str", default="max", choices=list(watch.FOLDS)), max=dict(type="float"),
            min=dict(type="float"), unit=dict(type="str"), scale=dict(type="float", default=1.0),
            noise=dict(type="float"), checklist=dict(type="str"))),
        tolerance=dict(type="float", default=0.2),
        capacity=dict(type="list", elements="dict", default=[], options=dict(
            name=dict(type="str", required=True), query=dict(type="str", required=True),
            limit=dict(type="str", required=True))),
        capacity_warn_days=dict(type="float", default=30.0),
        timeout=dict(type="float", default=60.0),
    )
    spec.update(base.CHECKS_ARGUMENT_SPEC)
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    p = module.params

    def service():
        try:
            now = parse_time(p["now"]) if p["now"] else utcnow()
            cutover = parse_time(p["cutover"])
            for item in p["capacity"]:
                watch.quantity(item["limit"])
        except ValueError as exc:
            raise InvalidInput("watch", "the release", str(exc))
        if cutover is None:
            raise InvalidInput("watch", "the release", "cutover is empty: the release has not gone live")
        prometheus = Prometheus(p["prometheus_url"], p["prometheus_token"], timeout=min(p["timeout"], 30),
                                ca_file=p["ca_cert"], validate_certs=p["validate_certs"])
        try:
            result = watch.run(prometheus, p["window"], now, cutover, p["requests"], p["availability"],
                               p["objectives"], p["tolerance"], p["capacity"], p["capacity_warn_days"],
                               Deadline(p["timeout"]), signals=p["signals"])
        except ValueError as exc:
            raise InvalidInput("watch", "the release", str(exc))
        return base.finish_checks(result, p["fail_on_failed_checks"], "watch checks")

    base.run(module, service)


if __name__ == "__main__":
    main()

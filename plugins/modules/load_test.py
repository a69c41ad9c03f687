#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: load_test
short_description: Run a declared, bounded Locust load test against one target, or judge a Locust or k6 summary
version_added: 1.1.0
description:
  - "Runs Locust headless (C(python -m locust --headless)) with a scenario made of the declared O(requests) -
    each a path on O(target), a method and a weight - for O(users) users during O(duration) seconds, then judges
    its statistics against O(objectives): C(load.requests) (it made requests), C(load.error-rate),
    C(load.latency-p95), C(load.latency-avg) and C(load.throughput), each naming the slowest requests and the
    failures by error."
  - "The scenario is data, not code: every request goes to O(target) only (paths, no redirects followed), with
    at most 500 users and 30 minutes. O(resolve) sends the target's host name to another address, as
    C(curl --resolve) does, to load the new site before the cutover while TLS is verified for the name."
  - With O(summary), nothing is run - a Locust C(*_stats.csv) (its C(*_failures.csv) next to it) or a k6
    C(--summary-export) JSON made elsewhere is judged the same way.
  - Locust is needed on the host the module runs on (C(pip install locust)); the lab installs it.
author:
  - golive.core maintainers (@golive)
extends_documentation_fragment:
  - golive.core.attributes
  - golive.core.checks
attributes:
  check_mode:
    support: full
    details: In check mode no load is sent (the scenario is checked and returned); a summary is judged.
  diff_mode:
    support: none
options:
  target:
    description: The site under load, a scheme, host and optional port (V(https://shop.example.com)).
    type: str
  requests:
    description: The scenario - the requests each user makes, chosen by weight.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: The name in the statistics; by default the method and path.
        type: str
      method:
        description: The HTTP method.
        type: str
        default: GET
      path:
        description: A path on O(target) (with its query), starting with V(/).
        type: str
        required: true
      weight:
        description: How often this request is chosen, relative to the others.
        type: int
        default: 1
      headers:
        description: Request headers; C(${name}) is replaced by the secret of that name.
        type: dict
      body:
        description: A JSON body; C(${name}) in its strings is replaced by the secret of that name.
        type: raw
      status:
        description: The answers that are successes.
        type: list
        elements: int
  secrets:
    description: Secret values used as C(${name}) in O(requests[].headers) and O(requests[].body); masked in results.
    type: dict
  users:
    description: Concurrent users (1..500).
    type: int
    default: 10
  spawn_rate:
    description: Users started per second; by default all at once.
    type: float
  duration:
    description: Seconds of load (1..1800).
    type: int
    default: 30
  wait:
    description: Seconds each user waits between two requests, a range V([min, max]).
    type: list
    elements: float
    default: [0.0, 0.0]
  resolve:
    description: Addresses by host name (V(resolve) of M(golive.core.http_check)); only the target's host name is used.
    type: dict
  ca_cert:
    description: CA bundle that verifies the target's certificate.
    type: path
  validate_certs:
    description: Verify the target's certificate.
    type: bool
    default: true
  summary:
    description: Judge this Locust C(*_stats.csv) or k6 C(--summary-export) JSON instead of running a test.
    type: path
  objectives:
    description: The thresholds.
    type: dict
    default: {}
    suboptions:
      error_rate_max:
        description: Highest share of failed requests.
        type: float
        default: 0.01
      latency_p95_ms_max:
        description: Highest p95 latency of all requests, in milliseconds.
        type: float
      latency_avg_ms_max:
        description: Highest average latency, in milliseconds.
        type: float
      min_rps:
        description: Lowest throughput, requests per second.
        type: float
      min_requests:
        description: Fewest requests the test must have made.
        type: int
        default: 1
seealso:
  - module: golive.core.slo_gate
    description: Objectives over a few synthetic requests and Prometheus.
  - module: golive.core.http_check
    description: Declared requests with assertions, a few at a time.
"""

EXAMPLES = r"""
- name: Load the new site before the cutover with the checkout journey
  golive.core.load_test:
    target: https://shop.example.com
    resolve: {shop.example.com: 203.0.113.20}
    users: 50
    duration: 120
    requests:
      - {path: "/api/products?page=1", weight: 5}
      - {path: /api/cart, method: POST, body: {sku: A-1, qty: 1}, status: [201], weight: 1}
    objectives: {error_rate_max: 0.001, latency_p95_ms_max: 200, min_rps: 100}

- name: Judge a k6 run made by the performance team
  golive.core.load_test:
    summary: /srv/perf/2026.11.3/summary.json
    objectives: {latency_p95_ms_max: 200}
"""

RETURN = r"""
checks:
  description: C(load.requests), C(load.error-rate), C(load.latency-p95), C(load.latency-avg), C(load.throughput).
  returned: always
  type: list
  elements: dict
  sample:
    - id: load.latency-p95
      title: p95 latency under load
      status: fail
      evidence: {tool: locust, requests: 1840, value: 231.0, objective: 200.0,
                 problems: ["p95 latency under load 231 ms, at most 200 ms"]}
      checklist: [Performance benchmarks met, API Response Times - API response times meet SLA requirements]
summary:
  description: Number of checks per status, and the total.
  returned: always
  type: dict
  sample: {pass: 3, fail: 1, warn: 0, skip: 1, total: 5}
stats:
  description: The test's statistics, all requests (C(total)) and each request, with the failures by error.
  returned: success
  type: dict
  sample: {tool: locust, total: {requests: 1840, failures: 0, avg_ms: 12.4, p95_ms: 31.0, rps: 61.2}}
scenario:
  description: The requests, users and duration of the test (secrets masked).
  returned: success
  type: dict
  sample: {target: "https://shop.example.com", users: 50, duration_seconds: 120,
           requests: [{name: GET /api/products, method: GET, path: /api/products, weight: 5, status: [200]}]}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.golive.core.plugins.module_utils.common import module as base
from ansible_collections.golive.core.plugins.module_utils.common.checks import SKIP, make_check
from ansible_collections.golive.core.plugins.module_utils.common.errors import InvalidInput
from ansible_collections.golive.core.plugins.module_utils.http import load


def main():
    spec = dict(
        target=dict(type="str"),
        requests=dict(type="list", elements="dict", default=[], options=dict(
            name=dict(type="str"), method=dict(type="str", default="GET"), path=dict(type="str", required=True),
            weight=dict(type="int", default=1), headers=dict(type="dict"), body=dict(type="raw"),
            status=dict(type="list", elements="int"))),
        secrets=dict(type="dict", no_log=True),
        users=dict(type="int", default=10),
        spawn_rate=dict(type="float"),
        duration=dict(type="int", default=30),
        wait=dict(type="list", elements="float", default=[0.0, 0.0]),
        resolve=dict(type="dict"),
        ca_cert=dict(type="path"),
        validate_certs=dict(type="bool", default=True),
        summary=dict(type="path"),
        objectives=dict(type="dict", default={}, options=dict(
            error_rate_max=dict(type="float", default=0.01), latency_p95_ms_max=dict(type="float"),
            latency_avg_ms_max=dict(type="float"), min_rps=dict(type="float"), min_requests=dict(type="int", default=1))),
    )
    spec.update(base.CHECKS_ARGUMENT_SPEC)
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True,
                           required_one_of=[("target", "summary")], mutually_exclusive=[("target", "summary")])
    p = module.params

    def service():
        if p["summary"]:
            stats = load.read_summary(p["summary"])
            result = {"changed": False, "stats": stats, "checks": load.judge(stats, p["objectives"])}
            return base.finish_checks(result, p["fail_on_failed_checks"], "load test checks")
        if not p["requests"]:
            raise InvalidInput("load", p["target"], "no request is declared", fix="Declare requests (paths on the target)")
        scenario = load.scenario(p["target"], p["requests"], p["users"], p["duration"], p["wait"], p["resolve"],
                                 p["ca_cert"], p["validate_certs"], p["secrets"] or {})
        bounds = {"target": scenario["target"], "users": p["users"], "duration_seconds": p["duration"]}
        shown = dict(bounds, requests=[dict((k, r[k]) for k in ("name", "method", "path", "weight", "status"))
                                       for r in scenario["requests"]])
        if module.check_mode:
            checks = [make_check(check_id, "Load test (not run in check mode)", SKIP,
                                 {"reason": "check mode: no load was sent"}, items)
                      for check_id, items in load.ITEMS.items()]
            return base.finish_checks({"changed": False, "scenario": shown, "checks": checks}, False)
        stats = load.run_locust(scenario, p["users"], p["spawn_rate"] or p["users"], p["duration"])
        result = {"changed": False, "scenario": shown, "stats": stats,
                  "checks": load.judge(stats, p["objectives"], bounds)}
        return base.finish_checks(result, p["fail_on_failed_checks"], "load test checks")

    base.run(module, service)


if __name__ == "__main__":
    main()

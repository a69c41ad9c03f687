#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: monitoring_check
short_description: Scrape targets up, alert rules loaded, and an alert proven to reach its receivers
version_added: 1.1.0
description:
  - "Checks the monitoring pipeline the way an operator proves it, through the Prometheus and Alertmanager
    HTTP APIs. C(monitoring.targets.<job>): every target of each declared scrape job is up (at least
    O(jobs[].min_targets) of them), naming each target that is down and its scrape error.
    C(monitoring.rules.<group>): each declared rule group is loaded, every rule in it evaluates without
    error, and the alerts named in O(rule_groups[].alerts) are in it. C(monitoring.receivers): Alertmanager's
    configuration has every declared receiver."
  - "C(monitoring.alert.<receiver>): one test alert (O(test_alert.alertname), labels O(test_alert.labels),
    C(golive_release) and a unique C(golive_test) id) is posted to Alertmanager, followed until it is routed to
    every declared receiver and, for a receiver with O(receivers[].confirm_url), until that URL's answer
    contains the test id (a webhook sink's log, a mailbox's API), within O(timeout). A receiver that cannot
    be read back is reported with C(delivery: routed-only). The test alert is resolved at the end."
  - The test alert notifies whoever the receivers reach; label it so that your routes send it where a test
    is expected. No alert is sent in check mode.
author:
  - golive.core maintainers (@golive)
extends_documentation_fragment:
  - golive.core.attributes
  - golive.core.checks
attributes:
  check_mode:
    support: full
    details: Reads targets, rules and receivers; sends no test alert (its checks are skipped).
  diff_mode:
    support: none
options:
  prometheus_url:
    description: Base URL of Prometheus, for O(jobs) and O(rule_groups).
    type: str
  prometheus_token:
    description: Bearer token for Prometheus.
    type: str
  alertmanager_url:
    description: Base URL of Alertmanager, for O(receivers).
    type: str
  alertmanager_token:
    description: Bearer token for Alertmanager.
    type: str
  jobs:
    description: The scrape jobs whose targets must all be up.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: The job name (its C(job) label).
        type: str
        required: true
      min_targets:
        description: How many targets the job has at least.
        type: int
        default: 1
      labels:
        description: Target labels that pick the job's targets to judge (for example the application's namespace).
        type: dict
      checklist:
        description: The checklist items this job's targets give evidence for (default C(Metrics collection active)).
        type: list
        elements: str
  rule_groups:
    description: The rule groups that must be loaded and healthy.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: The group name.
        type: str
        required: true
      alerts:
        description: Alert names the group must hold.
        type: list
        elements: str
        default: []
  receivers:
    description: The Alertmanager receivers that must exist and that a test alert must reach.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: The receiver name in Alertmanager's configuration.
        type: str
        required: true
      confirm_url:
        description: A URL whose answer contains what the receiver got (a webhook sink's log, a mailbox API);
          arrival is confirmed when the test id appears in it.
        type: str
  test_alert:
    description: The test alert.
    type: dict
    default: {}
    suboptions:
      enabled:
        description: Send it (O(receivers) are then proven, not only listed).
        type: bool
        default: true
      alertname:
        description: Its C(alertname).
        type: str
        default: GoliveTestAlert
      labels:
        description: More labels, so that the routes send it where a test belongs (for example C(severity)).
        type: dict
        default: {}
  release:
    description: The release id, added to the test alert as C(golive_release).
    type: str
  ca_cert:
    description: CA bundle for HTTPS endpoints.
    type: path
    aliases: [ca_file]
  validate_certs:
    description: Verify HTTPS certificates.
    type: bool
    default: true
  timeout:
    description: One deadline, in seconds, for the whole check (the test alert's delivery included).
    type: float
    default: 60
seealso:
  - module: golive.core.slo_gate
    description: Judges service level objectives from Prometheus.
"""

EXAMPLES = r"""
- name: Monitoring Setup - the alert pipeline proven end to end
  golive.core.monitoring_check:
    prometheus_url: http://prometheus.monitoring:9090
    alertmanager_url: http://alertmanager.monitoring:9093
    jobs: [{name: node}, {name: postgres}, {name: pgbouncer}, {name: redis}, {name: pods, min_targets: 2}]
    rule_groups:
      - name: golive-alerts
        alerts: [GoliveHighErrorRate, GoliveDatabaseDown]
    receivers:
      - name: oncall-webhook
        confirm_url: https://hooks.internal.example/log
      - name: oncall-email
    test_alert:
      labels: {severity: critical}
    release: "{{ golive_release }}"
"""

RETURN = r"""
checks:
  description: The check records (shared check model).
  returned: always
  type: list
  elements: dict
  sample:
    - id: monitoring.alert.oncall-webhook
      title: A test alert reaches receiver oncall-webhook
      status: pass
      evidence:
        receiver: oncall-webhook
        test_id: 3f9c2a71b0de
        routed_to: [oncall-email, oncall-webhook]
        delivery: delivered
      checklist: [Alerts configured and tested]
summary:
  description: Counts of the checks by status.
  returned: always
  type: dict
  sample:
    pass: 8
    fail: 0
    warn: 0
    skip: 0
    total: 8
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.golive.core.plugins.module_utils.common import module as base
from ansible_collections.golive.core.plugins.module_utils.common.errors import InvalidInput
from ansible_collections.golive.core.plugins.module_utils.common.retry import Deadline
from ansible_collections.golive.core.plugins.module_utils.metrics import alerting


def main():
    spec = dict(
        prometheus_url=dict(type="str"),
        prometheus_token=dict(type="str", no_log=True),
        alertmanager_url=dict(type="str"),
        alertmanager_token=dict(type="str", no_log=True),
        jobs=dict(type="list", elements="dict", default=[], options=dict(
            name=dict(type="str", required=True), min_targets=dict(type="int", default=1),
            labels=dict(type="dict"), checklist=dict(type="list", elements="str"))),
        rule_groups=dict(type="list", elements="dict", default=[], options=dict(
            name=dict(type="str", required=True), alerts=dict(type="list", elements="str", default=[]))),
        receivers=dict(type="list", elements="dict", default=[], options=dict(
            name=dict(type="str", required=True), confirm_url=dict(type="str"))),
        test_alert=dict(type="dict", default={}, options=dict(
            enabled=dict(type="bool", default=True), alertname=dict(type="str", default="GoliveTestAlert"),
            labels=dict(type="dict", default={}))),
        release=dict(type="str"),
        ca_cert=dict(type="path", aliases=["ca_file"]),
        validate_certs=dict(type="bool", default=True),
        timeout=dict(type="float", default=60.0),
    )
    spec.update(base.CHECKS_ARGUMENT_SPEC)
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    p = module.params

    def service():
        if (p["jobs"] or p["rule_groups"]) and not p["prometheus_url"]:
            raise InvalidInput("check", "the scrape jobs and rule groups", "prometheus_url is not set")
        if p["receivers"] and not p["alertmanager_url"]:
            raise InvalidInput("check", "the receivers", "alertmanager_url is not set")
        if not (p["jobs"] or p["rule_groups"] or p["receivers"]):
            raise InvalidInput("check", "the monitoring", "nothing is declared: jobs, rule_groups and receivers "
                                                          "are all empty", fix="Declare what must be proven")
        result = alerting.run(p["prometheus_url"], p["alertmanager_url"], p["jobs"], p["rule_groups"],
                              p["receivers"], p["test_alert"], p["release"], Deadline(p["timeout"]),
                              p["prometheus_token"], p["alertmanager_token"], p["ca_cert"], p["validate_certs"],
                              module.check_mode)
        return base.finish_checks(result, p["fail_on_failed_checks"], "monitoring checks")

    base.run(module, service)


if __name__ == "__main__":
    main()

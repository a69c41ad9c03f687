#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: mq_health
short_description: RabbitMQ health through the management HTTP API
version_added: 1.0.0
description:
  - Checks a RabbitMQ vhost through the management plugin's HTTP API, the way an operator looks at
    the management UI, with the credentials the application uses.
  - "Checks: C(mq.connection) (the API answers; version, cluster, node), C(mq.vhost), one
    C(mq.queue.<name>) per declared queue (it exists, has at least C(min_consumers) consumers, at most
    C(max_depth) messages ready and C(max_unacked) unacknowledged), C(mq.depth) (no queue of the vhost
    over the limits), and C(mq.round_trip): a canary queue is declared (with C(x-expires), so nothing
    stays behind if the task is killed), one message is published through the default exchange and
    got back, and the queue is deleted."
  - A wrong password or an unreachable API fails the task with a clear message and changes nothing.
  - Queue counters come from the broker's statistics, refreshed every C(collect_statistics_interval)
    (5 seconds by default), so a queue filled a moment ago may show its depth a little later.
  - Kafka has no equivalent here; see C(docs/checklist.md).
author:
  - golive.core maintainers (@golive)
extends_documentation_fragment:
  - golive.core.attributes
  - golive.core.checks
attributes:
  check_mode:
    support: full
    details: Reads only; the round trip (a write to a canary queue) is skipped.
  diff_mode:
    support: none
options:
  url:
    description: Base URL of the management API, for example V(https://rabbitmq.example.com:15671).
    type: str
    required: true
  username:
    description: The user to authenticate as.
    type: str
    required: true
  password:
    description: Its password. Falls back to E(RABBITMQ_PASSWORD).
    type: str
    required: true
  vhost:
    description: The virtual host.
    type: str
    default: /
  queues:
    description: Queues that must exist, with their limits.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Queue name.
        type: str
        required: true
      min_consumers:
        description: Consumers the queue must have.
        type: int
        default: 1
      max_depth:
        description: Messages ready at most (O(max_depth) when unset).
        type: int
      max_unacked:
        description: Unacknowledged messages at most (O(max_unacked) when unset).
        type: int
  max_depth:
    description: Messages ready at most in any queue of the vhost (no limit when unset).
    type: int
  max_unacked:
    description: Unacknowledged messages at most in any queue of the vhost (no limit when unset).
    type: int
  round_trip:
    description: Publish and consume a canary message.
    type: bool
    default: true
  ca_cert:
    description: CA bundle for an https API.
    type: path
    aliases: [ca_file]
  validate_certs:
    description: Verify the API's certificate.
    type: bool
    default: true
  timeout:
    description: Deadline, in seconds, of the whole check; each API request waits only for what is left of it.
    type: float
    default: 10
  checklist:
    description: The checklist item the checks give evidence for.
    type: str
seealso:
  - module: golive.core.connectivity
    description: Reachability of the other systems.
  - module: community.rabbitmq.rabbitmq_queue
    description: Manages queues (this module only checks).
"""

EXAMPLES = r"""
- name: Day -7 - the message queue
  golive.core.mq_health:
    url: https://rabbitmq.example.com:15671
    username: shop
    password: "{{ vault_rabbitmq_password }}"
    vhost: shop
    queues:
      - {name: orders, min_consumers: 2, max_depth: 1000}
      - {name: emails, min_consumers: 1}
    max_unacked: 500
"""

RETURN = r"""
checks:
  description: The check records (shared check model).
  returned: always
  type: list
  elements: dict
  sample:
    - id: mq.queue.orders
      title: Queue orders exists, has consumers and is within its limits
      status: pass
      evidence:
        consumers: 2
        ready: 12
        unacked: 0
      checklist: null
summary:
  description: Counts of the checks by status.
  returned: always
  type: dict
  sample:
    pass: 3
    fail: 0
    warn: 0
    skip: 0
    total: 3
version:
  description: The RabbitMQ version.
  returned: success
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.golive.core.plugins.module_utils.common import module as base
from ansible_collections.golive.core.plugins.module_utils.mq import rabbitmq
from ansible_collections.golive.core.plugins.module_utils.common.options import env_fallback


def main():
    queue = dict(name=dict(type="str", required=True), min_consumers=dict(type="int", default=1),
                 max_depth=dict(type="int"), max_unacked=dict(type="int"))
    spec = dict(
        url=dict(type="str", required=True),
        username=dict(type="str", required=True),
        password=dict(type="str", required=True, no_log=True, fallback=(env_fallback, ["RABBITMQ_PASSWORD"])),
        vhost=dict(type="str", default="/"),
        queues=dict(type="list", elements="dict", default=[], options=queue),
        max_depth=dict(type="int"), max_unacked=dict(type="int"),
        round_trip=dict(type="bool", default=True),
        ca_cert=dict(type="path", aliases=["ca_file"]), validate_certs=dict(type="bool", default=True),
        timeout=dict(type="float", default=10.0),
        checklist=dict(type="str"),
    )
    spec.update(base.CHECKS_ARGUMENT_SPEC)
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    p = module.params

    def service():
        result = rabbitmq.run(rabbitmq.RabbitMqApi.from_params(p), p["vhost"], p["queues"], p["round_trip"],
                              p["max_depth"], p["max_unacked"], module.check_mode, p["checklist"])
        return base.finish_checks(result, p["fail_on_failed_checks"], "queue checks")

    base.run(module, service)


if __name__ == "__main__":
    main()

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: redis_failover_drill
short_description: Run a real Redis failover through Sentinel and measure the downtime
version_added: 1.0.0
description:
  - Writes a marker key on the master and waits until a replica acknowledged it, asks a
    Sentinel for a failover (C(SENTINEL FAILOVER)), measures the time until the new master
    accepts writes, checks that the marker survived, and waits until the old master is back
    as a replica of the new one and every Sentinel reports the new master.
  - Returns the measured downtime against O(max_downtime) and one check per step.
  - Running the drill a second time fails back; with one replica, to the original master.
  - Refuses to run unless O(allow_drill=true); the inventories set it from
    C(golive_allow_drills), which is false in production-shaped inventories.
author:
  - golive.core maintainers (@golive)
extends_documentation_fragment:
  - golive.core.attributes
  - golive.core.checks
  - golive.core.redis
options:
  allow_drill:
    description:
      - Whether this environment accepts a failover. The drill refuses to run otherwise.
    type: bool
    default: false
  max_downtime:
    description:
      - Largest acceptable time, in seconds, from the failover request until the new master
        accepts writes. A longer downtime fails the C(redis.drill.downtime) check.
    type: float
    default: 10.0
  timeout:
    description:
      - Time budget of the whole drill, in seconds, including waiting for the old master to
        rejoin and the Sentinels to agree.
    type: float
    default: 90.0
  marker_key:
    description:
      - Key written before the failover and read back after it.
    type: str
    default: golive:drill:marker
  marker_ttl:
    description:
      - Time to live of the marker key, in seconds.
    type: int
    default: 86400
attributes:
  check_mode:
    support: full
    details: Check mode reads the Sentinels' view and reports which master would fail over;
      nothing is written.
  diff_mode:
    support: none
notes:
  - Needs O(redis_sentinels); the drill always goes through Sentinel.
seealso:
  - module: golive.core.redis_health
    description: Health and Sentinel state.
"""

EXAMPLES = r"""
- name: Fail the cache over and measure the downtime
  golive.core.redis_failover_drill:
    allow_drill: "{{ golive_allow_drills }}"
    max_downtime: 10
"""

RETURN = r"""
old_master:
  description: Address of the master before the drill.
  returned: always
  type: str
  sample: 10.0.0.5:6379
new_master:
  description: Address of the master the Sentinels promoted.
  returned: success and not check mode
  type: str
  sample: 10.0.0.6:6379
downtime_seconds:
  description: Seconds from the failover request until the new master accepted a write.
  returned: success and not check mode
  type: float
  sample: 2.41
switch_seconds:
  description: Seconds from the failover request until a quorum of Sentinels reported the new master.
  returned: success and not check mode
  type: float
  sample: 2.1
drill_id:
  description: Identifier of the drill, the value of the marker key.
  returned: success and not check mode
  type: str
  sample: 20261122T050102Z-a1b2c3
plan:
  description: The Sentinels' view before the drill and the replicas that could be promoted.
  returned: always
  type: dict
checks:
  description: One check per step, in the collection's check model.
  returned: success and not check mode
  type: list
  elements: dict
  sample:
    - id: redis.failover
      title: Sentinel failed over within the limit
      status: pass
      evidence:
        downtime_seconds: 2.4
      checklist: null
summary:
  description: Number of checks per status, and the total.
  returned: success and not check mode
  type: dict
  sample:
    pass: 3
    fail: 0
    warn: 0
    skip: 0
    total: 3
undo:
  description: How to reverse the drill (what a ledger records).
  returned: success and not check mode
  type: dict
  sample: {action: failover, master_name: cache, previous_master: 10.0.0.5:6379}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.golive.core.plugins.module_utils.common import module as base
from ansible_collections.golive.core.plugins.module_utils.redis import connection as rds
from ansible_collections.golive.core.plugins.module_utils.redis import drill


def main():
    spec = rds.argument_spec()
    spec.update(
        allow_drill=dict(type="bool", default=False),
        max_downtime=dict(type="float", default=10.0),
        timeout=dict(type="float", default=90.0),
        marker_key=dict(type="str", default="golive:drill:marker", no_log=False),
        marker_ttl=dict(type="int", default=86400),
    )
    spec.update(base.CHECKS_ARGUMENT_SPEC)
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    base.require_libs(module, [("redis", rds.REDIS_IMPORT_ERROR)])
    p = module.params

    def service():
        result = drill.run(rds.RedisServer.from_params(p), p["allow_drill"], p["max_downtime"], p["timeout"], p["marker_key"],
                           p["marker_ttl"], module.check_mode)
        if "checks" in result:
            base.finish_checks(result, p["fail_on_failed_checks"])
        return result

    base.run(module, service)


if __name__ == "__main__":
    main()

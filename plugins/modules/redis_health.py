#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: redis_health
short_description: Check that a Redis deployment is healthy, persistent and guarded, with evidence
version_added: 1.0.0
description:
  - Connects to the Redis master (directly or found through Sentinel), its replicas and the
    Sentinels, and returns checks in the collection's check model. Read-only.
  - Checks PING and version, the role, persistence (AOF and/or RDB configured, the status
    of the last RDB save and AOF write, the age of the last save), security (a client
    without credentials is refused on every node, protected mode, dangerous commands
    renamed or ACL-restricted), C(maxmemory) and its policy, replication (connected
    replicas and their offset lag) and the Sentinels' view (quorum reachable, known
    Sentinels and replicas, every Sentinel reporting the same master).
author:
  - golive.core maintainers (@golive)
extends_documentation_fragment:
  - golive.core.attributes
  - golive.core.checks
  - golive.core.redis
options:
  expected_role:
    description:
      - Role the server connected to must have. V(any) accepts both.
    type: str
    choices: [master, replica, any]
    default: master
  require_persistence:
    description:
      - Which persistence must be configured. V(any) accepts AOF or RDB save points.
    type: str
    choices: [any, aof, rdb, both, none]
    default: any
  max_save_age:
    description:
      - Oldest acceptable RDB snapshot, in seconds, when writes happened since it was taken.
    type: int
    default: 86400
  min_replicas:
    description:
      - Replicas that must be connected, online and within O(max_replica_lag_bytes).
    type: int
    default: 0
  max_replica_lag_bytes:
    description:
      - Largest acceptable difference between the master's replication offset and a replica's.
    type: int
    default: 1048576
  require_maxmemory:
    description:
      - Fail (instead of warn) when C(maxmemory) is 0, that is unlimited.
    type: bool
    default: false
  maxmemory_policies:
    description:
      - Accepted values of C(maxmemory-policy). Empty accepts any.
    type: list
    elements: str
    default: []
  restricted_commands:
    description:
      - Commands (for example V(FLUSHALL), V(CONFIG), V(DEBUG)) that must be renamed away
        or denied by ACL to every user in O(restricted_for_users). Empty skips the check.
    type: list
    elements: str
    default: []
  restricted_for_users:
    description:
      - ACL users the commands in O(restricted_commands) must be denied to.
    type: list
    elements: str
    default: [default]
  require_tls:
    description:
      - Add the C(redis.tls) check - every node (the master and each replica it lists)
        serves TLS (C(tls-port) from C(CONFIG GET)), its certificate verifies against
        O(redis_ca_cert) (or the system's CAs) for the node's address with TLS 1.2 or newer,
        and the password is accepted over it (PING). With O(redis_tls), the collection's own
        connection is TLS too; where C(CONFIG) is disabled, only such a connection proves it.
    type: bool
    default: false
  min_hit_ratio:
    description:
      - Add the C(redis.hit_ratio) check - keyspace hits over hits plus misses (C(INFO stats)) since the
        statistics were last reset (restart or C(CONFIG RESETSTAT)), at least this ratio (V(0.8) is 80 %).
    type: float
  min_hit_lookups:
    description: Fewer lookups than this since the reset are too few to judge (the check is skipped, saying so).
    type: int
    default: 100
attributes:
  check_mode:
    support: full
    details: The module only reads, so check mode runs every check.
  diff_mode:
    support: none
notes:
  - The password check opens one connection without credentials to the master and to each
    replica it lists, and expects it to be refused.
  - Configuration is read with C(CONFIG GET), one parameter at a time; C(requirepass) and
    C(masterauth) are never read. Where C(CONFIG) is disabled the checks that need it are
    skipped, with the server's answer as evidence.
seealso:
  - module: golive.core.redis_persistence
    description: Persistence settings.
  - module: golive.core.redis_failover_drill
    description: A Sentinel failover drill.
"""

EXAMPLES = r"""
- name: Check the cache before the go-live
  golive.core.redis_health:
    redis_sentinels:
      - {host: sentinel-0.cache.internal}
      - {host: sentinel-1.cache.internal}
      - {host: sentinel-2.cache.internal}
    redis_master_name: cache
    redis_password: "{{ vault_redis_password }}"
    min_replicas: 1
    restricted_commands: [FLUSHALL, FLUSHDB, DEBUG]
"""

RETURN = r"""
checks:
  description: The checks, in the collection's check model.
  returned: always
  type: list
  elements: dict
  sample:
    - id: redis.persistence.configured
      title: AOF and/or RDB persistence is configured
      status: pass
      evidence: {aof_enabled: true, appendfsync: everysec, rdb_save_points: "3600 1", required: any}
      checklist: Persistence enabled
summary:
  description: Number of checks per status, and the total.
  returned: always
  type: dict
  sample: {pass: 12, fail: 0, warn: 1, skip: 1, total: 14}
master:
  description: Address (host:port) of the server the checks ran against.
  returned: success
  type: str
  sample: 10.0.0.5:6379
redis_version:
  description: Version of that server.
  returned: success
  type: str
  sample: 7.0.15
role:
  description: Its replication role.
  returned: success
  type: str
  sample: master
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.golive.core.plugins.module_utils.common import module as base
from ansible_collections.golive.core.plugins.module_utils.redis import connection as rds
from ansible_collections.golive.core.plugins.module_utils.redis import health

LIMITS = ("expected_role", "require_persistence", "max_save_age", "min_replicas", "max_replica_lag_bytes",
          "require_maxmemory", "maxmemory_policies", "restricted_commands", "restricted_for_users", "require_tls",
          "min_hit_ratio", "min_hit_lookups")


def main():
    spec = rds.argument_spec()
    spec.update(
        expected_role=dict(type="str", default="master", choices=["master", "replica", "any"]),
        require_persistence=dict(type="str", default="any", choices=["any", "aof", "rdb", "both", "none"]),
        max_save_age=dict(type="int", default=86400),
        min_replicas=dict(type="int", default=0),
        max_replica_lag_bytes=dict(type="int", default=1048576),
        require_maxmemory=dict(type="bool", default=False),
        maxmemory_policies=dict(type="list", elements="str", default=[]),
        restricted_commands=dict(type="list", elements="str", default=[]),
        restricted_for_users=dict(type="list", elements="str", default=["default"]),
        require_tls=dict(type="bool", default=False),
        min_hit_ratio=dict(type="float"),
        min_hit_lookups=dict(type="int", default=100),
    )
    spec.update(base.CHECKS_ARGUMENT_SPEC)
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    base.require_libs(module, [("redis", rds.REDIS_IMPORT_ERROR)])

    def service():
        limits = dict((name, module.params[name]) for name in LIMITS)
        result = health.run(rds.RedisServer.from_params(module.params), limits)
        return base.finish_checks(result, module.params["fail_on_failed_checks"])

    base.run(module, service)


if __name__ == "__main__":
    main()

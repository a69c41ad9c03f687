#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: connectivity
short_description: Check that every system a go-live touches answers, with evidence
version_added: 1.0.0
description:
  - Connects to PostgreSQL (directly or through PgBouncer), Redis (directly or through
    Sentinel discovery), an S3 bucket and an authoritative DNS server, with the same
    connection code the collection's action modules use, and runs one real operation
    on each.
  - Returns one check per system in the collection's check model, with evidence such as
    the server version, the master address, the SOA serial and the latency.
  - With O(write_probe=true) it also proves that each system accepts writes, with a write
    transaction in PostgreSQL (rolled back), a marker key in Redis with a TTL, a marker
    object in the bucket and a marker TXT record through a TSIG-signed update. Markers are
    only written when missing or different, so a second run reports no change.
author:
  - golive.core maintainers (@golive)
extends_documentation_fragment:
  - golive.core.attributes
  - golive.core.checks
  - golive.core.postgres
  - golive.core.redis
  - golive.core.aws
  - golive.core.dns
options:
  systems:
    description:
      - The systems to probe.
    type: list
    elements: str
    required: true
    choices: [postgres, redis, s3, dns]
  bucket:
    description:
      - Bucket to probe when O(systems) contains V(s3).
    type: str
  write_probe:
    description:
      - Also prove that each system accepts writes, leaving a small marker (see above).
    type: bool
    default: false
  probe_value:
    description:
      - Value of the markers written with O(write_probe=true).
    type: str
    default: golive.core
  probe_ttl:
    description:
      - Time to live of the Redis marker key, in seconds.
    type: int
    default: 86400
  fail_on_failed_checks:
    description:
      - Fail the task when a system does not answer. With V(false) the failed checks are
        only returned.
    type: bool
    default: true
attributes:
  check_mode:
    support: full
    details: In check mode no marker is written; the checks still connect and read.
  diff_mode:
    support: none
notes:
  - Markers are C(golive:probe) in Redis, C(golive-probe/marker) in the bucket and
    C(_golive-probe) TXT in the zone.
seealso:
  - module: golive.core.pg_health
    description: PostgreSQL health beyond reachability.
  - module: golive.core.redis_health
    description: Redis and Sentinel health.
  - module: golive.core.s3_health
    description: Bucket posture and a round trip.
"""

EXAMPLES = r"""
- name: Check that the database, the cache, the backup bucket and DNS answer
  golive.core.connectivity:
    systems: [postgres, redis, s3, dns]
    login_host: pgbouncer.prod.internal
    login_port: 6432
    login_user: app
    login_password: "{{ vault_pg_password }}"
    login_db: app
    redis_sentinels:
      - {host: sentinel-0.prod.internal}
      - {host: sentinel-1.prod.internal}
    redis_master_name: cache
    redis_password: "{{ vault_redis_password }}"
    bucket: prod-backups
    dns_server: ns1.example.com
    dns_zone: example.com.
    tsig_key_name: golive
    tsig_key_secret: "{{ vault_tsig_secret }}"
    write_probe: true
"""

RETURN = r"""
checks:
  description: One check per system, in the collection's check model.
  returned: always
  type: list
  elements: dict
  sample:
    - id: connectivity.postgres
      title: PostgreSQL answers a query
      status: pass
      evidence: {server_version: "15.18", in_recovery: false, latency_ms: 4.2}
      checklist: Environment configurations validated
summary:
  description: Number of checks per status, and the total.
  returned: always
  type: dict
  sample: {pass: 4, fail: 0, warn: 0, skip: 0, total: 4}
systems:
  description: The systems probed.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.golive.core.plugins.module_utils.common import module as base
from ansible_collections.golive.core.plugins.module_utils.connectivity.probes import run_probes
from ansible_collections.golive.core.plugins.module_utils.dns import rfc2136
from ansible_collections.golive.core.plugins.module_utils.postgres import connection as pg
from ansible_collections.golive.core.plugins.module_utils.redis import connection as rds
from ansible_collections.golive.core.plugins.module_utils.aws import session as aws


def main():
    spec = dict(
        systems=dict(type="list", elements="str", required=True, choices=["postgres", "redis", "s3", "dns"]),
        bucket=dict(type="str"),
        write_probe=dict(type="bool", default=False),
        probe_value=dict(type="str", default="golive.core"),
        probe_ttl=dict(type="int", default=86400),
    )
    spec.update(base.CHECKS_ARGUMENT_SPEC)
    for shared in (pg.argument_spec(), rds.argument_spec(), aws.argument_spec(), rfc2136.argument_spec()):
        spec.update(shared)
    module = AnsibleModule(
        argument_spec=spec,
        supports_check_mode=True,
    )
    wanted = set(module.params["systems"])
    base.require_libs(module, [
        (lib, err) for name, lib, err in (
            ("postgres", "psycopg2", pg.PSYCOPG2_IMPORT_ERROR), ("redis", "redis", rds.REDIS_IMPORT_ERROR),
            ("s3", "boto3", aws.BOTO3_IMPORT_ERROR), ("dns", "dnspython", rfc2136.DNSPYTHON_IMPORT_ERROR),
        ) if name in wanted])

    def service():
        base.require_options(module.params, {"s3": ["bucket"], "dns": ["dns_server", "dns_zone"]}, "systems")
        p = module.params
        builders = {"postgres": lambda: pg.PgServer.from_params(p), "redis": lambda: rds.RedisServer.from_params(p),
                    "s3": lambda: (aws.AwsSettings.from_params(p), p["bucket"]),
                    "dns": lambda: rfc2136.server_from_params(p)}
        targets = dict((name, builders[name]()) for name in wanted)
        result = run_probes(targets, p["systems"], p["write_probe"], module.check_mode, p["probe_value"],
                            p["probe_ttl"])
        return base.finish_checks(result, module.params["fail_on_failed_checks"], "systems")

    base.run(module, service)


if __name__ == "__main__":
    main()

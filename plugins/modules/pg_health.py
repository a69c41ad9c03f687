#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: pg_health
short_description: Check a PostgreSQL deployment's health, replication, pooling and backups
version_added: 1.0.0
description:
  - Read-only. Reports the server version and role (primary or replica), the connection
    headroom against C(max_connections), the replicas streaming from a primary with their
    lag in bytes and seconds, PgBouncer's pool settings (through its admin console) and the
    age of the newest complete backup of the database (O(backup_database)) in the bucket
    against an RPO, and with O(tls) the encryption in transit.
  - Returns one check per subject in the collection's check model.
author:
  - golive.core maintainers (@golive)
extends_documentation_fragment:
  - golive.core.attributes
  - golive.core.checks
  - golive.core.postgres
  - golive.core.aws
  - golive.core.backup_identity
options:
  expect_role:
    description:
      - The role the server must have.
    type: str
    choices: [any, primary, replica]
    default: any
  min_connection_headroom:
    description:
      - Minimum share of usable connections (C(max_connections) minus the reserved ones)
        that must be free, in percent.
    type: float
    default: 20.0
  min_replicas:
    description:
      - Minimum number of replicas streaming from the primary. Setting this, O(max_lag_bytes)
        or O(max_lag_seconds) adds the replication check.
    type: int
  max_lag_bytes:
    description:
      - Maximum replay lag of each replica, in bytes of WAL.
    type: int
  max_lag_seconds:
    description:
      - Maximum replay lag of each replica, in seconds.
    type: float
  replication_wait:
    description:
      - Seconds to wait for the replicas to come within the lag limits (after a burst of
        writes) before the replication check fails.
    type: int
    default: 0
  pgbouncer:
    description:
      - PgBouncer's admin console. When O(pgbouncer.host) is set, the pooling check is added.
    type: dict
    suboptions:
      host:
        description: Host of PgBouncer.
        type: str
      port:
        description: Port of PgBouncer.
        type: int
        default: 6432
      user:
        description: A user listed in PgBouncer's C(admin_users) or C(stats_users).
        type: str
      password:
        description: Password of O(pgbouncer.user).
        type: str
      database:
        description: Only report the pools of this database.
        type: str
      pool_mode:
        description: The pool mode PgBouncer must use.
        type: str
        choices: [session, transaction, statement]
      max_waiting_clients:
        description: Fail when more clients than this wait for a server connection (C(cl_waiting) of the pools).
        type: int
  slow_queries:
    description:
      - Adds C(pg.slow_queries) - the statements with the highest mean time in C(pg_stat_statements) (its
        normalised text, constants as C($n)) of this database; one above O(slow_queries.mean_ms_max) fails,
        named. Skipped, saying how to install it, where the extension is not installed.
    type: dict
    suboptions:
      mean_ms_max:
        description: Highest mean execution time, in milliseconds.
        type: float
        default: 500
      min_calls:
        description: Statements called fewer times are left out.
        type: int
        default: 5
      top:
        description: How many statements the evidence lists.
        type: int
        default: 5
  tls:
    description:
      - Encryption in transit. When set, the C(pg.tls) check is added - the server has
        C(ssl=on); this module's own connection is encrypted (the client's leg, from libpq,
        and the server's, from C(pg_stat_ssl), which differ behind PgBouncer) with at least
        O(tls.min_protocol); and no rule of C(pg_hba_file_rules) lets a role of O(tls.roles)
        in over TCP without TLS (a C(host) or C(hostnossl) rule that covers the role, directly,
        by C(all) or by a C(+group) it belongs to, and is not shadowed by an earlier rejecting
        rule for the same databases and addresses). When O(pgbouncer) is set, PgBouncer must
        use TLS towards its clients and towards PostgreSQL (C(client_tls_sslmode),
        C(server_tls_sslmode) other than C(disable)).
      - Reading C(pg_hba_file_rules) needs a superuser or a role granted C(SELECT) on the
        view and C(EXECUTE) on the function C(pg_hba_file_rules()).
      - To verify the server's certificate, connect with O(ssl_mode=verify-full) and O(ca_cert).
    type: dict
    suboptions:
      roles:
        description:
          - The roles (the application's) that may only connect over TLS (C(hostssl)).
        type: list
        elements: str
        default: []
      require_connection:
        description:
          - Fail when this module's own connection is not encrypted.
        type: bool
        default: true
      min_protocol:
        description:
          - The oldest TLS version the connection may use.
        type: str
        choices: [TLSv1.2, TLSv1.3]
        default: TLSv1.2
  bucket:
    description:
      - Bucket of the backups. When set, the backup age check is added.
    type: str
  prefix:
    description:
      - Key prefix of the backups in O(bucket).
    type: str
    default: postgres
  backup_label:
    description:
      - Only consider backups whose label matches this glob.
    type: str
  backup_database:
    description:
      - The database whose backups the RPO check judges. Defaults to O(login_db); backups of
        other databases under the same prefix are never counted.
    type: str
  rpo_seconds:
    description:
      - Maximum age of the newest complete backup, in seconds.
    type: int
attributes:
  check_mode:
    support: full
    details: The module only reads.
  diff_mode:
    support: none
seealso:
  - module: golive.core.pg_backup
    description: The pre-deploy backup.
  - module: community.postgresql.postgresql_info
    description: Facts about a PostgreSQL server.
"""

EXAMPLES = r"""
- name: Check the primary, its replica, PgBouncer and the backups
  golive.core.pg_health:
    login_host: db-primary.prod.internal
    login_user: golive_admin
    login_password: "{{ vault_pg_admin_password }}"
    expect_role: primary
    min_replicas: 1
    max_lag_bytes: 16777216
    pgbouncer:
      host: pgbouncer.prod.internal
      user: pgbouncer_admin
      password: "{{ vault_pgbouncer_admin_password }}"
      pool_mode: transaction
    bucket: prod-backups
    rpo_seconds: 86400

- name: Encryption in transit - verified TLS, and the application's role refused without it
  golive.core.pg_health:
    login_host: db-primary.prod.internal
    login_user: golive_admin
    login_password: "{{ vault_pg_admin_password }}"
    ssl_mode: verify-full
    ca_cert: /etc/ssl/certs/internal-ca.pem
    tls:
      roles: [app]
"""

RETURN = r"""
checks:
  description: One check per subject, in the collection's check model.
  returned: always
  type: list
  elements: dict
  sample:
    - id: pg.replication
      title: Replicas stream from the primary within the lag limits
      status: pass
      evidence: {connected_replicas: 1, streaming_replicas: 1, min_replicas: 1}
      checklist: High availability configured
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
server:
  description: Version, role and database of the server.
  returned: success
  type: dict
replicas:
  description: The replicas connected to a primary, with their lag.
  returned: success
  type: list
  elements: dict
connections:
  description: C(max_connections), reserved and used connections.
  returned: success
  type: dict
newest_backup:
  description: Id, label and completion time of the newest complete backup, when O(bucket) is set.
  returned: success
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.golive.core.plugins.module_utils.common import module as base
from ansible_collections.golive.core.plugins.module_utils.postgres import backup as pgbackup
from ansible_collections.golive.core.plugins.module_utils.postgres import connection as pg
from ansible_collections.golive.core.plugins.module_utils.postgres import health
from ansible_collections.golive.core.plugins.module_utils.storage import catalog
from ansible_collections.golive.core.plugins.module_utils.aws import session as aws


def main():
    spec = dict(
        expect_role=dict(type="str", default="any", choices=["any", "primary", "replica"]),
        min_connection_headroom=dict(type="float", default=20.0),
        min_replicas=dict(type="int"),
        max_lag_bytes=dict(type="int"),
        max_lag_seconds=dict(type="float"),
        replication_wait=dict(type="int", default=0),
        pgbouncer=pg.pgbouncer_argument_spec(
            database=dict(type="str"), pool_mode=dict(type="str", choices=["session", "transaction", "statement"]),
            max_waiting_clients=dict(type="int")),
        slow_queries=dict(type="dict", options=dict(mean_ms_max=dict(type="float", default=500.0),
                                                    min_calls=dict(type="int", default=5),
                                                    top=dict(type="int", default=5))),
        bucket=dict(type="str"),
        prefix=dict(type="str", default="postgres"),
        backup_label=dict(type="str"),
        backup_database=dict(type="str"),
        rpo_seconds=dict(type="int"),
        tls=dict(type="dict", options=dict(
            roles=dict(type="list", elements="str", default=[]),
            require_connection=dict(type="bool", default=True),
            min_protocol=dict(type="str", default="TLSv1.2", choices=["TLSv1.2", "TLSv1.3"]))),
    )
    spec.update(catalog.identity_argument_spec())
    spec.update(base.CHECKS_ARGUMENT_SPEC)
    spec.update(pg.argument_spec())
    spec.update(aws.argument_spec())
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    p = module.params
    base.require_libs(module, [("psycopg2", pg.PSYCOPG2_IMPORT_ERROR)]
                      + ([("boto3", aws.BOTO3_IMPORT_ERROR)] if p["bucket"] else []))

    def service():
        result = health.health(
            pg.PgServer.from_params(p), expect_role=p["expect_role"], min_connection_headroom=p["min_connection_headroom"],
            min_replicas=p["min_replicas"], max_lag_bytes=p["max_lag_bytes"], max_lag_seconds=p["max_lag_seconds"],
            replication_wait=p["replication_wait"],
            pgbouncer=p["pgbouncer"], store=pgbackup.store_from_params(p) if p["bucket"] else None,
            backup_identity=pgbackup.identity(p["backup_database"] or p["login_db"], p["environment"]),
            backup_label=p["backup_label"], rpo_seconds=p["rpo_seconds"], tls=p["tls"], slow_queries=p["slow_queries"])
        return base.finish_checks(result, p["fail_on_failed_checks"])

    base.run(module, service)


if __name__ == "__main__":
    main()

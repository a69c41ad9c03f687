#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: pg_restore
short_description: Roll a PostgreSQL database back to a release's pre-deploy backup, keeping the current one
version_added: 1.0.0
description:
  - Restores the backup labelled O(label) (by default C(pre-deploy-<release>)), or the one
    with O(backup_id), in place of database O(database). Refuses unless the backup's recorded
    release is O(release).
  - The backup is restored into a new database and verified against its manifest as
    M(golive.core.pg_backup_verify) does, while the current database keeps serving. Then new
    connections to O(database) are refused, PgBouncer's clients of it are dropped and held
    (C(KILL), when O(pgbouncer) is set), its sessions are terminated, and in one transaction it
    is renamed to C(<database>_before_<UTC time>) and the restored database takes its name.
    Connections are allowed again and PgBouncer resumed (C(RESUME)).
  - Nothing is lost. The previous database stays under its dated name.
  - With O(ledger), the restore is a ledger step (default C(rollback/db-restore)) whose intent names
    the databases it will create and keep before anything changes. A step already done with the same
    backup is not done again. An attempt that was killed is resumed under the names it started with,
    by the next run. If its swap had happened, the run only finishes it (connections allowed again,
    PgBouncer resumed); otherwise its partial copy is dropped and the restore runs again.
  - Connect with a superuser (or the owner of both databases with C(CREATEDB)); O(login_db)
    must not be O(database) (C(postgres) is used then).
author:
  - golive.core maintainers (@golive)
extends_documentation_fragment:
  - golive.core.attributes
  - golive.core.postgres
  - golive.core.aws
  - golive.core.pg_backup_store
  - golive.core.backup_identity
  - golive.core.k8s
  - golive.core.ledger
options:
  database:
    description:
      - The database to restore.
    type: str
    required: true
  release:
    description:
      - The release being rolled back. The backup's manifest must record the same release.
    type: str
    required: true
  label:
    description:
      - Label (a glob) of the backup to restore; the newest match is used.
      - Defaults to C(pre-deploy-<release>).
    type: str
  backup_id:
    description:
      - Id of the backup to restore. It must have been taken from O(source_database).
    type: str
  source_database:
    description:
      - The database whose backups are restored into O(database). Defaults to O(database).
      - Set it only to restore one database's backup into another name on purpose (a copy
        for an investigation, a rename); a backup is never taken from another source by
        accident.
    type: str
  create:
    description:
      - Create O(database) from the backup when it does not exist. Without it, a database
        that does not exist is refused (a typo must not create a database).
    type: bool
    default: false
  pgbouncer:
    description:
      - PgBouncer's admin console, to drop and hold its clients of O(database) around the swap.
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
        description: A user listed in PgBouncer's C(admin_users).
        type: str
      password:
        description: Password of O(pgbouncer.user).
        type: str
  timeout:
    description:
      - Seconds allowed for the swap (terminating sessions and renaming) to succeed.
    type: int
    default: 120
attributes:
  check_mode:
    support: full
    details: Finds the backup, checks the release and names each step; changes nothing.
  diff_mode:
    support: full
    details: What O(database) holds before and after, and the name the previous database is kept under.
seealso:
  - module: golive.core.pg_backup
    description: Takes the backups it restores.
  - module: golive.core.pg_kept
    description: Lists and prunes the databases a restore kept.
"""

EXAMPLES = r"""
- name: Roll the database back to the pre-deploy backup of release 2026.11.3
  golive.core.pg_restore:
    login_host: db-primary.prod.internal
    login_user: golive_admin
    login_password: "{{ vault_pg_admin_password }}"
    database: app
    release: "2026.11.3"
    bucket: prod-backups
    pgbouncer:
      host: pgbouncer.prod.internal
      user: pgbouncer_admin
      password: "{{ vault_pgbouncer_admin_password }}"
"""

RETURN = r"""
backup_id:
  description: Id of the backup restored.
  returned: success
  type: str
label:
  description: Its label.
  returned: success
  type: str
database:
  description: The database restored.
  returned: success
  type: str
previous_database:
  description: The name the previous database is kept under (null when there was none).
  returned: success
  type: str
  sample: app_before_20261122051500
writes_since_backup:
  description:
    - The rows written to the database since the backup, per table, that the restore keeps in
      RV(previous_database) and takes out of the live database (in check mode too, so a rollback
      can say it before acting). From PostgreSQL's statistics, not a scan of the tables
      (C(method=statistics)); C(estimate) (net row counts) for backups older than the counters;
      C(unknown) after a statistics reset, with a C(note).
  returned: when the database exists and the restore is not resumed
  type: dict
  sample: {method: statistics, total: {inserted: 12, updated: 3, deleted: 0},
           tables: {public.incidents: {inserted: 12, updated: 3, deleted: 0}}}
steps:
  description: The steps of the restore, each with a description (in check mode, those that would run).
  returned: success
  type: list
  elements: dict
applied:
  description: The steps that ran.
  returned: always
  type: list
  elements: str
restored_from:
  description: Summary of the backup's manifest.
  returned: success
  type: dict
undo:
  description: How to reverse the restore (swap the databases back).
  returned: success
  type: dict
resumed:
  description: Whether this run finished an attempt that was interrupted (see O(ledger)).
  returned: when a ledger step was resumed
  type: bool
ledger:
  description: The ledger step this task recorded.
  returned: when O(ledger) is set
  type: dict
  sample:
    release: 2026.11.3
    environment: production
    run_id: 20261205T091200-1a2b3c4d
    step: phase4/deploy
    decision: run
    copy: null
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.golive.core.plugins.module_utils.common import module as base
from ansible_collections.golive.core.plugins.module_utils.k8s import client as k8s
from ansible_collections.golive.core.plugins.module_utils.ledger.run import context_spec, with_recorder
from ansible_collections.golive.core.plugins.module_utils.postgres import backup as pgbackup
from ansible_collections.golive.core.plugins.module_utils.postgres import connection as pg
from ansible_collections.golive.core.plugins.module_utils.postgres import restore
from ansible_collections.golive.core.plugins.module_utils.aws import session as aws


def main():
    spec = dict(
        database=dict(type="str", required=True),
        release=dict(type="str", required=True),
        label=dict(type="str"),
        backup_id=dict(type="str"),
        source_database=dict(type="str"),
        create=dict(type="bool", default=False),
        pgbouncer=pg.pgbouncer_argument_spec(),
        timeout=dict(type="int", default=120),
        ledger=dict(type="dict", options=context_spec()),
    )
    spec.update(pgbackup.store_argument_spec())
    spec.update(pg.argument_spec())
    spec.update(aws.argument_spec())
    spec.update(k8s.argument_spec())  # where the ledger lives
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    libs = [("psycopg2", pg.PSYCOPG2_IMPORT_ERROR), ("boto3", aws.BOTO3_IMPORT_ERROR)]
    if module.params["ledger"]:
        libs.append(("kubernetes", k8s.KUBERNETES_IMPORT_ERROR))
    base.require_libs(module, libs)
    p = module.params

    def service():
        kube = k8s.Kube(k8s.KubeSettings.from_params(p), deadline=max(60, p["timeout"])) \
            if p["ledger"] else None
        return with_recorder(p["ledger"], "rollback", "db-restore", lambda journal: restore.restore(
            pg.PgServer.from_params(p), pgbackup.store_from_params(p), p["database"], p["release"], label=p["label"], backup_id=p["backup_id"],
            source=p["source_database"], environment=p["environment"], create=p["create"], pgbouncer=p["pgbouncer"],
            bindir=p["bindir"], jobs=p["jobs"], timeout=p["timeout"], check_mode=module.check_mode,
            recorder=journal), kube, **base.modes(module))

    base.run(module, service)


if __name__ == "__main__":
    main()

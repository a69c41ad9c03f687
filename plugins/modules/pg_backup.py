#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: pg_backup
short_description: Back up a PostgreSQL database to S3 with a manifest that proves what it holds
version_added: 1.0.0
description:
  - Runs C(pg_dump --format=custom) of O(login_db) and streams its output to the bucket in a
    multipart upload (no local copy), hashing it on the way. An upload that fails or is
    interrupted is aborted and leaves no backup.
  - In the same snapshot as the dump (C(pg_export_snapshot) shared with C(pg_dump --snapshot))
    and in parallel with it, counts the rows of every table and computes an order-independent
    checksum of their contents and a hash of the schema.
  - Writes the manifest last (sha256, size, server version, WAL position, schema hash and the
    per-table figures); only backups with a manifest are listed, restored or counted as the
    newest. Retention then deletes old backups, manifest first.
  - Returns the backup id and label, which a rollback uses to restore it.
  - With O(ledger), the backup is a ledger step (default C(phase2/predeploy-backup)) whose outputs
    name the backup (id, label, release, source database, environment). M(golive.core.pg_migrate) with
    O(ledger) names that backup as the undo of its migrations, and the rollback restores it.
author:
  - golive.core maintainers (@golive)
extends_documentation_fragment:
  - golive.core.attributes
  - golive.core.postgres
  - golive.core.aws
  - golive.core.pg_backup_store
  - golive.core.backup_retention
  - golive.core.backup_identity
  - golive.core.k8s
  - golive.core.ledger
options:
  label:
    description:
      - Label of the backup, for example C(pre-deploy-2026.11.3) or C(scheduled).
    type: str
    required: true
  release:
    description:
      - Release id recorded in the manifest; a rollback restore requires it to match.
    type: str
  part_size_mb:
    description:
      - Size of one upload part, in MiB (at least 5).
    type: int
    default: 32
  compress:
    description:
      - Compression level of C(pg_dump) (0-9). By default C(pg_dump)'s own.
    type: int
  if_exists:
    description:
      - With V(reuse), a complete backup of the same database (and environment) with the same
        label is returned unchanged instead of taking a new one (a re-run keeps the first
        pre-deploy backup).
    type: str
    choices: [new, reuse]
    default: new
attributes:
  check_mode:
    support: full
    details: Names the backup that would be taken; dumps and uploads nothing.
  diff_mode:
    support: full
    details: The new backup's id and label.
seealso:
  - module: golive.core.pg_backup_verify
    description: Restores a backup into a scratch database and compares.
  - module: golive.core.pg_restore
    description: Restores a backup for a rollback.
"""

EXAMPLES = r"""
- name: Take the pre-deploy backup
  golive.core.pg_backup:
    login_host: db-primary.prod.internal
    login_user: golive_admin
    login_password: "{{ vault_pg_admin_password }}"
    login_db: app
    bucket: prod-backups
    label: "pre-deploy-{{ golive_release }}"
    release: "{{ golive_release }}"
    if_exists: reuse
    retention:
      keep_last: 10
      labels: pre-deploy-*
  register: predeploy
"""

RETURN = r"""
backup_id:
  description: Id of the backup (its folder under O(prefix)).
  returned: success
  type: str
  sample: 20261122T050102Z-pre-deploy-2026.11.3-1a2b3c4d
label:
  description: Label of the backup.
  returned: success
  type: str
reused:
  description: Whether an existing backup was returned (O(if_exists=reuse)).
  returned: success
  type: bool
backup:
  description: Summary of the manifest (size, sha256, server version, WAL position, tables, rows, duration).
  returned: success
  type: dict
location:
  description: URL of the manifest.
  returned: success
  type: str
retention:
  description: Ids of the backups deleted by retention, and of incomplete folders removed.
  returned: when O(retention) is set
  type: dict
undo:
  description: What a rollback needs to restore this backup.
  returned: success
  type: dict
ledger:
  description: The ledger step this task recorded.
  returned: when O(ledger) is set
  type: dict
  sample:
    release: 2026.11.3
    environment: production
    run_id: 20261205T091200-1a2b3c4d
    step: phase2/predeploy-backup
    decision: run
    copy: null
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.golive.core.plugins.module_utils.common import module as base
from ansible_collections.golive.core.plugins.module_utils.k8s import client as k8s
from ansible_collections.golive.core.plugins.module_utils.ledger.run import context_spec, with_recorder
from ansible_collections.golive.core.plugins.module_utils.postgres import backup as pgbackup
from ansible_collections.golive.core.plugins.module_utils.postgres import connection as pg
from ansible_collections.golive.core.plugins.module_utils.storage import catalog
from ansible_collections.golive.core.plugins.module_utils.storage import runner
from ansible_collections.golive.core.plugins.module_utils.aws import session as aws
from ansible_collections.golive.core.plugins.module_utils.storage import s3


def main():
    spec = dict(
        label=dict(type="str", required=True),
        release=dict(type="str"),
        part_size_mb=dict(type="int", default=32),
        compress=dict(type="int"),
        if_exists=dict(type="str", default="new", choices=["new", "reuse"]),
        retention=catalog.retention_argument_spec(),
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
    engine = pgbackup.DumpEngine(pg.PgServer.from_params(p), bindir=p["bindir"], part_size=p["part_size_mb"] * s3.MIB,
                                 compress=p["compress"], jobs=p["jobs"])

    def service():
        kube = k8s.Kube(k8s.KubeSettings.from_params(p), deadline=60) if p["ledger"] else None
        return with_recorder(p["ledger"], "phase2", "predeploy-backup", lambda journal: runner.recorded_backup(
            journal, "golive.core.pg_backup", ["postgres database %s" % p["login_db"]], pgbackup.store_from_params(p),
            pgbackup.identity(p["login_db"], p["environment"]), engine, p["label"], release=p["release"],
            if_exists=p["if_exists"], retention=p["retention"], check_mode=module.check_mode),
            kube, check_mode=module.check_mode)

    base.run(module, service)


if __name__ == "__main__":
    main()

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: pg_backup_verify
short_description: Prove that a PostgreSQL backup restores, against its manifest and an RTO
version_added: 1.0.0
description:
  - Restores a backup of O(database) (the newest, or one chosen by O(backup_id) or O(label)) into a scratch
    database, streaming it from the bucket into C(pg_restore), then recomputes the figures
    of its manifest (sha256 and size of the object, schema hash, per-table row counts and
    content checksums), compares them and drops the scratch database.
  - A corrupted or truncated backup, or any difference from the manifest, fails the task
    naming what differed. The restore duration is reported against O(rto_seconds).
  - Connect with a role that may create databases (O(login_db) is only used to connect).
author:
  - golive.core maintainers (@golive)
extends_documentation_fragment:
  - golive.core.attributes
  - golive.core.checks
  - golive.core.postgres
  - golive.core.aws
  - golive.core.pg_backup_store
  - golive.core.backup_identity
options:
  database:
    description:
      - The database whose backups are verified. Defaults to O(login_db).
      - A backup named by O(backup_id) must have been taken from this database.
    type: str
  backup_id:
    description:
      - Id of the backup to verify.
    type: str
  label:
    description:
      - Verify the newest backup whose label matches this glob.
    type: str
  rto_seconds:
    description:
      - Recovery time objective; a restore slower than this fails the check.
    type: float
  scratch_prefix:
    description:
      - Prefix of the scratch database's name.
    type: str
    default: golive_verify
  fail_on_failed_checks:
    description:
      - Fail the task when the restore exceeds O(rto_seconds). Differences from the manifest always fail.
    type: bool
    default: true
attributes:
  check_mode:
    support: full
    details: Finds the backup and names the steps; restores nothing.
  diff_mode:
    support: none
seealso:
  - module: golive.core.pg_backup
    description: Takes the backup.
  - module: golive.core.pg_restore
    description: Restores it for a rollback.
"""

EXAMPLES = r"""
- name: Prove the newest backup restores within the RTO
  golive.core.pg_backup_verify:
    login_host: db-primary.prod.internal
    login_user: golive_admin
    login_password: "{{ vault_pg_admin_password }}"
    bucket: prod-backups
    rto_seconds: 1800
"""

RETURN = r"""
backup_id:
  description: Id of the backup verified (null in check mode when the store holds none yet).
  returned: success
  type: str
label:
  description: Its label.
  returned: success
  type: str
backup:
  description: Summary of its manifest.
  returned: success
  type: dict
restore_seconds:
  description: Time to download, restore and compare, in seconds.
  returned: success
  type: float
rto_seconds:
  description: The RTO it was measured against.
  returned: success
  type: float
scratch_database:
  description: Name of the scratch database (dropped again, also when verification fails).
  returned: always
  type: str
steps:
  description: In check mode, the steps a run would take.
  returned: check mode
  type: list
  elements: str
differences:
  description: What differed from the manifest.
  returned: failure
  type: list
  elements: str
checks:
  description: The restore check, in the collection's check model.
  returned: always
  type: list
  elements: dict
  sample:
    - id: pg.backup.restore_test
      title: The newest backup restores into a scratch database within the RTO
      status: pass
      evidence:
        restore_seconds: 4.2
        rto_seconds: 1800
      checklist: null
summary:
  description: Number of checks per status.
  returned: success
  type: dict
  sample:
    pass: 3
    fail: 0
    warn: 0
    skip: 0
    total: 3
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.golive.core.plugins.module_utils.common import module as base
from ansible_collections.golive.core.plugins.module_utils.postgres import backup as pgbackup
from ansible_collections.golive.core.plugins.module_utils.postgres import connection as pg
from ansible_collections.golive.core.plugins.module_utils.postgres import verify
from ansible_collections.golive.core.plugins.module_utils.aws import session as aws


def main():
    spec = dict(
        database=dict(type="str"),
        backup_id=dict(type="str"),
        label=dict(type="str"),
        rto_seconds=dict(type="float"),
        scratch_prefix=dict(type="str", default="golive_verify"),
    )
    spec.update(base.CHECKS_ARGUMENT_SPEC)
    spec.update(pgbackup.store_argument_spec())
    spec.update(pg.argument_spec())
    spec.update(aws.argument_spec())
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    base.require_libs(module, [("psycopg2", pg.PSYCOPG2_IMPORT_ERROR), ("boto3", aws.BOTO3_IMPORT_ERROR)])
    p = module.params

    def service():
        result = verify.verify(pg.PgServer.from_params(p), pgbackup.store_from_params(p),
                               pgbackup.identity(p["database"] or p["login_db"], p["environment"]),
                               backup_id=p["backup_id"], label=p["label"], rto_seconds=p["rto_seconds"],
                               bindir=p["bindir"], jobs=p["jobs"], scratch_prefix=p["scratch_prefix"],
                               check_mode=module.check_mode)
        return base.finish_checks(result, p["fail_on_failed_checks"])

    base.run(module, service)


if __name__ == "__main__":
    main()

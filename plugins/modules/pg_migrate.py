#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: pg_migrate
short_description: Apply versioned SQL migrations to PostgreSQL, once each, in order
version_added: 1.0.0
description:
  - Applies the files C(V<version>__<name>.sql) of a directory in version order (C(V1__a.sql),
    C(V1.1__b.sql), C(V2__c.sql)) and records each in a history table with its sha256
    checksum, duration, the user who applied it and the release.
  - Each migration runs in its own transaction together with its history row, so an
    interrupted run leaves either the whole migration or nothing. A file that has the line
    C(-- golive:no-transaction) among its first five lines runs statement by statement
    without a transaction (for C(CREATE INDEX CONCURRENTLY)); such a file must be safe to
    run again.
  - A session-level advisory lock serialises runs against one history table. A second run
    waits up to O(lock_timeout) seconds and then finds the work done.
  - When the file of an applied migration has changed (its checksum differs), the run fails
    naming the files and touches nothing. So it does when an applied migration's file is
    missing, or when a new file has a version below the applied one.
  - With O(ledger), the migrations are a ledger step (default C(phase2/migrate)) whose intent,
    written before the first migration runs, names its undo. That undo is a restore of the backup
    this release's M(golive.core.pg_backup) step recorded for the same database. The emergency
    rollback restores it, and refuses to run when there is none.
author:
  - golive.core maintainers (@golive)
extends_documentation_fragment:
  - golive.core.attributes
  - golive.core.postgres
  - golive.core.k8s
  - golive.core.ledger
options:
  path:
    description:
      - Directory holding the migration files (on the node that runs the module).
    type: path
    required: true
  target:
    description:
      - Apply migrations up to and including this version only. It must be the version of a file.
    type: str
  history_table:
    description:
      - The history table, optionally schema-qualified. Created when missing.
    type: str
    default: public.golive_schema_history
  lock_timeout:
    description:
      - Seconds to wait for another run's migration lock before failing.
    type: int
    default: 300
  applied_by:
    description:
      - Who applies the migrations, recorded in the history (with the database user).
        Defaults to the operating system user running the module.
    type: str
  release:
    description:
      - Release id recorded in the history.
    type: str
  session_role:
    description:
      - Role to switch to (C(SET ROLE)) after connecting, so the objects the migrations create
        belong to it (for example the application's owner role) while connecting as an admin.
    type: str
  accept_renames:
    description:
      - An applied migration whose file now has another name under the same version (same
        content) fails the run, naming both names, as a changed file does. With V(true) the
        history records the new names instead (reported as a change).
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    details: Lists the migrations that would run, runs none and creates no history table.
  diff_mode:
    support: full
    details: The version before and after, and the files applied.
seealso:
  - module: golive.core.pg_backup
    description: The backup taken before migrating.
  - module: golive.core.pg_seed
    description: Reference data after the migrations.
"""

EXAMPLES = r"""
- name: Migrate the application's schema
  golive.core.pg_migrate:
    login_host: db-primary.prod.internal
    login_user: golive_admin
    login_password: "{{ vault_pg_admin_password }}"
    login_db: app
    path: "{{ playbook_dir }}/../migrations"
    release: "{{ golive_release }}"
"""

RETURN = r"""
applied:
  description: The migrations applied by this run, in order, with their duration.
  returned: always
  type: list
  elements: dict
  sample: [{version: "3", name: add orders, filename: V3__add_orders.sql, checksum: 9f2c..., transactional: true,
            duration_ms: 41}]
pending:
  description: The migrations that were pending when the run started (in check mode, those that would run).
  returned: success
  type: list
  elements: dict
current_version:
  description: The highest applied version after the run (after a failure, the version the run really reached).
  returned: always
  type: str
renamed:
  description: Applied versions whose file now has another name, with the applied and the current file name.
  returned: success
  type: list
  elements: dict
failed_migration:
  description: The file that failed to apply.
  returned: failure
  type: str
target:
  description: The target version, normalised.
  returned: success
  type: str
undo:
  description: How to reverse the run (migrations are reversed by restoring the pre-migration backup).
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
    step: phase2/migrate
    decision: run
    copy: null
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.golive.core.plugins.module_utils.common import module as base
from ansible_collections.golive.core.plugins.module_utils.k8s import client as k8s
from ansible_collections.golive.core.plugins.module_utils.ledger.run import context_spec, with_recorder
from ansible_collections.golive.core.plugins.module_utils.postgres import connection as pg
from ansible_collections.golive.core.plugins.module_utils.postgres import migrate


def main():
    spec = dict(
        path=dict(type="path", required=True),
        target=dict(type="str"),
        history_table=dict(type="str", default="public.golive_schema_history"),
        lock_timeout=dict(type="int", default=300),
        applied_by=dict(type="str"),
        release=dict(type="str"),
        session_role=dict(type="str"),
        accept_renames=dict(type="bool", default=False),
        ledger=dict(type="dict", options=context_spec()),
    )
    spec.update(pg.argument_spec())
    spec.update(k8s.argument_spec())  # where the ledger lives
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    libs = [("psycopg2", pg.PSYCOPG2_IMPORT_ERROR)]
    if module.params["ledger"]:
        libs.append(("kubernetes", k8s.KUBERNETES_IMPORT_ERROR))
    base.require_libs(module, libs)
    p = module.params

    def service():
        kube = k8s.Kube(k8s.KubeSettings.from_params(p), deadline=max(60, p["lock_timeout"])) \
            if p["ledger"] else None
        return with_recorder(p["ledger"], "phase2", "migrate", lambda journal: migrate.migrate(
            pg.PgServer.from_params(p), p["path"], target=p["target"], table=p["history_table"], lock_timeout=p["lock_timeout"],
            applied_by=p["applied_by"], release=p["release"], session_role=p["session_role"],
            accept_renames=p["accept_renames"], check_mode=module.check_mode, recorder=journal), kube,
            check_mode=module.check_mode)

    base.run(module, service)


if __name__ == "__main__":
    main()

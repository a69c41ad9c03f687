#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: pg_kept
short_description: List and prune the databases a rollback's restore kept aside
version_added: 1.0.0
description:
  - A restore (golive.core.pg_restore, the rollback's C(rollback/db-restore)) keeps the database as it was
    under C(<database>_before_<UTC time>), with every write made after the pre-deploy backup, and writes on
    it a comment naming the release, the backup and the rows written since. Nothing removes them by itself,
    so they pile up with every rollback.
  - O(state=listed) lists the kept copies of O(database), newest first, with their age, size, open
    sessions and what their comment says.
  - O(state=pruned) applies an explicit retention. A copy goes when it is beyond the newest O(keep) and,
    when O(older_than) is given too, older than that. One a rollback kept post-go-live writes in (its comment
    says so) is never dropped without O(drop_named=true), and is named in a warning instead. A copy with open
    sessions (someone copying writes back) fails the task naming it.
author:
  - golive.core maintainers (@golive)
extends_documentation_fragment:
  - golive.core.attributes
  - golive.core.postgres
  - golive.core.k8s
  - golive.core.ledger
attributes:
  check_mode:
    support: full
    details: Lists and plans; nothing is dropped.
  diff_mode:
    support: full
    details: The kept copies before and after.
options:
  database:
    description: The live database whose kept copies these are.
    type: str
    required: true
  state:
    description: V(listed) lists them; V(pruned) drops those beyond the retention.
    type: str
    default: listed
    choices: [listed, pruned]
  keep:
    description: With V(pruned), how many of the newest copies to keep whatever their age.
    type: int
  older_than:
    description:
      - With V(pruned), drop only copies older than this, a number and a unit (s, m, h, d, w), for
        example V(30d). With O(keep) as well, a copy must be both beyond the newest O(keep) and this old.
    type: str
  drop_named:
    description:
      - Also drop copies in which a rollback kept the writes made after a go-live, once nobody needs
        them (copy back what is needed first).
    type: bool
    default: false
seealso:
  - module: golive.core.pg_restore
    description: Keeps the database it replaces.
"""

EXAMPLES = r"""
- name: What the rollbacks kept aside
  golive.core.pg_kept:
    database: shop
  register: kept

- name: Keep the three newest copies and any younger than 30 days
  golive.core.pg_kept:
    database: shop
    state: pruned
    keep: 3
    older_than: 30d

- name: Drop every copy older than a week, also those holding post-go-live writes (after they were copied back)
  golive.core.pg_kept:
    database: shop
    state: pruned
    older_than: 7d
    drop_named: true
"""

RETURN = r"""
kept:
  description:
    - Every kept copy, newest first, with C(name), C(kept_at), C(age_days), C(size_bytes), C(sessions),
      C(named_by_a_rollback), and from its comment C(release), C(backup_id), C(writes_since_backup); with
      V(pruned), the C(action) taken (V(keep), V(drop), V(refused)) and C(why).
  returned: always
  type: list
  elements: dict
  sample: [{name: shop_before_20261205101500, kept_at: "2026-12-05T10:15:00Z", age_days: 3.2, size_bytes: 9123456,
            sessions: 0, named_by_a_rollback: true, release: 2026.11.3, writes_since_backup: {inserted: 12,
            updated: 3, deleted: 0}, action: refused}]
dropped:
  description: The copies dropped.
  returned: always
  type: list
  elements: str
refused:
  description: Copies beyond the retention kept because a rollback keeps post-go-live writes there.
  returned: always
  type: list
  elements: dict
ledger:
  description: The ledger step this task recorded.
  returned: when O(ledger) is set and something was dropped
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
from ansible_collections.golive.core.plugins.module_utils.postgres import connection as pg
from ansible_collections.golive.core.plugins.module_utils.postgres import kept


def main():
    spec = dict(
        database=dict(type="str", required=True),
        state=dict(type="str", default="listed", choices=["listed", "pruned"]),
        keep=dict(type="int"),
        older_than=dict(type="str"),
        drop_named=dict(type="bool", default=False),
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
        server = pg.PgServer.from_params(p)
        admin_server = server if server.dbname != p["database"] else server.on("postgres")
        admin = pg.connect(admin_server, application_name="golive.core/pg_kept")
        kube = k8s.Kube(k8s.KubeSettings.from_params(p), deadline=60) if p["ledger"] else None
        try:
            return with_recorder(p["ledger"], "housekeeping", "prune-kept-databases", lambda journal: kept.run(
                admin, p["database"], p["state"], p["keep"], p["older_than"], p["drop_named"],
                check_mode=module.check_mode, recorder=journal, server=admin_server), kube, **base.modes(module))
        finally:
            admin.close()

    base.run(module, service)


if __name__ == "__main__":
    main()

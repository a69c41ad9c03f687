#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: pg_seed
short_description: Upsert seed data into PostgreSQL tables, keyed by a natural key
version_added: 1.0.0
description:
  - Inserts each row that is missing and updates each row whose values differ, finding rows
    by their natural key (C(INSERT ... ON CONFLICT ... DO UPDATE ... WHERE ... IS DISTINCT FROM)).
    Rows already as given are left alone, so a second run reports no change.
  - Every table's key columns need a unique constraint or index.
  - All tables are seeded in one transaction.
author:
  - golive.core maintainers (@golive)
extends_documentation_fragment:
  - golive.core.attributes
  - golive.core.postgres
options:
  tables:
    description:
      - The seed data, one entry per table.
    type: list
    elements: dict
    required: true
    suboptions:
      table:
        description: The table, optionally schema-qualified.
        type: str
        required: true
      key:
        description: The columns of the natural key.
        type: list
        elements: str
        required: true
      rows:
        description: The rows, as mappings of column to value. Mappings and lists are sent as JSON.
        type: list
        elements: dict
        required: true
attributes:
  check_mode:
    support: full
    details: The same statements run in a transaction that is rolled back, so the reported changes are exact.
  diff_mode:
    support: full
    details: Each changed row before and after.
seealso:
  - module: golive.core.pg_migrate
    description: The migrations that come first.
"""

EXAMPLES = r"""
- name: Seed the plans
  golive.core.pg_seed:
    tables:
      - table: public.plans
        key: [code]
        rows:
          - {code: free, name: Free, monthly_cents: 0}
          - {code: pro, name: Pro, monthly_cents: 2900}
"""

RETURN = r"""
changes:
  description: The rows inserted or updated, with their values before and after.
  returned: always
  type: list
  elements: dict
  sample: [{table: public.plans, key: {code: pro}, action: updated, before: {code: pro, monthly_cents: 2500},
            after: {code: pro, monthly_cents: 2900}}]
counts:
  description: Rows inserted, updated and unchanged.
  returned: success
  type: dict
  sample: {inserted: 1, updated: 0, unchanged: 1}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.golive.core.plugins.module_utils.common import module as base
from ansible_collections.golive.core.plugins.module_utils.postgres import connection as pg
from ansible_collections.golive.core.plugins.module_utils.postgres import seed


def main():
    spec = dict(
        tables=dict(type="list", elements="dict", required=True, options=dict(
            table=dict(type="str", required=True),
            key=dict(type="list", elements="str", required=True, no_log=False),
            rows=dict(type="list", elements="dict", required=True),
        )),
    )
    spec.update(pg.argument_spec())
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    base.require_libs(module, [("psycopg2", pg.PSYCOPG2_IMPORT_ERROR)])
    base.run(module, seed.seed, pg.PgServer.from_params(module.params), module.params["tables"], check_mode=module.check_mode)


if __name__ == "__main__":
    main()

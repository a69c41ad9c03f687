#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: redis_persistence
short_description: Ensure Redis persistence settings (AOF, fsync policy, RDB save points)
version_added: 1.0.0
description:
  - Reads C(appendonly), C(appendfsync) and C(save) on the master (directly or found through
    Sentinel) and, with O(include_replicas=true), on every replica it lists, and changes
    those that differ with C(CONFIG SET).
  - With O(persist_config=true) each changed server also runs C(CONFIG REWRITE), so the
    settings survive a restart.
  - Returns the steps, a diff per node and, in RV(undo), the previous values.
author:
  - golive.core maintainers (@golive)
extends_documentation_fragment:
  - golive.core.attributes
  - golive.core.redis
options:
  appendonly:
    description:
      - Whether the append-only file is on. Unset leaves it as it is.
    type: bool
  appendfsync:
    description:
      - The AOF fsync policy. Unset leaves it as it is.
    type: str
    choices: [always, everysec, 'no']
  save:
    description:
      - RDB save points, as C(CONFIG SET save) takes them (for example V(3600 1 300 100)).
        An empty string turns RDB snapshots off. Unset leaves them as they are.
    type: str
  include_replicas:
    description:
      - Also change the replicas the master lists, so a promoted replica persists too.
    type: bool
    default: true
  persist_config:
    description:
      - Run C(CONFIG REWRITE) on every server whose settings changed.
    type: bool
    default: false
  on_config_unavailable:
    description:
      - What to do when C(CONFIG) is disabled or not permitted, as on many managed services.
        V(fail) fails with a clear message; V(skip) returns a skipped check with the
        server's answer as evidence.
    type: str
    choices: [fail, skip]
    default: fail
  timeout:
    description:
      - Time budget in seconds, including the AOF rewrite that turning C(appendonly) on starts.
    type: float
    default: 300.0
attributes:
  check_mode:
    support: full
    details: Check mode reads the settings and returns the steps and the diff; nothing is changed.
  diff_mode:
    support: full
notes:
  - A second run with the same options reports no change. When the live settings already
    match, C(CONFIG REWRITE) is not run.
seealso:
  - module: golive.core.redis_health
    description: Health and replication.
  - module: golive.core.redis_backup
    description: A verified backup.
"""

EXAMPLES = r"""
- name: Turn the append-only file on everywhere and keep it across restarts
  golive.core.redis_persistence:
    appendonly: true
    appendfsync: everysec
    persist_config: true
"""

RETURN = r"""
steps:
  description: The settings changed (or, in check mode, to change), one per node and parameter.
  returned: always
  type: list
  elements: dict
  sample: [{node: 10.0.0.5:6379, parameter: appendonly, before: "no", after: "yes"}]
nodes:
  description: The servers inspected.
  returned: always
  type: list
  elements: str
checks:
  description: One check, in the collection's check model.
  returned: always
  type: list
  elements: dict
  sample:
    - id: redis.persistence
      title: Persistence is as declared on every node
      status: pass
      evidence:
        appendonly: 'yes'
      checklist: null
persisted:
  description: Whether C(CONFIG REWRITE) ran on the changed servers.
  returned: changed and not check mode
  type: bool
undo:
  description: The previous values per node, to restore them.
  returned: success
  type: dict
  sample: {action: config_set, nodes: {"10.0.0.5:6379": {appendonly: "no"}}}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.golive.core.plugins.module_utils.common import module as base
from ansible_collections.golive.core.plugins.module_utils.redis import connection as rds
from ansible_collections.golive.core.plugins.module_utils.redis import persistence


def main():
    spec = rds.argument_spec()
    spec.update(
        appendonly=dict(type="bool"),
        appendfsync=dict(type="str", choices=["always", "everysec", "no"]),
        save=dict(type="str"),
        include_replicas=dict(type="bool", default=True),
        persist_config=dict(type="bool", default=False),
        on_config_unavailable=dict(type="str", default="fail", choices=["fail", "skip"]),
        timeout=dict(type="float", default=300.0),
    )
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    base.require_libs(module, [("redis", rds.REDIS_IMPORT_ERROR)])
    p = module.params

    def service():
        desired = persistence.desired_settings(p["appendonly"], p["appendfsync"], p["save"])
        return persistence.run(rds.RedisServer.from_params(p), desired, p["include_replicas"], p["persist_config"],
                               p["on_config_unavailable"], p["timeout"], module.check_mode)

    base.run(module, service)


if __name__ == "__main__":
    main()

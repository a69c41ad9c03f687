#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: k8s_workloads
short_description: Scale many Deployments and StatefulSets at once, and bring them back to their saved counts
version_added: 1.0.0
description:
  - Scales every selected workload, named in O(workloads) or matched by O(label_selector) across
    O(namespaces), to O(replicas) (default 0) in parallel, with one merge patch per workload that
    sets the count and saves the previous one in the annotation C(golive.io/saved-replicas)
    together, guarded by the resourceVersion just read. The first scale-down saves the counts;
    a later one keeps them, so a re-run after an interruption never saves a zero.
  - O(state=restored) brings each workload back to its saved count (from the annotation, else
    from O(undo) or the release ledger), or to O(percent) of it (rounded up) for a gradual
    restore that a role validates between steps; at 100 % the annotation is removed.
  - Waits for all of them under one deadline (O(timeout)); on timeout it names, per workload,
    what is missing and why (its Pods and Warning Events).
  - A partial failure reports each workload's error and leaves the saved counts intact, so a
    re-run finishes the job. Idempotent.
author:
  - golive.core maintainers (@golive)
extends_documentation_fragment:
  - golive.core.attributes
  - golive.core.k8s
  - golive.core.k8s_selection
  - golive.core.ledger
attributes:
  check_mode:
    support: full
    details: Lists each workload with its current and target count; nothing is changed.
  diff_mode:
    support: full
    details: Each workload's count and saved count before and after.
options:
  state:
    description:
      - V(scaled) sets O(replicas); V(restored) brings back the saved counts.
    type: str
    default: scaled
    choices: [scaled, restored]
  replicas:
    description:
      - The count of O(state=scaled).
    type: int
    default: 0
  percent:
    description:
      - With O(state=restored), the share of each saved count to restore (rounded up).
    type: int
    default: 100
  undo:
    description:
      - With O(state=restored), the RV(undo) a scale-down returned, for workloads whose annotation is gone.
        Without it, the undo recorded in the ledger of O(ledger.release) is used.
    type: dict
  wait:
    description:
      - Wait until every workload has its count ready (or, at zero, no Pod left, Terminating ones included, since their
        processes run until their grace period ends).
    type: bool
    default: true
  timeout:
    description:
      - One deadline, in seconds, for all the requests and the wait.
    type: float
    default: 300
seealso:
  - module: golive.core.k8s_maintenance
    description: The maintenance page shown while scaled down.
  - module: kubernetes.core.k8s_scale
    description: Scales one object at a time.
"""

EXAMPLES = r"""
- name: Scale the shop to zero (the counts are saved on each workload and in the ledger)
  golive.core.k8s_workloads:
    label_selector: app.kubernetes.io/part-of=shop
    namespaces: [shop]
    replicas: 0
  register: down

- name: Bring back half of each saved count
  golive.core.k8s_workloads:
    label_selector: app.kubernetes.io/part-of=shop
    namespaces: [shop]
    state: restored
    percent: 50
"""

RETURN = r"""
workloads:
  description: Each workload with its current count, target count, saved count and whether it changed.
  returned: always
  type: list
  elements: dict
undo:
  description: The saved counts, what O(state=restored) needs when the annotations are gone.
  returned: always
  type: dict
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
from ansible_collections.golive.core.plugins.module_utils.k8s import select, workloads
from ansible_collections.golive.core.plugins.module_utils.ledger.run import context_spec, with_recorder


def main():
    spec = dict(
        state=dict(type="str", default="scaled", choices=["scaled", "restored"]),
        replicas=dict(type="int", default=0),
        percent=dict(type="int", default=100),
        undo=dict(type="dict"),
        wait=dict(type="bool", default=True),
        timeout=dict(type="float", default=300.0),
        ledger=dict(type="dict", options=context_spec()),
    )
    spec.update(k8s.argument_spec())
    spec.update(select.selection_spec())
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True,
                           required_one_of=[("workloads", "label_selector")])
    base.require_libs(module, [("kubernetes", k8s.KUBERNETES_IMPORT_ERROR)])
    p = module.params

    def service():
        kube = k8s.Kube(k8s.KubeSettings.from_params(p), deadline=p["timeout"])
        return with_recorder(p["ledger"], "rollback", "scale-down" if p["state"] == "scaled" else "scale-up",
                             lambda journal: workloads.scale(
                                 kube, p["workloads"], p["label_selector"], p["namespaces"], p["kinds"], p["state"],
                                 p["replicas"], p["percent"], p["undo"], p["wait"], module.check_mode, journal), kube, **base.modes(module))

    base.run(module, service)


if __name__ == "__main__":
    main()

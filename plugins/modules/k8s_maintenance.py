#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: k8s_maintenance
short_description: Point Ingresses at a maintenance page, and put them back exactly
version_added: 1.0.0
description:
  - O(state=enabled) replaces every backend of every rule (and the default backend) of the selected
    Ingresses, named in O(ingresses) or matched by O(label_selector) in O(namespaces), with the
    maintenance Service O(service) in the Ingress's namespace. Hosts, paths and TLS stay, so the same
    names and certificates answer with the maintenance page.
  - Each Ingress's spec is saved first, in the annotation C(golive.io/saved-spec) and in RV(undo)
    (with O(ledger), in the release ledger before anything changes). Turning it on again keeps the
    first saved spec.
  - O(state=disabled) puts the saved spec back exactly (from the annotation, else from O(undo) or the
    ledger) and removes the annotation. Idempotent both ways; each change is guarded by the
    resourceVersion just read.
author:
  - golive.core maintainers (@golive)
extends_documentation_fragment:
  - golive.core.attributes
  - golive.core.k8s
  - golive.core.ledger
attributes:
  check_mode:
    support: full
    details: Plans; nothing is changed.
  diff_mode:
    support: full
    details: Each changed Ingress's spec before and after.
options:
  ingresses:
    description:
      - Ingresses by name, each a dict with C(namespace) and C(name).
    type: list
    elements: dict
    suboptions:
      namespace:
        description: Namespace of the Ingress.
        type: str
        required: true
      name:
        description: Name of the Ingress.
        type: str
        required: true
  label_selector:
    description:
      - Select Ingresses by label (for example all Ingresses of an app), in O(namespaces).
    type: str
  namespaces:
    description:
      - Namespaces to apply O(label_selector) in; empty means every namespace.
    type: list
    elements: str
    default: []
  state:
    description:
      - V(enabled) points the Ingresses at the maintenance Service; V(disabled) restores them.
    type: str
    default: enabled
    choices: [enabled, disabled]
  service:
    description:
      - The maintenance Service, in each Ingress's namespace.
    type: str
    default: maintenance
  port:
    description:
      - Its port, by name or number.
    type: str
    default: http
  undo:
    description:
      - With O(state=disabled), the RV(undo) that turning it on returned, for Ingresses whose annotation is
        gone. Without it, the undo recorded in the ledger of O(ledger.release) is used.
    type: dict
  timeout:
    description:
      - One deadline, in seconds, for all the requests.
    type: float
    default: 60
seealso:
  - module: golive.core.k8s_workloads
    description: Scales the application to zero behind the maintenance page.
  - module: golive.core.k8s_rollout
    description: Rolls the application back.
"""

EXAMPLES = r"""
- name: Maintenance page on for every Ingress of the shop
  golive.core.k8s_maintenance:
    label_selector: app.kubernetes.io/part-of=shop
    namespaces: [shop]

- name: And off again, exactly as they were
  golive.core.k8s_maintenance:
    label_selector: app.kubernetes.io/part-of=shop
    namespaces: [shop]
    state: disabled
"""

RETURN = r"""
ingresses:
  description: Each Ingress, whether it changed and whether it is in maintenance.
  returned: always
  type: list
  elements: dict
undo:
  description: Each Ingress's saved spec, what O(state=disabled) needs when the annotations are gone.
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
from ansible_collections.golive.core.plugins.module_utils.k8s import maintenance
from ansible_collections.golive.core.plugins.module_utils.ledger.run import context_spec, with_recorder


def main():
    spec = dict(
        ingresses=dict(type="list", elements="dict", options=dict(
            namespace=dict(type="str", required=True), name=dict(type="str", required=True))),
        label_selector=dict(type="str"),
        namespaces=dict(type="list", elements="str", default=[]),
        state=dict(type="str", default="enabled", choices=["enabled", "disabled"]),
        service=dict(type="str", default="maintenance"),
        port=dict(type="str", default="http"),
        undo=dict(type="dict"),
        timeout=dict(type="float", default=60.0),
        ledger=dict(type="dict", options=context_spec()),
    )
    spec.update(k8s.argument_spec())
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True,
                           required_one_of=[("ingresses", "label_selector")])
    base.require_libs(module, [("kubernetes", k8s.KUBERNETES_IMPORT_ERROR)])
    p = module.params

    def service():
        kube = k8s.Kube(k8s.KubeSettings.from_params(p), deadline=p["timeout"])
        return with_recorder(p["ledger"], "rollback", "maintenance-on" if p["state"] == "enabled" else "maintenance-off",
                             lambda journal: maintenance.switch(
                                 kube, p["ingresses"], p["label_selector"], p["namespaces"], p["state"], p["service"],
                                 p["port"], p["undo"], module.check_mode, journal), kube, **base.modes(module))

    base.run(module, service)


if __name__ == "__main__":
    main()

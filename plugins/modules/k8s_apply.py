#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: k8s_apply
short_description: Apply Kubernetes manifests with server-side apply, a dry run first, and undo data
version_added: 1.0.0
description:
  - Applies (or deletes) a list of manifests with server-side apply as field manager
    O(field_manager).
  - Every object is first applied with C(dryRun=All); the server's answer is compared with
    the live object (server-managed fields stripped), so an object that would not change is
    not sent again and a second run reports no change.
  - Returns, per object, what was done, a diff, and in RV(undo) how to reverse it (delete
    what was created, re-apply the previous state of what was updated or deleted), which the
    release ledger records. Secret values are masked in diffs and undo data.
  - With O(ledger), the apply is a ledger step (default C(phase1/day7-manifests)). Every manifest is
    validated before anything changes; the step's intent names every object before the first change,
    and its outcome holds the exact undo of what changed, also when the apply failed part way.
author:
  - golive.core maintainers (@golive)
extends_documentation_fragment:
  - golive.core.attributes
  - golive.core.k8s
  - golive.core.ledger
options:
  definitions:
    description:
      - The manifests, as a list of objects. Mutually exclusive with O(src).
    type: list
    elements: raw
  src:
    description:
      - Paths of YAML files with one or more manifests each (several documents, or one document of kind V(List)),
        applied in order in one call.
    type: list
    elements: path
  namespace:
    description:
      - Namespace for namespaced objects whose manifest does not name one.
    type: str
  state:
    description:
      - V(present) applies the manifests, V(absent) deletes the objects they name.
    type: str
    default: present
    choices: [present, absent]
  field_manager:
    description:
      - Field manager name for server-side apply.
    type: str
    default: golive.core
  force_conflicts:
    description:
      - Take ownership of fields another manager owns (server-side apply C(force)).
    type: bool
    default: true
  timeout:
    description:
      - Time budget of the whole call, retries included, in seconds.
    type: float
    default: 120.0
attributes:
  check_mode:
    support: full
    details: The server validates and computes every change with C(dryRun=All); nothing is persisted.
  diff_mode:
    support: full
seealso:
  - module: golive.core.k8s_preflight
    description: Checks the cluster before and after applying.
  - module: kubernetes.core.k8s
    description: The general-purpose Kubernetes module.
"""

EXAMPLES = r"""
- name: Apply the Day -7 monitoring manifests
  golive.core.k8s_apply:
    src: [files/monitoring.yaml, files/alert-rules.yaml]

- name: Remove what a manifest created (its objects are deleted; the undo keeps them)
  golive.core.k8s_apply:
    src: files/canary-ingress.yaml
    state: absent

- name: Apply an inline ConfigMap
  golive.core.k8s_apply:
    namespace: shop
    definitions:
      - apiVersion: v1
        kind: ConfigMap
        metadata: {name: web-config}
        data: {MAINTENANCE_MODE: "false"}
"""

RETURN = r"""
results:
  description: One entry per object with its kind, namespace, name and action (created, updated, unchanged, deleted, absent).
  returned: always
  type: list
  elements: dict
  sample: [{kind: ConfigMap, namespace: shop, name: web-config, action: updated}]
undo:
  description: How to reverse each change, in order; C(delete) a created object or C(apply) the previous manifest.
  returned: always
  type: list
  elements: dict
diff:
  description: Before and after of every changed object (Secret values masked).
  returned: when changed
  type: list
  elements: dict
ledger:
  description: The ledger step this task recorded.
  returned: when O(ledger) is set
  type: dict
  sample:
    release: 2026.11.3
    environment: production
    run_id: 20261205T091200-1a2b3c4d
    step: phase1/day7-manifests
    decision: run
    copy: null
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.golive.core.plugins.module_utils.common import module as base
from ansible_collections.golive.core.plugins.module_utils.common.errors import InvalidInput, describe_exception
from ansible_collections.golive.core.plugins.module_utils.k8s import client as k8s
from ansible_collections.golive.core.plugins.module_utils.k8s.apply import apply_manifests, secret_values
from ansible_collections.golive.core.plugins.module_utils.ledger.run import context_spec, with_recorder

try:
    import yaml
    YAML_IMPORT_ERROR = None
except ImportError:  # pragma: no cover
    import traceback
    YAML_IMPORT_ERROR = traceback.format_exc()


def load_manifests(params):
    if params["src"] is None:
        return params["definitions"] or []
    manifests = []
    for path in params["src"]:
        try:
            with open(path) as handle:
                manifests.extend(doc for doc in yaml.safe_load_all(handle) if doc)
        except (OSError, yaml.YAMLError) as exc:
            raise InvalidInput("read", "manifests from %s" % path, describe_exception(exc))
    return manifests


def main():
    spec = dict(
        definitions=dict(type="list", elements="raw"),
        src=dict(type="list", elements="path"),
        namespace=dict(type="str"),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        field_manager=dict(type="str", default="golive.core"),
        force_conflicts=dict(type="bool", default=True),
        timeout=dict(type="float", default=120.0),
        ledger=dict(type="dict", options=context_spec()),
    )
    spec.update(k8s.argument_spec())
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True,
                           mutually_exclusive=[("definitions", "src")], required_one_of=[("definitions", "src")])
    base.require_libs(module, [("kubernetes", k8s.KUBERNETES_IMPORT_ERROR), ("PyYAML", YAML_IMPORT_ERROR)])

    def service():
        p = module.params
        manifests = load_manifests(p)
        module.no_log_values.update(secret_values(manifests))
        kube = k8s.Kube(k8s.KubeSettings.from_params(p), deadline=p["timeout"])
        return with_recorder(p["ledger"], "phase1", "day7-manifests", lambda journal: apply_manifests(
            kube, manifests, p["namespace"], p["state"], p["field_manager"], p["force_conflicts"], module.check_mode,
            journal), kube, **base.modes(module))

    base.run(module, service)


if __name__ == "__main__":
    main()

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: service_discovery
short_description: Check that Services discover ready Pods and that every endpoint answers
version_added: 1.0.0
description:
  - For each Service of O(services), checks that it has a selector, that at least
    O(services[].min_ready) Pods it selects are ready, that its Endpoints list exactly the
    ready Pods (no stale address, none missing), and, with O(services[].probe=direct), that
    every endpoint answers on the Service's port (TCP, or HTTP below 500 on O(services[].path)).
  - Direct probes need Pod addresses to be reachable from where the task runs (inside the
    cluster network, or the lab). Elsewhere set O(services[].probe=none) and check the
    public path with M(golive.core.http_check).
  - One check per Service in the shared check model.
author:
  - golive.core maintainers (@golive)
extends_documentation_fragment:
  - golive.core.attributes
  - golive.core.checks
  - golive.core.k8s
attributes:
  check_mode:
    support: full
    details: Only reads.
  diff_mode:
    support: none
options:
  services:
    description:
      - The Services to check.
    type: list
    elements: dict
    required: true
    suboptions:
      namespace:
        description: Namespace of the Service.
        type: str
        required: true
      name:
        description: Name of the Service.
        type: str
        required: true
      port:
        description: The Service port (name or number) to probe; default its first.
        type: str
      path:
        description: HTTP path to request on each endpoint; without it a TCP connection is enough.
        type: str
      min_ready:
        description: Fewest ready Pods.
        type: int
        default: 1
      probe:
        description: V(direct) probes each endpoint address; V(none) checks the objects only.
        type: str
        default: direct
        choices: [direct, none]
  timeout:
    description:
      - Timeout of one probe, in seconds.
    type: float
    default: 3
  checklist:
    description:
      - The checklist item the checks give evidence for.
    type: str
    default: Validate service discovery
seealso:
  - module: golive.core.http_check
    description: Requests through the public names.
  - module: golive.core.k8s_rollout
    description: The rollout whose Pods it checks.
"""

EXAMPLES = r"""
- name: The pager's Services
  golive.core.service_discovery:
    services:
      - {namespace: pager, name: pager, path: /healthz, min_ready: 2}
      - {namespace: pager, name: maintenance}
"""

RETURN = r"""
checks:
  description: One check per Service (shared check model).
  returned: always
  type: list
  elements: dict
  sample:
    - id: k8s.service.shop.web
      title: Service shop/web has ready endpoints that answer
      status: pass
      evidence:
        ready: 3
      checklist: null
summary:
  description: Number of checks per status.
  returned: always
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
from ansible_collections.golive.core.plugins.module_utils.k8s import client as k8s
from ansible_collections.golive.core.plugins.module_utils.k8s import services


def main():
    spec = dict(
        services=dict(type="list", elements="dict", required=True, options=dict(
            namespace=dict(type="str", required=True), name=dict(type="str", required=True),
            port=dict(type="str"), path=dict(type="str"), min_ready=dict(type="int", default=1),
            probe=dict(type="str", default="direct", choices=["direct", "none"]))),
        timeout=dict(type="float", default=3.0),
        checklist=dict(type="str", default=services.CHECKLIST),
    )
    spec.update(base.CHECKS_ARGUMENT_SPEC)
    spec.update(k8s.argument_spec())
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    base.require_libs(module, [("kubernetes", k8s.KUBERNETES_IMPORT_ERROR)])
    p = module.params

    def service():
        kube = k8s.Kube(k8s.KubeSettings.from_params(p), deadline=60)
        try:
            result = services.run(kube, p["services"], p["timeout"], p["checklist"])
        finally:
            kube.close()
        return base.finish_checks(result, p["fail_on_failed_checks"], "Service checks")

    base.run(module, service)


if __name__ == "__main__":
    main()

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: awx_approval
short_description: Who approved an AWX / Automation Controller workflow's approval node
version_added: 1.0.0
description:
  - Reads from the controller's API the approval node of a running workflow job (by its identifier,
    or the approval's name) and the controller user who approved it
    (C(summary_fields.approved_or_denied_by) of C(/api/v2/workflow_approvals/<id>/)).
  - "Check: C(awx.approval) passes only when the node was approved (not denied, not timed out, not
    pending) by a known user; its evidence names the user, the node, the approval's id and when it
    finished."
  - Phase 5 uses it when run by a workflow (C(awx_workflow_job_id) is set) with a controller
    credential, so the approver recorded in the ledger is who approved, not a name typed at launch.
  - Reads only; a wrong token, an unknown workflow job or node fail with a clear message.
author:
  - golive.core maintainers (@golive)
extends_documentation_fragment:
  - golive.core.attributes
  - golive.core.checks
attributes:
  check_mode:
    support: full
    details: Reads only.
  diff_mode:
    support: none
options:
  controller_host:
    description:
      - The controller's URL, for example V(https://awx.example.com).
      - Falls back to E(CONTROLLER_HOST) (or E(TOWER_HOST)), which AWX's controller credential injects.
    type: str
    aliases: [tower_host]
  controller_oauthtoken:
    description: An OAuth2 token. Falls back to E(CONTROLLER_OAUTH_TOKEN).
    type: str
    aliases: [tower_oauthtoken]
  controller_username:
    description: A user, with O(controller_password), when no token is set. Falls back to E(CONTROLLER_USERNAME).
    type: str
    aliases: [tower_username]
  controller_password:
    description: Its password. Falls back to E(CONTROLLER_PASSWORD).
    type: str
    aliases: [tower_password]
  validate_certs:
    description: Verify the controller's certificate. Falls back to E(CONTROLLER_VERIFY_SSL).
    type: bool
    default: true
    aliases: [verify_ssl]
  ca_cert:
    description: CA bundle to verify the controller's certificate.
    type: path
    aliases: [ca_file]
  workflow_job_id:
    description: The workflow job (AWX sets C(awx_workflow_job_id) in the jobs a workflow launches).
    type: int
    required: true
  node:
    description: The approval node's identifier in the workflow, or its approval's name.
    type: str
    default: approve-phase5
  request_timeout:
    description: Deadline, in seconds, of all the requests.
    type: float
    default: 10
  checklist:
    description: The checklist item the check gives evidence for.
    type: str
seealso:
  - module: golive.core.ledger
    description: Phase 5 records the approver this module reads as the ledger's C(approval) event.
  - module: awx.awx.workflow_approval
    description: Approves or denies an approval node (this module only reads who did).
"""

EXAMPLES = r"""
- name: Who approved the Day 0 cutover (in a job launched by the workflow)
  golive.core.awx_approval:
    workflow_job_id: "{{ awx_workflow_job_id }}"
    node: approve-phase5
  register: approval

- name: With the controller named explicitly and a user instead of a token
  golive.core.awx_approval:
    controller_host: https://awx.example.com
    controller_username: golive-reader
    controller_password: "{{ vault_awx_reader_password }}"
    workflow_job_id: 4821
    node: approve-phase5
    fail_on_failed_checks: false
"""

RETURN = r"""
approved_by:
  description: The controller user who approved the node; null when it is not approved.
  returned: always
  type: str
  sample: dana
approval:
  description: What the controller says of the node.
  returned: always
  type: dict
  sample:
    workflow_job_id: 4821
    node: approve-phase5
    approval_id: 4830
    name: Approve Day 0 - DNS cutover
    status: successful
    approved: true
    approved_by: {username: dana, first_name: Dana, last_name: Reyes}
    finished: "2026-12-05T09:12:44.101Z"
    timed_out: false
    controller: https://awx.example.com
checks:
  description: The check records (shared check model).
  returned: always
  type: list
  elements: dict
  sample:
    - id: awx.approval
      title: Approval node approve-phase5 of AWX workflow job 4821 is approved
      status: pass
      evidence:
        approved_by:
          username: dana
      checklist: null
summary:
  description: Counts of the checks by status.
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

from ansible_collections.golive.core.plugins.module_utils.awx import approval
from ansible_collections.golive.core.plugins.module_utils.common import module as base
from ansible_collections.golive.core.plugins.module_utils.common.options import env_fallback


def main():
    spec = dict(
        controller_host=dict(type="str", aliases=["tower_host"],
                             fallback=(env_fallback, ["CONTROLLER_HOST", "TOWER_HOST"])),
        controller_oauthtoken=dict(type="str", no_log=True, aliases=["tower_oauthtoken"],
                                   fallback=(env_fallback, ["CONTROLLER_OAUTH_TOKEN", "TOWER_OAUTH_TOKEN"])),
        controller_username=dict(type="str", aliases=["tower_username"],
                                 fallback=(env_fallback, ["CONTROLLER_USERNAME", "TOWER_USERNAME"])),
        controller_password=dict(type="str", no_log=True, aliases=["tower_password"],
                                 fallback=(env_fallback, ["CONTROLLER_PASSWORD", "TOWER_PASSWORD"])),
        validate_certs=dict(type="bool", default=True, aliases=["verify_ssl"],
                            fallback=(env_fallback, ["CONTROLLER_VERIFY_SSL", "TOWER_VERIFY_SSL"])),
        ca_cert=dict(type="path", aliases=["ca_file"]),
        workflow_job_id=dict(type="int", required=True),
        node=dict(type="str", default="approve-phase5"),
        request_timeout=dict(type="float", default=10.0),
        checklist=dict(type="str"),
    )
    spec.update(base.CHECKS_ARGUMENT_SPEC)
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    p = module.params

    def service():
        result = approval.approval(approval.ControllerSettings.from_params(p), p["workflow_job_id"], p["node"],
                                   p["checklist"])
        return base.finish_checks(result, p["fail_on_failed_checks"], "approval checks")

    base.run(module, service)


if __name__ == "__main__":
    main()

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: k8s_rollout
short_description: Roll many Deployments and StatefulSets at once, under one deadline, and undo it
version_added: 1.0.0
description:
  - Sets new images (O(images)) or merges a pod template change (O(template)) into every selected
    workload, named in O(workloads) or matched by O(label_selector) across O(namespaces), in
    parallel; then waits for all of them under one deadline (O(timeout)) until each has rolled
    out the way C(kubectl rollout status) means it (newest generation observed, every replica
    updated and available, no old replica left).
  - On timeout it fails naming, per workload, what is missing and why, from its Pods (waiting
    reasons such as C(ImagePullBackOff)) and Warning Events (readiness probe failures). The
    previous version keeps serving, because a rolling update never removes the old Pods first.
  - Returns in RV(undo) each workload's previous template, revision, images and replicas;
    with O(ledger) these are written to the release ledger before anything changes.
    O(state=undone) returns each workload to the template in O(undo) (what the ledger
    recorded) or, for Deployments, to O(revision) (default the revision before the current).
  - Every image reference (in O(images) or O(template)) is checked before anything is read or
    patched; an empty one, one with whitespace or one that is not
    C([registry[:port]/]repository[:tag][@digest]) is refused, and so is one that breaks
    O(image_policy) (the inventory's rule that images are pinned by digest, from allowed
    registries). One without a tag or a digest is rolled out with a warning.
  - Idempotent; a workload already at its desired template is not updated.
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
    details: Every update is sent with C(dryRun=All), so the API server validates it; nothing is waited for.
  diff_mode:
    support: full
    details: Shows each changed workload's pod template before and after.
options:
  images:
    description:
      - New image per container name; applies to every selected workload with a container of that name.
        A name no selected workload has is an error.
    type: dict
  image_policy:
    description:
      - The rules every new image must follow, as the preflight's C(k8s.images) check judges running
        workloads.
    type: dict
    suboptions:
      require_digest:
        description: Every image pinned by digest (C(@sha256:...)).
        type: bool
        default: false
      allowed_registries:
        description: The registries images may come from (C(docker.io) for names without one); empty for any.
        type: list
        elements: str
        default: []
  template:
    description:
      - A change to merge into each workload's pod template (dicts merge, lists of named items merge by
        name, V(null) removes a key).
    type: dict
  state:
    description:
      - V(present) rolls out the change; V(undone) returns to O(undo) or O(revision).
    type: str
    default: present
    choices: [present, undone]
  undo:
    description:
      - With O(state=undone), the undo data a rollout returned (or the ledger recorded), the
        templates to return to. It names its workloads, so O(workloads) and O(label_selector)
        may be left out.
    type: dict
  revision:
    description:
      - With O(state=undone) and no O(undo), the Deployment revision to return to (default the one
        before the current).
    type: int
  change_cause:
    description:
      - Written to the C(kubernetes.io/change-cause) annotation of each updated workload, which
        C(kubectl rollout history) shows.
    type: str
  wait:
    description:
      - Wait until every workload has rolled out.
    type: bool
    default: true
  timeout:
    description:
      - One deadline, in seconds, for the whole task (updates and the wait).
    type: float
    default: 300
seealso:
  - module: golive.core.k8s_workloads
    description: Scale to zero and back.
  - module: golive.core.http_check
    description: Health of the rolled-out release.
  - module: kubernetes.core.k8s
    description: Applies manifests without a rollout deadline or undo.
"""

EXAMPLES = r"""
- name: Deploy release 2026.11.3 of the pager
  golive.core.k8s_rollout:
    label_selector: app.kubernetes.io/part-of=pager
    namespaces: [pager]
    images:
      pager: registry.example.com/pager:2026.11.3
    change_cause: release 2026.11.3
    timeout: 120

- name: Back to what the release replaced
  golive.core.k8s_rollout:
    label_selector: app.kubernetes.io/part-of=pager
    namespaces: [pager]
    state: undone
    undo: "{{ recorded_undo }}"
"""

RETURN = r"""
workloads:
  description: Per workload, whether it changed, its images, revision and replicas, whether it rolled out,
    and when it did not, a diagnosis (Pods, waiting reasons, Warning Events).
  returned: always
  type: list
  elements: dict
undo:
  description: What O(state=undone) needs to return every changed workload to its previous template.
  returned: always
  type: dict
duration:
  description: Seconds the task took.
  returned: always
  type: float
requests:
  description: Number of API requests made.
  returned: always
  type: int
ledger:
  description: The ledger step this task recorded (run, step, decision, copy path).
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
from ansible_collections.golive.core.plugins.module_utils.k8s import rollout, select
from ansible_collections.golive.core.plugins.module_utils.ledger.run import context_spec, with_recorder


def main():
    spec = dict(
        images=dict(type="dict"),
        image_policy=dict(type="dict", options=dict(require_digest=dict(type="bool", default=False),
                                                    allowed_registries=dict(type="list", elements="str", default=[]))),
        template=dict(type="dict"),
        state=dict(type="str", default="present", choices=["present", "undone"]),
        undo=dict(type="dict"),
        revision=dict(type="int"),
        change_cause=dict(type="str"),
        wait=dict(type="bool", default=True),
        timeout=dict(type="float", default=300.0),
        ledger=dict(type="dict", options=context_spec()),
    )
    spec.update(k8s.argument_spec())
    spec.update(select.selection_spec())
    # workloads or label_selector; with state=undone, the undo may name the workloads instead.
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    base.require_libs(module, [("kubernetes", k8s.KUBERNETES_IMPORT_ERROR)])
    p = module.params

    def service():
        kube = k8s.Kube(k8s.KubeSettings.from_params(p), deadline=p["timeout"])
        return with_recorder(p["ledger"], "rollout", "deploy", lambda journal: rollout.roll(
            kube, p["workloads"], p["label_selector"], p["namespaces"], p["kinds"], p["images"], p["template"],
            p["state"], p["undo"], p["revision"], p["change_cause"], p["wait"], p["timeout"], module.check_mode,
            journal, image_policy=p["image_policy"]), kube, **base.modes(module))

    base.run(module, service)


if __name__ == "__main__":
    main()

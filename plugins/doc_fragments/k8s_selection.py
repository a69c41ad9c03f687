# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    DOCUMENTATION = r"""
options:
  workloads:
    description:
      - Workloads by name.
    type: list
    elements: dict
    suboptions:
      kind:
        description: Kind of the workload.
        type: str
        default: Deployment
        choices: [Deployment, StatefulSet]
      namespace:
        description: Namespace of the workload.
        type: str
        required: true
      name:
        description: Name of the workload.
        type: str
        required: true
  label_selector:
    description:
      - Select workloads by label (for example V(app.kubernetes.io/part-of=shop)), in O(namespaces).
    type: str
  namespaces:
    description:
      - Namespaces to apply O(label_selector) in; empty means every namespace.
    type: list
    elements: str
    default: []
  kinds:
    description:
      - Kinds to apply O(label_selector) to.
    type: list
    elements: str
    default: [Deployment]
    choices: [Deployment, StatefulSet]
"""

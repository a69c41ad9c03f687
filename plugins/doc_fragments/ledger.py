# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    DOCUMENTATION = r"""
options:
  ledger:
    description:
      - The release ledger run to record this step in (see M(golive.core.ledger)). The intent
        and planned undo are written before acting, the outcome after. The run must hold the
        environment's run lock. Without it, nothing is recorded.
    type: dict
    suboptions:
      release:
        description: The release id.
        type: str
        required: true
      environment:
        description: The environment.
        type: str
        required: true
      run_id:
        description: The run id returned by the ledger's V(open) operation.
        type: str
        required: true
      namespace:
        description: Namespace of the ledger.
        type: str
        default: golive-system
      phase:
        description: Phase to record the step under (each module has a default).
        type: str
      step:
        description: Name of the step (each module has a default).
        type: str
      artifact_dir:
        description: Directory to write a copy of the record to.
        type: path
      cluster:
        description:
          - The cluster this step acts on, when the release runs in several (one inventory host per
            cluster). The step is recorded as its own entry, C(phase4/deploy@us-1), and what the step
            reads back from the record (its undo, what an earlier step left) is that cluster's.
          - Leave it unset for a step on a system the clusters share (the database, the cache).
        type: str
      connection:
        description:
          - Where the ledger is kept, when not in the cluster this module acts on. The Kubernetes
            connection options (O(kubeconfig), O(context), O(host), O(api_key), O(ca_cert), ...) of the
            cluster that keeps the release's ledger and run lock (a home cluster); every cluster's steps
            go to one record.
          - Without it, the ledger is in the cluster of the module's own connection options.
        type: dict
"""

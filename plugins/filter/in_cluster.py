# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: in_cluster
short_description: A ledger step's name (or id) in one cluster of a release run in several
version_added: 1.1.0
description:
  - "V(phase4/deploy) in cluster V(us-1) is V(phase4/deploy@us-1): the name the ledger records a cluster's step
    under (the O(golive.core.ledger#module:steps) and the C(ledger.cluster) option of every module that records
    itself). Without a cluster, the name is kept as it is (one cluster, or a shared system)."
options:
  _input:
    description: The step's name or id.
    type: str
    required: true
  cluster:
    description: The cluster; empty for none.
    type: str
"""

EXAMPLES = r"""
- name: Require the cluster's phase 4 deploy to be done
  ansible.builtin.assert:
    that: record.steps | selectattr('id', 'equalto', 'phase4/deploy' | golive.core.in_cluster(golive_cluster | default(''))) | list
"""

RETURN = r"""
_value:
  description: The step's name in the cluster.
  type: str
"""

from ansible_collections.golive.core.plugins.module_utils.ledger.record import in_cluster as step_in_cluster


def in_cluster(name, cluster=None):
    return step_in_cluster(str(name), cluster or None)


class FilterModule(object):
    def filters(self):
        return {"in_cluster": in_cluster}

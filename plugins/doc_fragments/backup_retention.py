# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    DOCUMENTATION = r"""
options:
  retention:
    description:
      - Which complete backups to delete after a successful one. Only backups of the same
        source (and environment) are counted and deleted; another database or master
        sharing the prefix is never touched. The newest backup and the one just taken are
        never deleted; a manifest is deleted before its data, so a half-deleted backup is
        never taken for a complete one.
    type: dict
    suboptions:
      keep_last:
        description: Keep this many newest backups whose label matches O(retention.labels).
        type: int
      max_age_days:
        description: Delete matching backups older than this.
        type: float
      labels:
        description: Glob of the labels retention applies to.
        type: str
        default: '*'
      orphan_grace_seconds:
        description:
          - Also delete this source's backup folders without a manifest (uploads that
            never completed) whose newest object is older than this.
        type: int
"""

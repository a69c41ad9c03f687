# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    DOCUMENTATION = r"""
options:
  bucket:
    description:
      - Bucket of the backups.
    type: str
    required: true
  prefix:
    description:
      - Key prefix of the backups in O(bucket); each backup is a folder under it.
    type: str
    default: postgres
  bindir:
    description:
      - Directory of the PostgreSQL client tools. By default the tools of the server's major
        version in C(/usr/lib/postgresql/<major>/bin), else those in E(PATH).
    type: path
  jobs:
    description:
      - Connections used to compute the per-table figures in parallel.
    type: int
    default: 2
"""

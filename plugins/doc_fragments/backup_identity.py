# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    DOCUMENTATION = r"""
options:
  environment:
    description:
      - The environment the backups belong to (for example C(production)), part of a
        backup's identity with its kind and its source. Backups are stored under
        C(<prefix>/<environment>/<kind>/<source>/) and every lookup, the newest backup,
        reuse, verification, the RPO check, restore and retention, only sees backups of
        the same kind, source and environment.
      - Backups taken before identities existed (at C(<prefix>/<backup id>/)) record no
        environment. They are found when no environment is set, and by their id
        whatever the environment.
      - Defaults to E(GOLIVE_ENVIRONMENT); the roles pass C(golive_environment).
    type: str
notes:
  - Two databases (or Redis masters) may share a bucket and a prefix; their backups never mix.
    A backup named by id that was taken from another source is refused, naming both.
"""

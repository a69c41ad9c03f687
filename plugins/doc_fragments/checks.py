# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # The option of every module that answers in the collection's check model; its argument
    # spec is module_utils.common.module.CHECKS_ARGUMENT_SPEC.
    DOCUMENTATION = r"""
options:
  fail_on_failed_checks:
    description:
      - Fail the task when a check fails. With V(false) the failed checks are only returned.
    type: bool
    default: true
  checklist_also:
    description:
      - Checklist items every check of this task also gives evidence for, besides its own (a re-check after the
        go-live quoting the row of its window, for example V(Database Performance - Database performance stable)).
        Checks of sections the task did not declare are left alone.
    type: list
    elements: str
    default: []
"""

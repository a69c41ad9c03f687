# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: release_id
short_description: Whether a value is a release id the ledger accepts
version_added: 1.1.0
description:
  - True when the value is 1-63 letters, digits, C(.), C(_) or C(-), starting and ending with a
    letter or digit. That is what a Kubernetes label value may be, and the release id names the
    ledger's objects.
  - The same rule the ledger applies; playbooks check it before anything is read or locked.
options:
  _input:
    description: The value to test.
    type: raw
    required: true
"""

EXAMPLES = r"""
- name: Require a release id
  ansible.builtin.assert:
    that: golive_release is golive.core.release_id
"""

RETURN = r"""
_value:
  description: Whether the value is a release id.
  type: bool
"""

from ansible_collections.golive.core.plugins.module_utils.common.release import is_release_id


def release_id(value):
    # A number given as JSON (-e '{"release": 2026}') is the id its text is, as the modules read it.
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    return is_release_id(value)


class TestModule(object):
    def tests(self):
        return {"release_id": release_id}

# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: contact_lines
short_description: The inventory's contacts or escalation matrix as lines of text
version_added: 1.0.0
description:
  - "Turns C(golive_contacts) (items with C(group), C(role), C(name), C(phone), C(email), C(chat)) into lines
    such as V(Technical Team - DevOps Lead: Ann Lee, +1 555 0100, ann@example.com), and C(golive_escalation)
    (items with C(level), C(who), C(within)) into lines such as V(Level 1: On-call engineer (15 minutes)), the
    way the evidence report's header and the rollback notifications show them. Text items are kept as they are."
options:
  _input:
    description: C(golive_contacts) or C(golive_escalation).
    type: list
    elements: raw
    required: true
"""

EXAMPLES = r"""
- name: Tell who to call
  golive.core.notify:
    event: rollback-started
    release: "{{ release }}"
    status: warning
    summary: Rollback started
    details:
      contacts: "{{ golive_contacts | golive.core.contact_lines }}"
      escalation: "{{ golive_escalation | golive.core.contact_lines }}"
"""

RETURN = r"""
_value:
  description: One line per contact or escalation level.
  type: list
  elements: str
"""

from ansible_collections.golive.core.plugins.plugin_utils.report import contact_lines as contacts
from ansible_collections.golive.core.plugins.plugin_utils.report import escalation_lines


def contact_lines(items):
    items = items if isinstance(items, list) else []
    if any(isinstance(item, dict) and "level" in item for item in items):
        return escalation_lines(items)
    return contacts(items)


class FilterModule(object):
    def filters(self):
        return {"contact_lines": contact_lines}

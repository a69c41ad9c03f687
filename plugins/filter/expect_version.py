# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: expect_version
short_description: Make golive.core.http_check requests assert the version that must answer
version_added: 1.0.0
description:
  - Adds to the request named O(name) a JMESPath assertion that O(query) on its JSON answer equals
    O(version), so a validation passes only when that version answers (after a rollback, the version
    the release's ledger recorded before it).
  - An empty O(version) adds nothing. No request named O(name) is an error when a version is expected.
options:
  _input:
    description: The requests of golive.core.http_check.
    type: list
    elements: dict
    required: true
  name:
    description: The request whose answer holds the version.
    type: str
    required: true
  query:
    description: JMESPath to the version in that answer.
    type: str
    required: true
  version:
    description: The version that must answer.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: The previous version answers
  golive.core.http_check:
    requests: "{{ [{'name': 'version', 'url': 'https://app.example.com/version'}] | golive.core.expect_version('version', 'version', '2026.11.2') }}"
"""

RETURN = r"""
_value:
  description: The requests, the named one with the assertion added.
  type: list
  elements: dict
"""

from ansible.errors import AnsibleFilterError


def expect_version(requests, name, query, version):
    requests = [dict(r) for r in requests or []]
    if not version:
        return requests
    version = str(version)
    if "'" in version or "\\" in version:
        raise AnsibleFilterError("expect_version: %r is not a version" % version)
    found = [r for r in requests if r.get("name") == name]
    if not found:
        raise AnsibleFilterError("expect_version: no request is named %r (rollback_emergency_version_request); "
                                 "the version %s cannot be checked" % (name, version))
    for request in found:
        request["assertions"] = list(request.get("assertions") or []) + ["%s == '%s'" % (query, version)]
    return requests


class FilterModule(object):
    def filters(self):
        return {"expect_version": expect_version}

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: smtp_check
short_description: The outgoing mail server as the application uses it
version_added: 1.0.0
description:
  - "Checks an SMTP server (SendGrid, SES, Postfix, any submission server): C(smtp.connect) (EHLO is
    answered; the extensions offered), C(smtp.starttls) (offered and negotiated, with certificate
    verification), C(smtp.auth) (the application's login is accepted) and, with O(send_to),
    C(smtp.delivery): a test message with a unique subject is accepted for those recipients."
  - A refused login fails the task, naming the user and the server's code, never the password.
author:
  - golive.core maintainers (@golive)
extends_documentation_fragment:
  - golive.core.attributes
  - golive.core.checks
attributes:
  check_mode:
    support: full
    details: Connects and logs in; sends no message.
  diff_mode:
    support: none
options:
  host:
    description: The SMTP server.
    type: str
    required: true
  port:
    description: Its port.
    type: int
    default: 587
  security:
    description: C(starttls) upgrades the connection and fails when STARTTLS is not offered; C(ssl) is implicit TLS.
    type: str
    default: starttls
    choices: [starttls, ssl, none]
  username:
    description: The login to check; no AUTH when unset.
    type: str
  password:
    description: Its password. Falls back to E(SMTP_PASSWORD).
    type: str
  send_to:
    description: Recipients of a test message; none is sent when empty.
    type: list
    elements: str
    default: []
  sender:
    description: The C(From) of the test message.
    type: str
    default: golive-check@localhost
  subject:
    description: Start of the test message's subject (a unique token is appended).
    type: str
    default: golive SMTP check
  ca_cert:
    description: CA bundle to verify the server's certificate with.
    type: path
    aliases: [ca_file]
  validate_certs:
    description: Verify the server's certificate.
    type: bool
    default: true
  timeout:
    description: Seconds per network operation.
    type: float
    default: 15
  checklist:
    description: The checklist item the checks give evidence for.
    type: str
seealso:
  - module: golive.core.notify
    description: Sends the go-live notifications.
"""

EXAMPLES = r"""
- name: Day -1 - email
  golive.core.smtp_check:
    host: smtp.sendgrid.net
    username: apikey
    password: "{{ vault_sendgrid_api_key }}"
    send_to: [golive-inbox@example.com]
"""

RETURN = r"""
checks:
  description: The check records (shared check model).
  returned: always
  type: list
  elements: dict
  sample:
    - id: smtp.delivery
      title: A test message is accepted by the relay
      status: pass
      evidence:
        server: smtp.sendgrid.net:587
        starttls: true
      checklist: null
summary:
  description: Counts of the checks by status.
  returned: always
  type: dict
  sample:
    pass: 3
    fail: 0
    warn: 0
    skip: 0
    total: 3
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.golive.core.plugins.module_utils.common import module as base
from ansible_collections.golive.core.plugins.module_utils.notify import smtp_probe
from ansible_collections.golive.core.plugins.module_utils.common.options import env_fallback


def main():
    spec = dict(
        host=dict(type="str", required=True),
        port=dict(type="int", default=587),
        security=dict(type="str", default="starttls", choices=["starttls", "ssl", "none"]),
        username=dict(type="str"),
        password=dict(type="str", no_log=True, fallback=(env_fallback, ["SMTP_PASSWORD"])),
        send_to=dict(type="list", elements="str", default=[]),
        sender=dict(type="str", default="golive-check@localhost"),
        subject=dict(type="str", default="golive SMTP check"),
        ca_cert=dict(type="path", aliases=["ca_file"]),
        validate_certs=dict(type="bool", default=True),
        timeout=dict(type="float", default=15.0),
        checklist=dict(type="str"),
    )
    spec.update(base.CHECKS_ARGUMENT_SPEC)
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    p = module.params

    def service():
        result = smtp_probe.run(smtp_probe.SmtpServer.from_params(p), p["send_to"], p["sender"], p["subject"],
                                module.check_mode, p["checklist"])
        return base.finish_checks(result, p["fail_on_failed_checks"], "SMTP checks")

    base.run(module, service)


if __name__ == "__main__":
    main()

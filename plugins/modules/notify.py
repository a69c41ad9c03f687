#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: notify
short_description: Tell people about a go-live or a rollback by webhook, Slack or email
version_added: 1.0.0
description:
  - Sends one event (for example V(golive-started), V(approval-requested), V(rollback-finished))
    of a release to every channel of O(channels), in order, under one deadline O(timeout).
  - A C(webhook) channel receives a generic JSON document (source, event, release, status,
    summary, details, link, sent_at); a C(slack) channel receives a Slack-compatible payload
    (C(text) and Block Kit blocks) for an incoming-webhook URL; an C(email) channel sends a
    plain-text message through SMTP with STARTTLS (or implicit TLS) and AUTH.
  - Webhooks are retried on network errors, HTTP 429 (honouring C(Retry-After)) and 5xx; other
    4xx answers are final. Email is retried on dropped connections and 4xx replies; a refused
    login is final and named.
  - Channels are named by O(channels[].name) in every message and result; their URLs, headers
    and passwords are never shown (a Slack webhook URL is itself a secret).
  - With O(ledger), the notification is a ledger step (phase V(notify), step O(event) unless
    the option says otherwise) and an event already delivered to every channel for this release
    is not sent again, so a resumed run does not announce twice. A sent message cannot be taken
    back, so the step records no undo.
author:
  - golive.core maintainers (@golive)
extends_documentation_fragment:
  - golive.core.attributes
  - golive.core.k8s
  - golive.core.ledger
attributes:
  check_mode:
    support: full
    details: Builds the message and names the channels it would go to; sends nothing.
  diff_mode:
    support: full
    details: The text of the message as the after state (nothing is changed; C(changed) stays false).
options:
  event:
    description: What happened, for example V(golive-started) or V(rollback-failed).
    type: str
    required: true
  release:
    description: The release id the event belongs to; every message carries it.
    type: str
    required: true
  status:
    description: How the event went.
    type: str
    default: info
    choices: [info, success, warning, failure]
  summary:
    description: One line for people.
    type: str
    required: true
  details:
    description: Facts shown with the summary (phase, change id, versions); never put secrets here.
    type: dict
    default: {}
  link:
    description: Where the evidence is (the report, the AWX job).
    type: str
  channels:
    description: Where to send the event.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: The channel's name, unique in the list; results and errors use it.
        type: str
        required: true
      type:
        description: How to reach it.
        type: str
        required: true
        choices: [webhook, slack, email]
      url:
        description: The webhook URL (C(webhook), C(slack)); treated as a secret.
        type: str
      headers:
        description: Extra request headers of a webhook (for example C(Authorization)); treated as secrets.
        type: dict
      host:
        description: SMTP server (C(email)).
        type: str
      port:
        description: SMTP port (C(email)).
        type: int
        default: 587
      security:
        description: C(starttls) upgrades a plain connection and fails when the server does not offer it; C(ssl) is implicit TLS (port 465).
        type: str
        default: starttls
        choices: [starttls, ssl, none]
      username:
        description: SMTP AUTH user; no AUTH when unset.
        type: str
      password:
        description: SMTP AUTH password.
        type: str
      sender:
        description: The C(From) address (C(email)).
        type: str
      to:
        description: Recipients (C(email)).
        type: list
        elements: str
      ca_cert:
        description: CA bundle to verify the server's certificate with (system store when unset).
        type: path
        aliases: [ca_file]
      validate_certs:
        description: Verify the server's certificate.
        type: bool
        default: true
  timeout:
    description: Seconds for every channel together, retries included.
    type: float
    default: 30
  checklist:
    description:
      - The checklist item(s) a test notification gives evidence for. When set, the result carries a check
        C(notify.<channel>) per channel - passed when the channel accepted the message, failed with its error.
    type: raw
  fail_on_error:
    description: Fail the task when a channel could not be reached in time; when false, that is a warning (a rollback should not stop because the chat is down).
    type: bool
    default: true
seealso:
  - module: golive.core.smtp_check
    description: Proves the mail relay delivers.
  - module: community.general.slack
    description: Posts to Slack.
"""

EXAMPLES = r"""
- name: Announce the go-live
  golive.core.notify:
    event: golive-started
    release: "{{ golive_release }}"
    summary: Go-live of {{ golive_release }} started
    details: {change: "{{ golive_change_id }}", phases: "phase1-phase5"}
    channels:
      - {name: ops-chat, type: slack, url: "{{ vault_slack_webhook_url }}"}
      - name: change-board
        type: email
        host: smtp.example.com
        username: golive
        password: "{{ vault_smtp_password }}"
        sender: golive@example.com
        to: [change-board@example.com]
"""

RETURN = r"""
event:
  description: The event sent.
  returned: always
  type: str
channels:
  description: Names of the channels addressed.
  returned: always
  type: list
  elements: str
sent:
  description:
    - Whether the message reached at least one channel.
    - Telling people is not a change to a managed system, so C(changed) stays false, as for the ledger.
  returned: always
  type: bool
delivered:
  description: The channels reached, each with C(channel), C(type) and C(attempts).
  returned: always
  type: list
  elements: dict
undelivered:
  description: The channels not reached in time, each with C(channel), C(type) and C(error).
  returned: always
  type: list
  elements: dict
text:
  description: The message as plain text.
  returned: when sent or in check mode
  type: str
would_send_to:
  description: In check mode, the channels the message would go to.
  returned: check mode
  type: list
  elements: str
ledger:
  description: The ledger step this task recorded.
  returned: when O(ledger) is set
  type: dict
  sample:
    release: 2026.11.3
    environment: production
    run_id: 20261205T091200-1a2b3c4d
    step: phase4/deploy
    decision: run
    copy: null
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.golive.core.plugins.module_utils.common.checks import FAIL, PASS, SKIP, make_check

from ansible_collections.golive.core.plugins.module_utils.common import module as base
from ansible_collections.golive.core.plugins.module_utils.k8s import client as k8s
from ansible_collections.golive.core.plugins.module_utils.ledger.run import context_spec, with_recorder
from ansible_collections.golive.core.plugins.module_utils.notify import deliver


def delivery_checks(result, checklist, check_mode):
    """``notify.<channel>``, one per channel: the test notification reached it (its answer
    accepted it), or why not. In check mode nothing is sent: skipped."""
    if check_mode:
        return [make_check("notify.%s" % name, "A test notification reached %s" % name, SKIP,
                           {"reason": "check mode: nothing was sent"}, checklist) for name in result.get("channels") or []]
    checks = []
    for entry in result.get("delivered") or []:
        checks.append(make_check("notify.%s" % entry["channel"], "A test notification reached %s" % entry["channel"],
                                 PASS, {"type": entry.get("type"), "attempts": entry.get("attempts")}, checklist))
    for entry in result.get("undelivered") or []:
        checks.append(make_check("notify.%s" % entry["channel"], "A test notification reached %s" % entry["channel"],
                                 FAIL, {"type": entry.get("type"), "problems": [entry.get("error")]}, checklist))
    return checks


def main():
    channel = dict(
        name=dict(type="str", required=True),
        type=dict(type="str", required=True, choices=["webhook", "slack", "email"]),
        url=dict(type="str", no_log=True),
        headers=dict(type="dict", no_log=True),
        host=dict(type="str"),
        port=dict(type="int", default=587),
        security=dict(type="str", default="starttls", choices=["starttls", "ssl", "none"]),
        username=dict(type="str"),
        password=dict(type="str", no_log=True),
        sender=dict(type="str"),
        to=dict(type="list", elements="str"),
        ca_cert=dict(type="path", aliases=["ca_file"]),
        validate_certs=dict(type="bool", default=True),
    )
    spec = dict(
        event=dict(type="str", required=True),
        release=dict(type="str", required=True),
        status=dict(type="str", default="info", choices=["info", "success", "warning", "failure"]),
        summary=dict(type="str", required=True),
        details=dict(type="dict", default={}),
        link=dict(type="str"),
        channels=dict(type="list", elements="dict", required=True, options=channel),
        timeout=dict(type="float", default=30.0),
        fail_on_error=dict(type="bool", default=True),
        ledger=dict(type="dict", options=context_spec()),
        checklist=dict(type="raw"),
    )
    spec.update(k8s.argument_spec())
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    if module.params["ledger"]:
        base.require_libs(module, [("kubernetes", k8s.KUBERNETES_IMPORT_ERROR)])
    p = module.params

    def service():
        kube = k8s.Kube(k8s.KubeSettings.from_params(p), deadline=max(30.0, p["timeout"])) \
            if p["ledger"] else None
        result = send(kube)
        if p["checklist"]:
            result["checks"] = delivery_checks(result, p["checklist"], module.check_mode)
        return result

    def send(kube):
        return with_recorder(p["ledger"], "notify", p["event"],
                             lambda journal: deliver.send(dict((k, p[k]) for k in deliver.EVENT_KEYS), p["channels"],
                                                          p["timeout"], p["fail_on_error"], module.check_mode,
                                                          journal), kube, **base.modes(module))

    base.run(module, service)


if __name__ == "__main__":
    main()

# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The text and payloads of one notification, built from the event alone (pure).

Three shapes of the same facts: a generic JSON document for any webhook receiver, a
Slack-compatible payload (``text`` for clients without blocks, and Block Kit blocks), and
a plain-text email with a subject.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

ICONS = {"info": "ℹ️", "success": "✅", "warning": "⚠️", "failure": "🚨"}
# Slack allows at most 10 fields in a section block.
SLACK_FIELDS = 10


def title(event):
    """``[golive] 2026.11.3: golive-started (success)``"""
    return "[golive] %s: %s (%s)" % (event["release"], event["event"], event["status"])


def _facts(event):
    return [(str(k), _text(v)) for k, v in sorted((event.get("details") or {}).items())]


def _text(value):
    if isinstance(value, (list, tuple)):
        return ", ".join(_text(v) for v in value)
    if isinstance(value, dict):
        return ", ".join("%s=%s" % (k, _text(v)) for k, v in sorted(value.items()))
    return "" if value is None else str(value)


def generic(event, sent_at):
    return {"source": "golive.core", "event": event["event"], "release": event["release"],
            "status": event["status"], "summary": event["summary"], "details": event.get("details") or {},
            "link": event.get("link"), "sent_at": sent_at}


def slack(event):
    facts = _facts(event)
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": title(event)[:150]}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "%s %s" % (ICONS[event["status"]], event["summary"])}},
    ]
    if facts:
        blocks.append({"type": "section", "fields": [{"type": "mrkdwn", "text": "*%s*\n%s" % (k, v or "-")}
                                                     for k, v in facts[:SLACK_FIELDS]]})
    if event.get("link"):
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": "<%s|evidence>" % event["link"]}]})
    return {"text": "%s %s: %s" % (ICONS[event["status"]], title(event), event["summary"]), "blocks": blocks}


def email_text(event, sent_at):
    lines = [event["summary"], "", "release: %s" % event["release"], "event: %s" % event["event"],
             "status: %s" % event["status"], "sent at: %s" % sent_at]
    lines += ["%s: %s" % (k, v) for k, v in _facts(event)]
    if event.get("link"):
        lines += ["", "evidence: %s" % event["link"]]
    return title(event), "\n".join(lines) + "\n"

# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Sending one event to every declared channel under one deadline.

Webhooks (generic JSON or Slack-compatible) are POSTed and retried on network errors,
429 (honouring ``Retry-After``) and 5xx; other 4xx answers are final. Email goes through
SMTP with STARTTLS (or implicit TLS) and AUTH; a refused login is final, a 4xx reply or a
dropped connection is retried. A channel is named by its ``name`` in every message, never
by its URL or credentials (a Slack webhook URL is itself a secret).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import json
import smtplib
import socket
import ssl
from email.message import EmailMessage

from ansible_collections.golive.core.plugins.module_utils.common.errors import (
    AuthenticationFailed,
    ConnectionFailed,
    GoliveError,
    InvalidInput,
    Refused,
    describe_exception,
)
from ansible_collections.golive.core.plugins.module_utils.common.retry import Deadline, retry
from ansible_collections.golive.core.plugins.module_utils.common.journal import NoJournal
from ansible_collections.golive.core.plugins.module_utils.http import transport
from ansible_collections.golive.core.plugins.module_utils.notify import message, smtp_probe

NEEDS = {"webhook": ("url",), "slack": ("url",), "email": ("host", "sender", "to")}


def validate(channels):
    if not channels:
        raise InvalidInput("notify", "the channels", "declare at least one channel")
    names = [c["name"] for c in channels]
    if len(set(names)) != len(names):
        raise InvalidInput("notify", "the channels", "channel names must be unique (%s)" % ", ".join(names))
    for channel in channels:
        missing = [o for o in NEEDS[channel["type"]] if not channel.get(o)]
        if missing:
            raise InvalidInput("notify", "channel %s" % channel["name"],
                               "a %s channel needs %s" % (channel["type"], ", ".join(missing)))


def _retry_after(headers):
    try:
        return max(0.0, float(headers.get("retry-after")))
    except (TypeError, ValueError):
        return True


def post(channel, payload, deadline):
    """POST ``payload`` as JSON; return the number of attempts."""
    headers = {"Content-Type": "application/json", "User-Agent": "golive.core-notify"}
    headers.update(channel.get("headers") or {})
    body = json.dumps(payload).encode("utf-8")
    context = transport.tls_context(channel.get("ca_cert"), channel.get("validate_certs", True))
    what = "the webhook of channel %s" % channel["name"]

    def once():
        try:
            timeout = max(1.0, min(10.0, deadline.remaining()))
            status, answer = transport.send("POST", channel["url"], headers, body, context=context, timeout=timeout)[:2]
        except ConnectionFailed as exc:
            raise ConnectionFailed("reach", what, exc.cause, retryable=exc.retryable)
        if 200 <= status < 300:
            return status
        if status == 429 or status >= 500:
            error = ConnectionFailed("deliver to", what, "HTTP %s" % status, retryable=True)
            error.retry_after = _retry_after(answer) if status == 429 else True
            raise error
        raise Refused("deliver to", what, "HTTP %s (the receiver refused the payload; a retry would not help)" % status,
                      retryable=False)

    def retryable(exc):
        return getattr(exc, "retry_after", True) if getattr(exc, "retryable", False) else False

    attempts = retry(once, deadline, is_retryable=retryable, what="deliver to %s" % what, initial=0.5, maximum=4.0)[1]
    return attempts


def _smtp(channel, timeout):
    """A session with the channel's server, STARTTLS required when asked for."""
    client, seen = smtp_probe.open_session(channel["host"], channel["port"], channel["security"], timeout,
                                           channel.get("ca_cert"), channel.get("validate_certs", True))
    if channel["security"] == "starttls" and not seen.get("tls"):
        client.close()
        raise Refused("use", "STARTTLS on %s:%s" % (channel["host"], channel["port"]), "the server does not offer it",
                      retryable=False)
    return client


def mail(channel, subject, text, deadline):
    """Send one message; return the number of attempts."""
    what = "email through channel %s (%s:%s)" % (channel["name"], channel["host"], channel["port"])
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = channel["sender"]
    msg["To"] = ", ".join(channel["to"])
    msg.set_content(text)

    def once():
        try:
            client = _smtp(channel, max(1.0, min(15.0, deadline.remaining())))
            try:
                if channel.get("username"):
                    client.login(channel["username"], channel.get("password") or "")
                client.send_message(msg)
            finally:
                smtp_probe.close(client)
        except smtplib.SMTPAuthenticationError as exc:
            raise AuthenticationFailed("send", what, "the server refused the login of %s (%s)"
                                       % (channel.get("username"), exc.smtp_code),
                                       fix="check the channel's username and password", retryable=False)
        except smtplib.SMTPNotSupportedError:
            raise Refused("send", what, "the server offers no AUTH on this connection", retryable=False)
        except smtplib.SMTPRecipientsRefused as exc:
            raise Refused("send", what, "every recipient was refused (%s)" % ", ".join(sorted(exc.recipients)),
                          retryable=False)
        except smtplib.SMTPResponseException as exc:
            raise ConnectionFailed("send", what, "SMTP %s" % exc.smtp_code, retryable=400 <= exc.smtp_code < 500)
        except ssl.SSLError as exc:
            raise ConnectionFailed("verify", "TLS of %s" % what, describe_exception(exc), retryable=False)
        except (smtplib.SMTPException, socket.error) as exc:
            raise ConnectionFailed("send", what, describe_exception(exc), retryable=True)

    def retryable(exc):
        return getattr(exc, "retryable", False)

    attempts = retry(once, deadline, is_retryable=retryable, what="send %s" % what, initial=0.5, maximum=4.0)[1]
    return attempts


def notify(event, channels, timeout, check_mode=False, now=None):
    """Send ``event`` to every channel; return ``(delivered, undelivered, text)``.

    ``delivered`` lists ``{channel, type, attempts}``; ``undelivered`` lists
    ``{channel, type, error}``. One deadline covers every channel, in order. The channels
    are validated by the caller (``send``).
    """
    sent_at = (now or datetime.datetime.now(datetime.timezone.utc)).strftime("%Y-%m-%dT%H:%M:%SZ")
    subject, text = message.email_text(event, sent_at)
    delivered, undelivered = [], []
    if check_mode:
        return delivered, undelivered, text
    deadline = Deadline(timeout)
    for channel in channels:
        entry = {"channel": channel["name"], "type": channel["type"]}
        try:
            if channel["type"] == "email":
                attempts = mail(channel, subject, text, deadline)
            else:
                payload = message.slack(event) if channel["type"] == "slack" else message.generic(event, sent_at)
                attempts = post(channel, payload, deadline)
            entry["attempts"] = attempts
            delivered.append(entry)
        except GoliveError as exc:
            entry["error"] = exc.message
            undelivered.append(entry)
    return delivered, undelivered, text


EVENT_KEYS = ("event", "release", "status", "summary", "details", "link")


def send(event, channels, timeout=30.0, fail_on_error=True, check_mode=False, recorder=None):
    """Send ``event`` (a dict of ``EVENT_KEYS``) to ``channels``, once per release when recorded.

    With a ledger journal (``recorder``), an event already delivered to every channel for this release
    (same event, status, summary and channels) is not sent again, so a resumed run does not
    announce twice. Nothing is undone later: a sent message cannot be taken back.
    """
    event = dict((k, event.get(k)) for k in EVENT_KEYS)
    names = [c["name"] for c in channels]
    try:
        validate(channels)
    except InvalidInput as exc:
        if fail_on_error:
            raise
        # A notification must not stop what it reports on (a rollback): warn, send nothing.
        return {"event": event["event"], "release": event["release"], "channels": names, "changed": False, "sent": False,
                "delivered": [], "undelivered": [{"channel": n, "error": exc.message} for n in names],
                "warnings": [exc.message]}
    inputs = {"event": event["event"], "status": event["status"], "summary": event["summary"], "channels": names}
    result = {"event": event["event"], "release": event["release"], "channels": names}
    journal = recorder or NoJournal()
    if journal.done_before(inputs):
        result.update(changed=False, sent=False, delivered=[], undelivered=[],
                      skipped_reason="already sent for release %s (ledger step %s)" % (event["release"], journal.step_id))
        return result
    with journal.step(inputs) as outcome:
        delivered, undelivered, text = notify(event, channels, timeout, check_mode=check_mode)
        # Undelivered is a failed step (the next run sends again), not an exception here.
        outcome.update(changed=bool(delivered), outputs={"delivered": delivered, "undelivered": undelivered},
                       error="; ".join(u["error"] for u in undelivered) or None)
    # Telling people is not a change to a system the go-live manages (like writing the ledger):
    # a re-run that sends its announcements again still reports changed=false; ``sent`` says.
    result.update(changed=False, sent=bool(delivered), delivered=delivered, undelivered=undelivered, text=text,
                  diff={"before": "", "after": text})
    if check_mode:
        result["would_send_to"] = names
    if undelivered:
        result["msg"] = "Failed to notify %s: %s" % (", ".join(u["channel"] for u in undelivered),
                                                     "; ".join(u["error"] for u in undelivered))
        if fail_on_error:
            result["failed"] = True
        else:
            result["warnings"] = [result.pop("msg")]
    return result

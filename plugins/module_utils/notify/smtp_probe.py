# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""An outgoing mail server as the application uses it: reachable, STARTTLS offered and
negotiated, AUTH accepted, and (optionally) a test message accepted for delivery."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import smtplib
import socket
import ssl
import time
import uuid
from email.message import EmailMessage

from ansible_collections.golive.core.plugins.module_utils.common.checks import check, make_check
from ansible_collections.golive.core.plugins.module_utils.common.errors import (
    AuthenticationFailed,
    ConnectionFailed,
    InvalidInput,
    describe_exception,
)
from ansible_collections.golive.core.plugins.module_utils.common.settings import Settings
from ansible_collections.golive.core.plugins.module_utils.http import transport

CHECKLIST = "Email Service - SMTP/SendGrid configured for notifications"


class SmtpServer(Settings):
    """An outgoing mail server and the application's login to it, from smtp_check's options."""

    FIELDS = (("host", "host", None), ("port", "port", 587), ("security", "security", "starttls"),
              ("username", "username", None), ("password", "password", None), ("ca_cert", "ca_cert", None),
              ("validate_certs", "validate_certs", True), ("timeout", "timeout", 15.0))
    SECRETS = ("password",)

    def address(self):
        return "%s:%s" % (self.host, self.port)


def open_session(host, port, security, timeout, ca_file=None, validate_certs=True):
    """Connect, EHLO, and upgrade with STARTTLS when asked for and offered: ``(client, seen)``.

    Network and protocol errors propagate (``socket.error``, ``smtplib.SMTPException``,
    ``ssl.SSLError``); STARTTLS not offered is only recorded (``seen["tls"]`` stays unset).
    """
    context = transport.tls_context(ca_file, validate_certs) if security != "none" else None
    if security == "ssl":
        client = smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
    else:
        client = smtplib.SMTP(host, port, timeout=timeout)
    try:
        code = client.ehlo()[0]
        seen = {"ehlo": code, "extensions": sorted(client.esmtp_features), "starttls_offered": client.has_extn("starttls")}
        if security == "starttls" and seen["starttls_offered"]:
            client.starttls(context=context)
            client.ehlo()
            seen["tls"] = client.sock.version()
            seen["extensions_after_tls"] = sorted(client.esmtp_features)
        elif security == "ssl":
            seen["tls"] = client.sock.version()
    except BaseException:
        client.close()
        raise
    return client, seen


def close(client):
    try:
        client.quit()
    except (smtplib.SMTPException, socket.error):
        client.close()


def probe(server, send_to=(), sender=None, subject=None, check_mode=False, clock=time.monotonic):
    """What ``server`` (an :class:`SmtpServer`) did, step by step: EHLO, STARTTLS, AUTH, and
    the test message to ``send_to`` when given."""
    security = server.security
    where = server.address()
    for name, value in (("sender", sender), ("subject", subject)):
        if re.search(r"[\r\n]", str(value or "")):
            raise InvalidInput("use", name, "it contains a line break (CR or LF); a mail header is one line")
    for address in send_to or []:
        if re.search(r"[\r\n,]", str(address)):
            raise InvalidInput("use", "send_to %r" % address, "each entry is one address, without line breaks or commas")
    seen = {"server": where}
    started = clock()
    client = None
    try:
        client, opened = open_session(server.host, server.port, security, server.timeout, server.ca_cert,
                                      server.validate_certs)
        seen.update(opened)
        seen["auth_offered"] = client.has_extn("auth")
        if server.username and (security != "starttls" or seen.get("tls")):
            try:
                client.login(server.username, server.password or "")
                seen["auth"] = "accepted"
            except smtplib.SMTPAuthenticationError as exc:
                raise AuthenticationFailed("log in to", "the SMTP server %s" % where,
                                           "user %s was refused (%s)" % (server.username, exc.smtp_code),
                                           fix="check the username and password", retryable=False)
        if send_to and not check_mode:
            msg = EmailMessage()
            token = uuid.uuid4().hex
            msg["Subject"] = "%s %s" % (subject or "golive SMTP check", token)
            msg["From"] = sender or "golive-check@localhost"
            msg["To"] = ", ".join(send_to)
            msg.set_content("A test message of the go-live checks (%s).\n" % token)
            refused = client.send_message(msg)
            seen["sent"] = {"subject": msg["Subject"], "to": list(send_to), "refused": sorted(refused)}
    except ssl.SSLError as exc:
        raise ConnectionFailed("verify", "TLS of the SMTP server %s" % where, describe_exception(exc), retryable=False)
    except smtplib.SMTPResponseException as exc:
        raise ConnectionFailed("talk to", "the SMTP server %s" % where, "SMTP %s %s" % (
            exc.smtp_code, _text(exc.smtp_error)), fix=_needs_tls(security, seen), retryable=False)
    except (socket.error, smtplib.SMTPException) as exc:
        raise ConnectionFailed("reach" if client is None else "talk to", "the SMTP server %s" % where,
                               describe_exception(exc),
                               fix=_needs_tls(security, seen) or "check the host, the port and the network")
    finally:
        if client is not None:
            close(client)
    seen["ms"] = round((clock() - started) * 1000, 1)
    return seen


def _text(value):
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value or "")
    return " ".join(text.split())[:200]


def _needs_tls(security, seen):
    """The fix when a plain session was refused by a server that offers STARTTLS."""
    if security == "none" and seen.get("starttls_offered"):
        return "The server offers STARTTLS and would not go on without it: use security: starttls"
    return None


def evaluate(seen, security, username=None, send_to=(), checklist=CHECKLIST):
    """The checks for what the server did (pure)."""
    out = [check("smtp.connect", "The SMTP server answers EHLO", seen.get("ehlo") == 250,
                 {"server": seen["server"], "extensions": seen.get("extensions"), "ms": seen.get("ms")}, checklist)]
    if security == "starttls":
        out.append(check("smtp.starttls", "STARTTLS is offered and negotiated", bool(seen.get("tls")),
                         {"offered": seen.get("starttls_offered"), "tls": seen.get("tls")}, checklist))
    if username:
        out.append(check("smtp.auth", "AUTH accepts the application's login", seen.get("auth") == "accepted",
                         {"offered": seen.get("auth_offered"), "user": username, "auth": seen.get("auth")},
                         checklist))
    if send_to:
        sent = seen.get("sent")
        if sent is None:
            out.append(make_check("smtp.delivery", "A test message is accepted for delivery", "skip",
                                  {"reason": "check mode sends nothing"}, checklist))
        else:
            out.append(check("smtp.delivery", "A test message is accepted for delivery", not sent["refused"], sent,
                             checklist))
    return out


def run(server, send_to=(), sender=None, subject=None, check_mode=False, checklist=None):
    seen = probe(server, send_to, sender, subject, check_mode)
    return {"changed": False,
            "checks": evaluate(seen, server.security, server.username, send_to, checklist or CHECKLIST)}

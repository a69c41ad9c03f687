# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's error tree.

Every expected failure is raised as a subclass of :class:`GoliveError`. Its message
reads ``Failed to <verb> <object>: <cause>`` and, where the fix is known, ends with
it, so a person reading a failed task at 3 a.m. knows what broke and what to do.

Services raise these errors; only module entry points turn them into ``fail_json``.
``result`` carries whatever partial result is worth returning with the failure
(checks evaluated so far, steps already applied), never a secret.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class GoliveError(Exception):
    """Base of all expected failures.

    ``retryable`` tells the retry helper whether trying again may help.
    """

    retryable = False

    def __init__(self, verb, obj, cause, fix=None, result=None, retryable=None):
        self.verb = verb
        self.obj = obj
        self.cause = str(cause).strip() if cause is not None else "unknown cause"
        self.fix = fix
        self.result = dict(result or {})
        if retryable is not None:
            self.retryable = retryable
        super(GoliveError, self).__init__(self.message)

    @property
    def message(self):
        msg = "Failed to %s %s: %s" % (self.verb, self.obj, self.cause)
        if self.fix:
            msg = "%s. %s" % (msg.rstrip("."), self.fix)
        return msg

    def __str__(self):
        return self.message


class ConnectionFailed(GoliveError):
    """The server could not be reached (refused, timed out, DNS, TLS)."""

    retryable = True


class AuthenticationFailed(GoliveError):
    """The server answered but refused the credentials. Never retried."""


class PermissionDenied(GoliveError):
    """Authenticated, but not allowed to do this."""


class NotFound(GoliveError):
    """A named object (backup, database, record, workload) does not exist."""


class Conflict(GoliveError):
    """Someone else holds the lock, or the object changed under us."""

    retryable = True


class PreconditionFailed(GoliveError):
    """The world is not in a state in which the action is safe (drift, ledger mismatch)."""


class Refused(GoliveError):
    """A safety rule refused the action (wrong release id, drills not allowed, ...)."""


class InvalidInput(GoliveError):
    """The task's arguments are inconsistent or malformed."""


class Timeout(GoliveError):
    """A deadline ran out before the operation completed."""


class BackendError(GoliveError):
    """The server answered with an error that fits no other class."""


class VerificationFailed(GoliveError):
    """Something was produced but does not match what it must (a backup, a restore)."""


def describe_exception(exc):
    """A one-line description of a foreign exception, for use as a cause.

    Keeps the exception's own text (first line only) and its class name when the
    text is empty, so no traceback ever reaches the user.
    """
    text = str(exc).strip().splitlines()
    if text and text[0].strip():
        return text[0].strip()
    return type(exc).__name__

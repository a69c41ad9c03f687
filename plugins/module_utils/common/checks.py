# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one result model every check in the collection returns.

A check is ``{id, title, status, evidence, checklist}``: ``status`` is one of
``pass``, ``fail``, ``warn``, ``skip``; ``evidence`` is what was observed (versions,
counts, names, timings) and never a secret; ``checklist`` quotes the go-live checklist
item the check gives evidence for (a list when several, None when none). The report
callback renders these records.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

PASS = "pass"
FAIL = "fail"
WARN = "warn"
SKIP = "skip"
# What a check of a section its task did not declare says (k8s_preflight lists every section):
# it gives evidence for nothing.
UNDECLARED = "not declared in the spec"
STATUSES = (PASS, FAIL, WARN, SKIP)

_ID = re.compile(r"^[a-z0-9][a-z0-9_.:-]*$")
REDACTED = "********"
# The user-info of a URL (``https://user:password@host``, ``redis://:password@host``).
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s?#]*@")


def make_check(check_id, title, status, evidence=None, checklist=None):
    """Build one check record, validating its shape."""
    if not _ID.match(check_id or ""):
        raise ValueError("check id %r must be lower-case letters, digits, '_', '.', ':' or '-'" % (check_id,))
    if status not in STATUSES:
        raise ValueError("check status %r must be one of %s" % (status, ", ".join(STATUSES)))
    if isinstance(checklist, (list, tuple)):
        checklist = [str(item) for item in checklist if item] or None
        if checklist and len(checklist) == 1:
            checklist = checklist[0]
    elif checklist is not None and not isinstance(checklist, str):
        raise ValueError("a check's checklist is an item or a list of items, not %r" % (checklist,))
    return {
        "id": check_id,
        "title": title,
        "status": status,
        "evidence": dict(evidence or {}),
        "checklist": checklist,
    }


def verdict(ok, warn_only=False):
    """Map a boolean outcome to a status; ``None`` means the check could not be evaluated."""
    if ok is None:
        return SKIP
    if ok:
        return PASS
    return WARN if warn_only else FAIL


def check(check_id, title, ok, evidence=None, checklist=None, warn_only=False):
    """Shorthand: a check whose status follows from a boolean."""
    return make_check(check_id, title, verdict(ok, warn_only), evidence, checklist)


def summarize(checks):
    counts = dict((status, 0) for status in STATUSES)
    for item in checks:
        counts[item["status"]] += 1
    counts["total"] = len(checks)
    return counts


def failed(checks):
    return [item for item in checks if item["status"] == FAIL]


def failure_message(checks, subject="checks"):
    """One readable line naming every failed check, or ``None`` when none failed."""
    bad = failed(checks)
    if not bad:
        return None
    names = ", ".join("%s (%s)%s" % (item["id"], item["title"], _problems(item)) for item in bad)
    return "%d of %d %s failed: %s" % (len(bad), len(checks), subject, names)


def _problems(item):
    """``: <problem>; <problem>`` when a check's evidence lists its problems."""
    problems = (item.get("evidence") or {}).get("problems")
    if isinstance(problems, list) and problems:
        return ": " + "; ".join(str(p) for p in problems)
    return ""


def strip_userinfo(value):
    """``value`` with the user-info of every URL in it replaced (``https://***@host/...``):
    a password written into a URL is never reported, whichever option it came in."""
    if isinstance(value, dict):
        return dict((k, strip_userinfo(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return [strip_userinfo(v) for v in value]
    if isinstance(value, str) and "@" in value:
        return _USERINFO.sub(lambda m: m.group(1) + "***@", value)
    return value


def redact(value, secrets):
    """Return ``value`` with every occurrence of any non-empty secret replaced, and the
    user-info of every URL in it.

    Evidence is built from observations, not from options, so this is a second line
    of defence: it walks dicts, lists and strings and masks what must never leak.
    """
    value = strip_userinfo(value)
    secrets = [s for s in (secrets or []) if isinstance(s, str) and s]
    if not secrets:
        return value
    if isinstance(value, dict):
        return dict((k, redact(v, secrets)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return [redact(v, secrets) for v in value]
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, REDACTED)
        return value
    return value

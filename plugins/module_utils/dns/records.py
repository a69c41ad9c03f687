# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Record sets, the one model both DNS providers speak (pure).

A record set is ``{name, type, ttl, values}``: a fully qualified lower-case name with the
trailing dot, the type, the TTL and the sorted values in their text form (an absent set is
``None``). Planning compares the live sets with the desired ones; drift compares the live
sets with what a cutover left, so a revert never overwrites someone else's change.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.golive.core.plugins.module_utils.common.errors import InvalidInput

TYPES = ("A", "AAAA", "CNAME", "TXT")


def fqdn(name, zone):
    """``www`` or ``www.example.com`` or ``www.example.com.`` in zone ``example.com.`` ->
    ``www.example.com.``; ``@`` is the apex."""
    zone = zone.lower().rstrip(".") + "."
    name = str(name or "").strip().lower()
    if name in ("@", "", zone, zone.rstrip(".")):
        return zone
    if name.endswith("."):
        full = name
    elif name.endswith("." + zone.rstrip(".")):
        full = name + "."
    else:
        full = "%s.%s" % (name, zone)
    if not full.endswith("." + zone) and full != zone:
        raise InvalidInput("use", "record %s" % name, "it is not in zone %s" % zone)
    return full


def value_text(rtype, value, zone):
    value = str(value).strip()
    if rtype == "CNAME":
        return fqdn(value, zone) if not value.endswith(".") else value.lower()
    return value


def record_set(name, rtype, ttl, values, zone):
    rtype = str(rtype).upper()
    if rtype not in TYPES:
        raise InvalidInput("use", "record %s %s" % (name, rtype), "the type must be one of %s" % ", ".join(TYPES))
    values = sorted(set(value_text(rtype, v, zone) for v in values or []))
    if not values:
        raise InvalidInput("use", "record %s %s" % (name, rtype), "it needs at least one value")
    if rtype == "CNAME" and len(values) > 1:
        raise InvalidInput("use", "record %s CNAME" % name, "a CNAME has exactly one value")
    return {"name": fqdn(name, zone), "type": rtype, "ttl": int(ttl), "values": values}


def key(rset):
    return "%s %s" % (rset["name"], rset["type"])


def same(a, b):
    if a is None or b is None:
        return a is None and b is None
    return a["values"] == b["values"] and int(a["ttl"]) == int(b["ttl"])


def describe(rset):
    if rset is None:
        return "absent"
    return "%s (ttl %d)" % (", ".join(rset["values"]), rset["ttl"])


def plan(live, targets):
    """``[{key, before, after}]`` for every target whose live set differs.

    ``live`` maps ``key`` -> set or None; each target is ``{key, after}`` (``after`` None
    deletes the set).
    """
    changes = []
    for target in targets:
        before = live.get(target["key"])
        if not same(before, target["after"]):
            changes.append({"key": target["key"], "before": before, "after": target["after"]})
    return changes


def drift(live, expected):
    """Differences between what is live and what a cutover left: ``[text]`` (empty: none)."""
    problems = []
    for name in sorted(expected):
        if not same(live.get(name), expected[name]):
            problems.append("%s is %s, the cutover left %s" % (
                name, describe(live.get(name)), describe(expected[name])))
    return problems

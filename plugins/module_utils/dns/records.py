# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Record sets, the one model both DNS providers speak (pure).

A record set is ``{name, type, ttl, values}``: a fully qualified lower-case name with the
trailing dot, the type, the TTL and the sorted values in their text form (an absent set is
``None``). A weighted set (Route53) also has ``set_identifier`` and ``weight``; several
weighted sets share a name and type, and resolvers get each in proportion to its weight.
Planning compares the live sets with the desired ones; drift compares the live sets with
what a cutover left, so a revert never overwrites someone else's change.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re

from ansible_collections.golive.core.plugins.module_utils.common.errors import InvalidInput

TYPES = ("A", "AAAA", "CNAME", "TXT")
MAX_TTL = 2 ** 31 - 1
# A TTL above this keeps resolvers on the old answer for more than a week after a change.
LONG_TTL = 7 * 86400


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


_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")


def value_text(rtype, value, zone):
    """A value in its text form, checked for its type (raises ``ValueError`` saying why)."""
    value = str(value).strip()
    if not value:
        raise ValueError("a value is empty")
    if rtype == "A":
        try:
            return str(ipaddress.IPv4Address(value))
        except ValueError:
            raise ValueError("%s is not an IPv4 address" % value)
    if rtype == "AAAA":
        try:
            return str(ipaddress.IPv6Address(value))
        except ValueError:
            raise ValueError("%s is not an IPv6 address" % value)
    if rtype == "CNAME":
        target = value.lower() if value.endswith(".") else fqdn(value, zone)
        if len(target) > 254 or not all(_LABEL.match(label) for label in target.rstrip(".").split(".")):
            raise ValueError("%s is not a host name" % value)
        return target
    if len(value.encode("utf-8")) > 255 and not value.startswith('"'):
        raise ValueError("a TXT string is at most 255 bytes; split a longer text into quoted strings")
    return value


def record_set(name, rtype, ttl, values, zone, set_identifier=None, weight=None):
    rtype = str(rtype).upper()
    if (set_identifier is None) != (weight is None):
        raise InvalidInput("use", "record %s %s" % (name, rtype), "a weighted set needs both set_identifier and weight")
    if weight is not None and not 0 <= int(weight) <= 255:
        raise InvalidInput("use", "record %s %s" % (name, rtype), "a weight is between 0 and 255")
    if set_identifier is not None and (" " in str(set_identifier) or not str(set_identifier)):
        raise InvalidInput("use", "record %s %s" % (name, rtype), "a set_identifier is one word")
    if rtype not in TYPES:
        raise InvalidInput("use", "record %s %s" % (name, rtype), "the type must be one of %s" % ", ".join(TYPES))
    try:
        values = sorted(set(value_text(rtype, v, zone) for v in values or []))
    except ValueError as exc:
        raise InvalidInput("use", "record %s %s" % (name, rtype), str(exc))
    if not values:
        raise InvalidInput("use", "record %s %s" % (name, rtype), "it needs at least one value")
    if rtype == "CNAME" and len(values) > 1:
        raise InvalidInput("use", "record %s CNAME" % name, "a CNAME has exactly one value")
    if rtype == "CNAME" and fqdn(name, zone) == zone.lower().rstrip(".") + ".":
        raise InvalidInput("use", "record %s CNAME" % name, "a CNAME cannot be at the zone apex, which holds the "
                                                            "zone's SOA and NS records (RFC 1034, 3.6.2)",
                           fix="Use an A/AAAA record at the apex, or an alias at the provider")
    if not 0 <= int(ttl) <= MAX_TTL:
        raise InvalidInput("use", "record %s %s" % (name, rtype), "ttl %s is not 0 to %d seconds (RFC 2181)"
                           % (ttl, MAX_TTL))
    found = {"name": fqdn(name, zone), "type": rtype, "ttl": int(ttl), "values": values}
    if set_identifier is not None:
        found.update(set_identifier=str(set_identifier), weight=int(weight))
    return found


def key(rset):
    """``name type``, or ``name type set_identifier`` for a weighted set."""
    if rset.get("set_identifier") is not None:
        return "%s %s %s" % (rset["name"], rset["type"], rset["set_identifier"])
    return "%s %s" % (rset["name"], rset["type"])


def parse_key(text):
    """``(name, type, set_identifier or None)`` of a key."""
    parts = text.split(" ")
    return parts[0], parts[1], (parts[2] if len(parts) > 2 else None)


def weighted(text):
    return parse_key(text)[2] is not None


def same(a, b):
    if a is None or b is None:
        return a is None and b is None
    return (a["values"] == b["values"] and int(a["ttl"]) == int(b["ttl"])
            and a.get("weight") == b.get("weight"))


def describe(rset):
    if rset is None:
        return "absent"
    text = "%s (ttl %d)" % (", ".join(rset["values"]), rset["ttl"])
    if rset.get("weight") is not None:
        text += " weight %d" % rset["weight"]
    return text


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


def shift(pairs, percent, zone, ttl=60):
    """The weighted sets of one step of a gradual cutover: each pair ``{name, type, from, to}``
    (``from``/``to``: ``{set_identifier, values}``) gives ``percent`` of 100 to ``to`` and the
    rest to ``from``."""
    percent = int(percent)
    if not 0 <= percent <= 100:
        raise InvalidInput("use", "a weight step", "%d is not a percentage" % percent)
    sets = []
    for pair in pairs:
        for side, weight in (("from", 100 - percent), ("to", percent)):
            end = pair.get(side)
            if not pair.get("name") or not isinstance(end, dict) or not end.get("set_identifier") \
                    or not end.get("values"):
                raise InvalidInput("use", "shift pair %s" % (pair.get("name") or "?"),
                                   "each pair needs name, and from and to each with set_identifier and values")
            if pair["from"].get("set_identifier") == pair["to"].get("set_identifier"):
                raise InvalidInput("use", "shift pair %s" % pair["name"], "from and to are the same set")
            sets.append(record_set(pair["name"], pair.get("type") or "A", pair.get("ttl") or ttl, end["values"],
                                   zone, end["set_identifier"], weight))
    return sets


def long_ttls(sets):
    """Warnings for sets whose TTL is over a week (pure)."""
    return ["%s has a TTL of %d s (%.0f days): resolvers keep the answer that long after the next change, a "
            "rollback's included" % (key(s), s["ttl"], s["ttl"] / 86400.0) for s in sets if int(s["ttl"]) > LONG_TTL]

# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""DNS cutover and revert, verified on every authoritative server.

read the live sets -> plan (pure) -> write the intent and the previous sets to the ledger
-> apply in one change (one signed UPDATE, or one Route53 change batch) -> wait until the
provider has it (Route53 INSYNC) -> ask every server in the zone's NS records, directly
and without recursion, until each answers the new sets. A revert first compares the live
sets with what the cutover left and refuses, naming the difference, when someone else
changed them since (unless told to overwrite).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.golive.core.plugins.module_utils.common.checks import make_check
from ansible_collections.golive.core.plugins.module_utils.common.errors import (
    BackendError,
    InvalidInput,
    NotFound,
    PreconditionFailed,
    Timeout,
)
from ansible_collections.golive.core.plugins.module_utils.common.journal import NoJournal
from ansible_collections.golive.core.plugins.module_utils.dns import records

try:
    import dns.exception
    import dns.flags
    import dns.message
    import dns.query
    import dns.rcode
    import dns.rdatatype
except ImportError:  # pragma: no cover - reported by the module entry point
    pass

CHECKLIST = ["DNS cutover", "DNS Configuration - Domain records pointing to production infrastructure",
             "DNS Cutover - DNS records updated to production"]
UNDO_STEP = "phase5/dns-cutover"
MODULE = "golive.core.dns_cutover"


def ask(address, port, name, rtype, timeout=2.0):
    """What one authoritative server answers (no recursion): sorted values, [] if none, or None
    when it did not answer."""
    query = dns.message.make_query(name, dns.rdatatype.from_text(rtype))
    query.flags &= ~dns.flags.RD
    try:
        response = dns.query.udp(query, address, port=int(port), timeout=timeout)
    except (dns.exception.DNSException, OSError):
        return None
    if response.rcode() not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
        return None
    values = []
    for rrset in response.answer:
        if rrset.rdtype == dns.rdatatype.from_text(rtype) and rrset.name.to_text().lower() == name:
            values.extend(r.to_text().lower() if rtype == "CNAME" else r.to_text() for r in rrset)
    return sorted(values)


def servers_of(provider, overrides, default_port):
    """``[(ns name, address, port)]``: the zone's NS records, each mapped through ``overrides``
    (NS name -> ``address[:port]``), else its address and ``default_port``."""
    found = []
    for ns, address in provider.nameservers():
        override = (overrides or {}).get(ns) or (overrides or {}).get(ns.rstrip("."))
        port = default_port
        if override:
            address, _sep, given = str(override).partition(":")
            port = int(given) if given else default_port
        found.append((ns, address, port))
    if not found:
        raise NotFound("find", "the authoritative servers of %s" % provider.describe(), "the zone has no NS records")
    return found


def verify(servers, expected, deadline, interval=0.5):
    """Ask every server until each answers ``expected`` (key -> set or None); return what each said."""
    while True:
        seen = []
        for ns, address, port in servers:
            answers = {}
            for key, rset in expected.items():
                name, rtype = key.split(" ")
                # Each question waits no longer than what is left of the task's deadline.
                answers[key] = ask(address, port, name, rtype, timeout=min(2.0, max(0.05, deadline.remaining())))
            matched = all(answers[k] == (rset["values"] if rset else []) for k, rset in expected.items())
            seen.append({"server": ns, "address": "%s:%s" % (address, port), "answers": answers, "matched": matched})
        if all(s["matched"] for s in seen) or deadline.remaining() <= 0:
            return seen
        time.sleep(min(interval, max(deadline.remaining(), 0.01)))
        interval = min(5.0, interval * 1.5)


def _checks(verified, expected):
    checks = []
    for key, rset in sorted(expected.items()):
        name, rtype = key.split(" ")
        per_server = dict((s["server"], s["answers"].get(key)) for s in verified)
        ok = all(values == (rset["values"] if rset else []) for values in per_server.values())
        evidence = {"record": key, "expected": rset["values"] if rset else [], "servers": per_server}
        if not ok:
            evidence["problems"] = ["%s answers %s" % (server, ", ".join(values) if values else
                                                       ("nothing" if values == [] else "no answer"))
                                    for server, values in sorted(per_server.items())
                                    if values != (rset["values"] if rset else [])]
        checks.append(make_check("dns.%s.%s" % (name.rstrip("."), rtype.lower()),
                                 "Every authoritative server answers %s" % key, "pass" if ok else "fail",
                                 evidence, CHECKLIST))
    return checks


def _weight_checks(provider, expected):
    checks = []
    for key, rset in sorted(expected.items()):
        if not records.weighted(key):
            continue
        live = provider.read(*records.parse_key(key))
        evidence = {"record": key, "expected": records.describe(rset), "provider": records.describe(live)}
        ok = records.same(live, rset)
        if not ok:
            evidence["problems"] = ["%s is %s in %s, expected %s" % (
                key, records.describe(live), provider.describe(), records.describe(rset))]
        name, rtype, set_identifier = records.parse_key(key)
        checks.append(make_check("dns.weight.%s.%s.%s" % (name.rstrip("."), rtype.lower(), set_identifier),
                                 "The provider holds %s" % key, "pass" if ok else "fail", evidence, CHECKLIST))
    return checks


def _text(sets):
    return "".join("%s %s\n" % (k, records.describe(v)) for k, v in sorted(sets.items()))


def revert_drift(live, before, left):
    """The records a revert must not touch without being told (pure): those not back at
    ``before`` whose live set is no longer what the release ``left`` (someone changed
    them since). ``[{key, now, left, text}]``."""
    drifted = []
    for key in sorted(before):
        if records.same(live.get(key), before[key]) or key not in left:
            continue
        if not records.same(live.get(key), left[key]):
            text = "%s is %s, the release left %s" % (key, records.describe(live.get(key)), records.describe(left[key]))
            drifted.append({"key": key, "now": live.get(key), "left": left[key], "text": text})
    return drifted


def run(provider, state="present", desired=None, undo=None, overwrite=False, lower_ttl=None, verify_answers=True,
        nameservers=None, dns_port=53, deadline=None, check_mode=False, recorder=None, keep_changed=False):
    """Cut over to ``desired`` sets (or revert to ``undo``); return the module result."""
    warnings = []
    if overwrite and keep_changed:
        raise InvalidInput("revert", "DNS records", "overwrite and keep_changed contradict each other",
                           fix="Give one of them: overwrite puts changed records back, keep_changed keeps them")
    journal = recorder or NoJournal()
    left_alone = []
    if state == "reverted":
        if undo is None:
            undo = journal.recorded_undo(MODULE, step=UNDO_STEP)
        if not undo or "before" not in undo or "after" not in undo:
            raise InvalidInput("revert", "DNS records", "no undo data: pass undo (what the cutover returned) or "
                                                        "the ledger of the release that cut over")
        keys = sorted(undo["before"])
        live = dict((k, provider.read(*records.parse_key(k))) for k in keys)
        # What the release left last (a later step of a gradual shift), else what this undo's cutover left.
        left = dict(undo["after"], **(journal.left_by(MODULE) or {}))
        drifted = revert_drift(live, undo["before"], left)
        if drifted and overwrite:
            warnings.append("Overwriting records changed after the cutover: %s" % "; ".join(d["text"] for d in drifted))
        elif drifted:
            # Every record nobody changed is reverted; the changed ones are left and named.
            left_alone = drifted
            keys = [k for k in keys if k not in set(d["key"] for d in drifted)]
            if keep_changed:
                warnings.append("Kept as they are now (changed after the cutover, keep_changed): %s"
                                % "; ".join(d["text"] for d in drifted))
        targets = [{"key": k, "after": undo["before"][k]} for k in keys]
    else:
        if not desired:
            raise InvalidInput("cut over", "DNS records", "records is empty")
        targets = [{"key": records.key(r), "after": r} for r in desired]
        keys = [t["key"] for t in targets]
        live = dict((k, provider.read(*records.parse_key(k))) for k in keys)
        left = journal.left_by(MODULE)
        if left:
            changed_since = dict((k, left[k]) for k in keys if k in left and not records.same(live[k], left[k])
                                 and not records.same(live[k], dict(targets[keys.index(k)]["after"])))
            problems = records.drift(live, changed_since)
            if problems and not overwrite:
                raise PreconditionFailed(
                    "cut over", "DNS records in %s" % provider.describe(),
                    "someone changed them after this release's cutover: %s" % "; ".join(problems),
                    fix="Look at who changed them; re-run with overwrite=true "
                        "(phase 5: -e phase5_golive_dns_overwrite=true) to cut over again")
    warnings.extend(records.long_ttls(t["after"] for t in targets if t["after"]))
    changes = records.plan(live, targets)
    after = dict((t["key"], t["after"]) for t in targets)
    undo_data = {"module": MODULE, "state": "reverted", "provider": provider.name,
                 "zone": provider.zone, "before": live, "after": after}
    result = {"changed": bool(changes), "changes": changes, "undo": undo_data, "provider": provider.name,
              "zone": provider.zone, "warnings": warnings,
              "diff": {"before": _text(live), "after": _text(after), "before_header": provider.describe(),
                       "after_header": provider.describe()}}
    with journal.step({"state": state, "targets": targets}, pending=bool(changes), objects=keys, undo=undo_data,
                      before=live) as outcome:
        outcome.update(changed=result["changed"], after=after, undo=undo_data)
        _apply_and_verify(provider, changes, after, left_alone, lower_ttl, verify_answers, nameservers, dns_port,
                          deadline, check_mode, keep_changed, result, warnings)
    return result


def _apply_and_verify(provider, changes, after, left_alone, lower_ttl, verify_answers, nameservers, dns_port,
                      deadline, check_mode, keep_changed, result, warnings):
    if changes and not check_mode:
        if lower_ttl is not None:
            _lower_ttl_first(provider, changes, int(lower_ttl), deadline, result)
        token = provider.apply(changes)
        result["provider_status"] = provider.wait_applied(token, deadline)
    if verify_answers and not check_mode:
        # A server answers a weighted name with one of its sets, at random: weights are
        # verified where they live, in the provider; plain sets on every server.
        answered = dict((k, v) for k, v in after.items() if not records.weighted(k))
        result["checks"] = _weight_checks(provider, after)
        verified = []
        if answered:
            verified = verify(servers_of(provider, nameservers, dns_port), answered, deadline)
            result["checks"] += _checks(verified, answered)
        result["verified"] = verified
        late = [s for s in verified if not s["matched"]]
        wrong = [c for c in result["checks"] if c["status"] != "pass" and c["id"].startswith("dns.weight.")]
        if wrong:
            raise BackendError("verify", "the weights in %s" % provider.describe(),
                               "; ".join(p for c in wrong for p in c["evidence"]["problems"]), result=result)
        if late:
            raise Timeout("verify", "the DNS change on every authoritative server",
                          "%s still answer%s otherwise: %s" % (
                              ", ".join(s["server"] for s in late), "s" if len(late) == 1 else "",
                              "; ".join("%s %s" % (s["server"], s["answers"]) for s in late)), result=result)
    result["left_alone"] = [dict((k, d[k]) for k in ("key", "now", "left")) for d in left_alone]
    if left_alone and not keep_changed and check_mode:
        warnings.append("A real run would leave, and fail naming them: %s" % "; ".join(d["text"] for d in left_alone))
    elif left_alone and not keep_changed:
        reverted = [k for k in after if k not in set(d["key"] for d in left_alone)]
        raise PreconditionFailed(
            "revert", "every DNS record in %s" % provider.describe(),
            "%sleft %s, which someone changed after the cutover (%s)" % (
                "reverted %s; " % ", ".join(reverted) if reverted else "", ", ".join(d["key"] for d in left_alone),
                "; ".join(d["text"] for d in left_alone)),
            fix="Look at who changed them. To put the recorded records back too, re-run with overwrite=true "
                "(rollback: -e rollback_emergency_dns_overwrite=true); to keep them as they are now, with "
                "keep_changed=true (-e rollback_emergency_dns_keep_changed=true)", result=result)


def _lower_ttl_first(provider, changes, ttl, deadline, result):
    """Lower the TTL of the sets about to change, then wait out their old TTL."""
    lowering = [{"key": c["key"], "before": c["before"], "after": dict(c["before"], ttl=ttl)}
                for c in changes if c["before"] is not None and c["before"]["ttl"] > ttl]
    if not lowering:
        return
    provider.wait_applied(provider.apply(lowering), deadline)
    wait = max(c["before"]["ttl"] for c in lowering)
    if wait > deadline.remaining():
        raise Timeout("wait out", "the old TTL of %s" % ", ".join(c["key"] for c in lowering),
                      "it is %ds and only %ds of the deadline are left" % (wait, deadline.remaining()),
                      fix="Lower the TTL earlier (for example in phase 4) or raise the timeout")
    result["ttl_lowered"] = {"to": ttl, "waited": wait}
    time.sleep(wait)
    for change in changes:
        if change["before"] is not None and change["before"]["ttl"] > ttl:
            change["before"] = dict(change["before"], ttl=ttl)

"""The lab zone's www and app records as the tests that change them share them."""

import dns.message
import dns.query
import dns.tsigkeyring
import dns.update


def answers(lab, name):
    """What each authoritative server of the lab answers for ``name`` A."""
    eps = lab["dns"]
    out = {}
    for ns, where in sorted(eps["nameservers"].items()):
        address, port = where.rsplit(":", 1)
        reply = dns.query.udp(dns.message.make_query("%s.%s" % (name, eps["zone"]), "A"), address,
                              port=int(port), timeout=5)
        out[ns] = sorted(r.to_text() for rrset in reply.answer for r in rrset)
    return out


def by_hand(lab, name, address):
    eps = lab["dns"]
    keyring = dns.tsigkeyring.from_text({eps["tsig_key_name"]: eps["tsig_secret"]})
    update = dns.update.Update(eps["zone"], keyring=keyring, keyalgorithm=eps["tsig_algorithm"])
    update.replace(name, 60, "A", address)
    assert dns.query.tcp(update, eps["server"], port=eps["port"], timeout=10).rcode() == 0


def current(lab, name):
    """The primary's A set of ``name``: (ttl, [values])."""
    eps = lab["dns"]
    reply = dns.query.tcp(dns.message.make_query("%s.%s" % (name, eps["zone"]), "A"), eps["server"],
                          port=eps["port"], timeout=5)
    for rrset in reply.answer:
        return rrset.ttl, sorted(r.to_text() for r in rrset)
    return None


def put_back(lab, name, saved):
    eps = lab["dns"]
    keyring = dns.tsigkeyring.from_text({eps["tsig_key_name"]: eps["tsig_secret"]})
    update = dns.update.Update(eps["zone"], keyring=keyring, keyalgorithm=eps["tsig_algorithm"])
    update.delete(name, "A")
    for value in (saved or (60, []))[1]:
        update.add(name, saved[0], "A", value)
    assert dns.query.tcp(update, eps["server"], port=eps["port"], timeout=10).rcode() == 0

# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""RFC 2136 dynamic updates signed with TSIG, and queries to the same server (dnspython)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii


from ansible_collections.golive.core.plugins.module_utils.common.errors import (
    AuthenticationFailed,
    BackendError,
    ConnectionFailed,
    InvalidInput,
    PermissionDenied,
    describe_exception,
)
from ansible_collections.golive.core.plugins.module_utils.common.options import env_fallback

try:
    import dns.exception
    import dns.message
    import dns.name
    import dns.query
    import dns.rcode
    import dns.rdatatype
    import dns.tsig
    import dns.tsigkeyring
    import dns.update
    HAS_DNSPYTHON = True
    DNSPYTHON_IMPORT_ERROR = None
except ImportError:  # pragma: no cover - reported by the module entry point
    import traceback
    HAS_DNSPYTHON = False
    DNSPYTHON_IMPORT_ERROR = traceback.format_exc()


class Rfc2136Server:
    """One authoritative server that takes signed updates for one zone."""

    def __init__(self, server, zone, port=53, key_name=None, key_secret=None,
                 key_algorithm="hmac-sha256", timeout=5.0):
        self.server = server
        self.port = int(port)
        self.zone = dns.name.from_text(zone)
        self.timeout = float(timeout)
        self.keyring = None
        self.key_name = None
        self.key_algorithm = key_algorithm
        if key_name and key_secret:
            try:
                base64.b64decode(key_secret, validate=True)
            except (binascii.Error, ValueError):
                raise InvalidInput("use", "tsig_key_secret", "it is not base64 (a TSIG secret is the base64 text "
                                                             "of the key, as in the server's key file)")
            try:
                self.key_name = dns.name.from_text(key_name)
                self.keyring = dns.tsigkeyring.from_text({key_name: (key_algorithm, key_secret)})
            except (dns.exception.DNSException, ValueError) as exc:
                raise InvalidInput("use", "the TSIG key %s (%s)" % (key_name, key_algorithm), describe_exception(exc))

    def describe(self):
        return "zone %s on %s:%d" % (self.zone.to_text(), self.server, self.port)

    def _send(self, message, verb):
        try:
            return dns.query.tcp(message, self.server, port=self.port, timeout=self.timeout)
        except (dns.exception.Timeout, OSError) as exc:
            raise ConnectionFailed(verb, self.describe(), describe_exception(exc),
                                   fix="Check the DNS server address and port")
        except dns.tsig.PeerError as exc:
            raise AuthenticationFailed(verb, self.describe(), describe_exception(exc),
                                       fix="Check the TSIG key name, secret and algorithm")
        except dns.exception.DNSException as exc:
            raise BackendError(verb, self.describe(), describe_exception(exc))

    def rrset(self, name, rdtype):
        """Ask the server itself (not a resolver) for ``name``/``rdtype``: ``(ttl, sorted
        texts)``, or ``None`` when it has no such record set."""
        qname = dns.name.from_text(name, origin=self.zone)
        request = dns.message.make_query(qname, dns.rdatatype.from_text(rdtype))
        response = self._send(request, "query")
        rcode = response.rcode()
        if rcode == dns.rcode.NXDOMAIN:
            return None
        if rcode == dns.rcode.REFUSED:
            raise PermissionDenied("query", "%s %s in %s" % (qname, rdtype, self.describe()),
                                   "REFUSED: the server does not serve this zone, or refuses queries from here",
                                   fix="Check dns_zone and dns_server")
        if rcode != dns.rcode.NOERROR:
            raise BackendError("query", "%s %s in %s" % (qname, rdtype, self.describe()),
                               dns.rcode.to_text(rcode))
        for rrset in response.answer:
            if rrset.rdtype == dns.rdatatype.from_text(rdtype) and rrset.name == qname:
                return int(rrset.ttl), sorted(rdata.to_text() for rdata in rrset)
        return None

    def query(self, name, rdtype):
        """The values of ``name``/``rdtype`` as the server answers them (``[]`` when none)."""
        found = self.rrset(name, rdtype)
        return found[1] if found else []

    def soa_serial(self):
        answer = self.query(self.zone.to_text(), "SOA")
        if not answer:
            return None
        return int(answer[0].split()[2])

    def replace(self, name, rdtype, ttl, values):
        """Atomically replace the record set ``name``/``rdtype`` with ``values``."""
        self.replace_sets([(name, rdtype, ttl, values)])

    def replace_sets(self, sets):
        """Replace several record sets in one signed UPDATE: all of them change, or none.

        ``sets`` is ``[(name, rdtype, ttl, values)]``; empty ``values`` deletes the set.
        """
        update = dns.update.UpdateMessage(self.zone, keyring=self.keyring, keyname=self.key_name,
                                          keyalgorithm=self.key_algorithm)
        for name, rdtype, ttl, values in sets:
            update.delete(dns.name.from_text(name, origin=self.zone), rdtype)
            for value in values:
                update.add(dns.name.from_text(name, origin=self.zone), int(ttl), rdtype, value)
        self._check_update(self._send(update, "update"), ", ".join(n for n, _t, _l, _v in sets),
                           "/".join(sorted(set(t for _n, t, _l, _v in sets))))

    def delete(self, name, rdtype):
        update = dns.update.UpdateMessage(self.zone, keyring=self.keyring, keyname=self.key_name,
                                          keyalgorithm=self.key_algorithm)
        update.delete(dns.name.from_text(name, origin=self.zone), rdtype)
        self._check_update(self._send(update, "update"), name, rdtype)

    def _check_update(self, response, name, rdtype):
        rcode = response.rcode()
        if rcode == dns.rcode.NOERROR:
            return
        obj = "record %s %s in %s" % (name, rdtype, self.describe())
        text = dns.rcode.to_text(rcode)
        if rcode in (dns.rcode.REFUSED, dns.rcode.NOTAUTH):
            raise PermissionDenied("update", obj, text,
                                   fix="Check that the server allows updates signed with this TSIG key")
        raise BackendError("update", obj, text)


def argument_spec():
    """Options shared by every RFC 2136 module (see doc fragment ``dns``)."""
    return dict(
        dns_server=dict(type="str"),
        dns_port=dict(type="int", default=53),
        dns_zone=dict(type="str"),
        tsig_key_name=dict(type="str"),
        tsig_key_secret=dict(type="str", no_log=True, fallback=(env_fallback, ["GOLIVE_TSIG_SECRET"])),
        tsig_key_algorithm=dict(type="str", default="hmac-sha256",
                                choices=["hmac-md5", "hmac-sha1", "hmac-sha224", "hmac-sha256",
                                         "hmac-sha384", "hmac-sha512"]),
    )


def server_from_params(params, timeout=5.0):
    return Rfc2136Server(
        params["dns_server"], params["dns_zone"], port=params.get("dns_port") or 53,
        key_name=params.get("tsig_key_name"), key_secret=params.get("tsig_key_secret"),
        key_algorithm=params.get("tsig_key_algorithm") or "hmac-sha256", timeout=timeout)

# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""TLS of public hosts: the served chain verifies, its names cover the host, enough days
are left, it is the certificate of the Ingress's TLS Secret, and the endpoint refuses
TLS 1.0, TLS 1.1 and weak cipher suites.

gather (connect with SNI, once verifying and, when that fails, once to read what is
served; read the Secret) -> evaluate (pure, ``now`` passed in, table-tested). Evidence
names certificates by their SHA-256 fingerprint; a key is never read.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import math
import socket
import ssl

from ansible_collections.golive.core.plugins.module_utils.common.checks import make_check
from ansible_collections.golive.core.plugins.module_utils.common.clock import UTC, format_time
from ansible_collections.golive.core.plugins.module_utils.common.errors import InvalidInput, describe_exception

try:
    from cryptography import x509
    from cryptography.x509.oid import NameOID
    CRYPTOGRAPHY_IMPORT_ERROR = None
except ImportError:  # pragma: no cover - reported by the module entry point
    import traceback
    CRYPTOGRAPHY_IMPORT_ERROR = traceback.format_exc()

CHECKLIST = "SSL certificates valid"
CHECKLIST_HTTPS = "HTTPS Testing - SSL/TLS configuration tested"

# Protocol versions below TLS 1.2 an endpoint must refuse.
OLD_PROTOCOLS = (("TLSv1", "TLSv1"), ("TLSv1.1", "TLSv1_1"))
# Suites an endpoint should not accept, each with why: static RSA key exchange (no forward
# secrecy), SHA-1 MACs in CBC mode (RSA or ECDSA certificates), 3DES and RC4. Probed one at
# a time under TLS 1.2.
WEAK_CIPHERS = (
    ("AES128-SHA", "no forward secrecy, SHA-1 CBC"), ("AES256-SHA", "no forward secrecy, SHA-1 CBC"),
    ("AES128-SHA256", "no forward secrecy"), ("AES256-SHA256", "no forward secrecy"),
    ("AES128-GCM-SHA256", "no forward secrecy"), ("AES256-GCM-SHA384", "no forward secrecy"),
    ("ECDHE-RSA-AES128-SHA", "SHA-1 CBC"), ("ECDHE-RSA-AES256-SHA", "SHA-1 CBC"),
    ("ECDHE-ECDSA-AES128-SHA", "SHA-1 CBC"), ("ECDHE-ECDSA-AES256-SHA", "SHA-1 CBC"),
    ("DES-CBC3-SHA", "3DES"), ("RC4-SHA", "RC4"),
)


def describe_der(der):
    """What a certificate says, as evidence (no key material)."""
    cert = x509.load_der_x509_certificate(der)
    try:
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
            x509.DNSName)
    except x509.ExtensionNotFound:
        sans = []
    common = [a.value for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    not_after = getattr(cert, "not_valid_after_utc", None) or cert.not_valid_after.replace(tzinfo=UTC)
    not_before = getattr(cert, "not_valid_before_utc", None) or cert.not_valid_before.replace(tzinfo=UTC)
    return {"subject": cert.subject.rfc4514_string(), "issuer": cert.issuer.rfc4514_string(),
            "common_name": common[0] if common else None, "sans": list(sans), "not_before": not_before,
            "not_after": not_after, "serial": format(cert.serial_number, "x"),
            "fingerprint_sha256": hashlib.sha256(der).hexdigest()}


def name_matches(host, pattern):
    """RFC 6125 matching: exact, or a wildcard for exactly one left-most label."""
    host, pattern = host.lower().rstrip("."), pattern.lower().rstrip(".")
    if pattern.startswith("*."):
        return "." in host and host.split(".", 1)[1] == pattern[2:]
    return host == pattern


def first_pem_der(pem_text):
    """DER of the first certificate in a PEM bundle (the leaf, by convention)."""
    marker = "-----BEGIN CERTIFICATE-----"
    start = pem_text.find(marker)
    if start < 0:
        return None
    end = pem_text.find("-----END CERTIFICATE-----", start)
    return ssl.PEM_cert_to_DER_cert(pem_text[start:end + len("-----END CERTIFICATE-----")])


# -- gathering -------------------------------------------------------------------------------

def fetch(host, address, port, ca_file=None, timeout=10.0):
    """``{verified, verify_error, der}`` of what ``address:port`` serves for SNI ``host``."""
    observed = {"verified": False, "verify_error": None, "der": None, "error": None}
    try:
        context = ssl.create_default_context(cafile=ca_file)
    except (OSError, ssl.SSLError) as exc:
        raise InvalidInput("load", "the CA bundle %s" % ca_file, describe_exception(exc))
    try:
        with socket.create_connection((address, port), timeout) as sock:
            with context.wrap_socket(sock, server_hostname=host) as tls:
                observed["der"] = tls.getpeercert(binary_form=True)
                observed["verified"] = True
                return observed
    except ssl.SSLCertVerificationError as exc:
        observed["verify_error"] = exc.verify_message or describe_exception(exc)
    except (OSError, ssl.SSLError) as exc:
        observed["error"] = describe_exception(exc)
        return observed
    # Not trusted: read what is served anyway, so the evidence says what it is.
    loose = ssl.create_default_context()
    loose.check_hostname = False
    loose.verify_mode = ssl.CERT_NONE
    try:
        with socket.create_connection((address, port), timeout) as sock:
            with loose.wrap_socket(sock, server_hostname=host) as tls:
                observed["der"] = tls.getpeercert(binary_form=True)
    except (OSError, ssl.SSLError) as exc:
        observed["error"] = describe_exception(exc)
    return observed


def _handshake(host, address, port, timeout, version=None, ciphers=None):
    """Whether a handshake succeeds when the client offers only ``version`` or only the
    suite ``ciphers`` (no verification: what the endpoint accepts is the question);
    ``None`` when this machine's OpenSSL cannot offer it."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        context.set_ciphers((ciphers or "ALL") + ":@SECLEVEL=0")
        if version is not None:
            value = getattr(ssl.TLSVersion, version)
            context.minimum_version = context.maximum_version = value
        else:
            context.maximum_version = ssl.TLSVersion.TLSv1_2
    except (ssl.SSLError, ValueError, AttributeError):
        return None
    try:
        with socket.create_connection((address, port), timeout) as sock:
            with context.wrap_socket(sock, server_hostname=host):
                return True
    except ssl.SSLError as exc:
        if "no ciphers available" in str(exc).lower() or "no protocols available" in str(exc).lower():
            return None
        return False
    except OSError:
        return False


def legacy(host, address, port, timeout=10.0):
    """``{"protocols": [accepted old versions], "weak_ciphers": [[suite, why]]}`` of an endpoint."""
    protocols = [name for name, attr in OLD_PROTOCOLS if _handshake(host, address, port, timeout, version=attr)]
    weak = [[suite, why] for suite, why in WEAK_CIPHERS if _handshake(host, address, port, timeout, ciphers=suite)]
    return {"protocols": protocols, "weak_ciphers": weak}


def secret_fingerprint(ref, read_secret):
    """``(sha256, problem)`` of the certificate in Secret ``ref``'s ``tls.crt``;
    ``read_secret(ref)`` answers ``(pem_text, problem)`` (``k8s.ingress.tls_secret``)."""
    pem, problem = read_secret(ref)
    if problem:
        return None, problem
    try:
        der = first_pem_der(pem)
    except (ValueError, TypeError) as exc:
        return None, "Secret %s: tls.crt is not PEM (%s)" % (ref, describe_exception(exc))
    if der is None:
        return None, "Secret %s: tls.crt holds no certificate" % ref
    return hashlib.sha256(der).hexdigest(), None


# -- evaluating (pure) --------------------------------------------------------------------------

def evaluate(target, observed, now, min_days, secret=None, checklist=CHECKLIST):
    """One check for one host from what was observed; ``secret`` is ``(fingerprint, problem)``."""
    host = target["host"]
    evidence = {"host": host, "address": target.get("address"), "port": target.get("port"),
                "min_days": min_days, "verified": observed.get("verified")}
    if target.get("ingress"):
        evidence["ingress"] = target["ingress"]
    problems = []
    if observed.get("error") and not observed.get("der"):
        evidence["error"] = observed["error"]
        evidence["problems"] = ["no TLS connection to %s:%s: %s" % (
            target.get("address"), target.get("port"), observed["error"])]
        return make_check(_check_id(host), "TLS of %s" % host, "fail", evidence, checklist)
    cert = observed.get("cert") or {}
    if cert:
        days_left = (cert["not_after"] - now).total_seconds() / 86400.0
        evidence.update({"subject": cert["subject"], "issuer": cert["issuer"], "sans": cert["sans"],
                         "not_after": format_time(cert["not_after"]), "days_left": int(math.floor(days_left)),
                         "fingerprint_sha256": cert["fingerprint_sha256"]})
        names = cert["sans"] or ([cert["common_name"]] if cert.get("common_name") else [])
        covers = any(name_matches(host, n) for n in names)
        evidence["names_cover_host"] = covers
        if not covers:
            problems.append("its names (%s) do not cover %s" % (", ".join(names) or "none", host))
        if days_left < min_days:
            problems.append("%d days left, fewer than the %d required" % (evidence["days_left"], min_days))
        if cert["not_before"] > now:
            problems.append("not valid before %s" % format_time(cert["not_before"]))
    if not observed.get("verified"):
        evidence["verify_error"] = observed.get("verify_error")
        problems.append("the chain does not verify (%s)" % observed.get("verify_error"))
    old = observed.get("legacy")
    if old is not None:
        evidence["old_protocols_accepted"] = old["protocols"]
        evidence["weak_ciphers_accepted"] = [suite for suite, _why in old["weak_ciphers"]]
        if old["protocols"]:
            problems.append("it accepts %s (TLS 1.2 is the oldest to accept)" % " and ".join(old["protocols"]))
        if old["weak_ciphers"]:
            problems.append("it accepts weak cipher suites: %s" % ", ".join(
                "%s (%s)" % (suite, why) for suite, why in old["weak_ciphers"]))
    if target.get("secret"):
        evidence["secret"] = target["secret"]
        fingerprint, problem = secret or (None, "not read")
        evidence["secret_fingerprint_sha256"] = fingerprint
        evidence["secret_matches"] = bool(fingerprint) and fingerprint == cert.get("fingerprint_sha256")
        if problem:
            problems.append(problem)
        elif not evidence["secret_matches"]:
            problems.append("the served certificate is not the one in Secret %s" % target["secret"])
    if problems:
        evidence["problems"] = problems
    if old is not None:  # the protocol and cipher audit is evidence for the HTTPS testing item too
        checklist = ([checklist] if isinstance(checklist, str) else list(checklist or [])) + [CHECKLIST_HTTPS]
    return make_check(_check_id(host), "TLS of %s" % host, "fail" if problems else "pass", evidence, checklist)


def _check_id(host):
    return "tls." + host.lower().rstrip(".")


def run(targets, now, min_days=14, ca_file=None, read_secret=None, resolve=None, timeout=10.0, checklist=CHECKLIST,
        resolver=None, refuse_legacy=True):
    """Check every target; ``resolver`` (``transport.Resolver``) finds addresses the targets lack,
    ``read_secret`` reads a target's Secret (``k8s.ingress.tls_secret`` bound to a connection)."""
    if not targets:
        raise InvalidInput("check", "TLS", "there is nothing to check: no hosts, and no Ingress with TLS in the "
                                           "namespaces given",
                           fix="Give hosts, or ingress_namespaces whose Ingresses serve TLS; a check of nothing "
                               "would pass having checked nothing")
    for target in targets:
        if target.get("secret") and "/" not in str(target["secret"]):
            raise InvalidInput("use", "secret %r of host %s" % (target["secret"], target.get("host")),
                               "a Secret is named namespace/name", fix="Write it as <namespace>/%s" % target["secret"])
    checks = []
    for target in targets:
        target = dict(target)
        target["address"] = (resolve or {}).get(target["host"]) or target.get("address") or \
            (resolver.address(target["host"]) if resolver is not None else None) or target.pop("lb_address", None) \
            or target["host"]
        target.pop("lb_address", None)
        observed = fetch(target["host"], target["address"], int(target.get("port") or 443), ca_file, timeout)
        if observed.get("der"):
            observed["cert"] = describe_der(observed["der"])
            if refuse_legacy:
                observed["legacy"] = legacy(target["host"], target["address"], int(target.get("port") or 443),
                                            timeout)
        secret = None
        if target.get("secret"):
            if read_secret is None:
                raise InvalidInput("check", "TLS of %s" % target["host"],
                                   "comparing with Secret %s needs the Kubernetes connection options" % target["secret"])
            secret = secret_fingerprint(target["secret"], read_secret)
        checks.append(evaluate(target, observed, now, min_days, secret, checklist))
    return {"checks": checks, "hosts": [c["evidence"] for c in checks]}

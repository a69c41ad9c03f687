"""Security headers and TLS protocols checked on a pager of the test's own behind the lab's
router, over HTTPS with a certificate cert-manager issued: every check passes as the router
and the application serve by default (ingress-nginx's HSTS, the application's nosniff and
CSP, TLS 1.2+ with strong suites), and each fails alone, named: HSTS turned off on the
Ingress, and an endpoint of an old load balancer profile that still accepts TLS 1.0, TLS 1.1
and weak suites (a TLS server of the test's own with a certificate of the lab CA: the
router chooses a host's certificate by SNI, after the protocol bounds are set)."""

import json
import socket
import ssl
import threading
from pathlib import Path

import pytest

from lab.k8s.pki import CA

from helpers import kubectl, request, run_module, wait

HEADERS = ["hsts", "content_type_options", "csp"]


@pytest.fixture
def tls_pager(lab, own_pager, tmp_path):
    """``own_pager`` served over HTTPS: a Certificate from the lab's ClusterIssuer and the
    Ingress's TLS section naming its Secret."""
    ns, host = own_pager["namespace"], own_pager["host"]
    cert = {"apiVersion": "cert-manager.io/v1", "kind": "Certificate", "metadata": {"name": "pager-tls", "namespace": ns},
            "spec": {"secretName": "pager-tls", "dnsNames": [host],
                     "issuerRef": {"name": "lab-ca", "kind": "ClusterIssuer", "group": "cert-manager.io"}}}
    path = tmp_path / "cert.json"
    path.write_text(json.dumps(cert))
    kubectl(lab, "-n", ns, "apply", "-f", str(path))
    wait(lambda: kubectl(lab, "-n", ns, "get", "secret", "pager-tls", check=False).returncode == 0, timeout=30,
         what="the certificate's Secret")
    kubectl(lab, "-n", ns, "patch", "ingress", "pager", "--type", "merge", "-p",
            json.dumps({"spec": {"tls": [{"hosts": [host], "secretName": "pager-tls"}]}}))
    def served():  # until the router has the Secret, it serves its default certificate, which does not verify
        try:
            return request(own_pager, host=host)[0] == 200
        except (ssl.SSLError, OSError):
            return False
    wait(served, timeout=30, what="the router to serve the host over TLS")
    return own_pager


def annotate(lab, app, key, value):
    kubectl(lab, "-n", app["namespace"], "annotate", "--overwrite", "ingress", "pager", "%s=%s" % (key, value))


def headers_check(lab, app):
    return run_module("http_check", {
        "requests": [{"name": "version", "url": "https://%s:%s/version" % (app["host"], app["https_port"]),
                      "security_headers": HEADERS}],
        "resolve": {app["host"]: app["sites"]["old"]}, "ca_cert": app["ca_file"], "count": 1})


def tls_check(app):
    return run_module("tls_check", {"hosts": [{"host": app["host"], "address": app["sites"]["old"],
                                               "port": app["https_port"]}], "tls_ca_cert": app["ca_file"]})


def test_security_headers_pass_as_served_and_a_missing_hsts_is_named(lab, tls_pager):
    rc, result, out = headers_check(lab, tls_pager)
    assert rc == 0, out[-2000:]
    annotate(lab, tls_pager, "lab.golive.io/hsts", "false")
    wait(lambda: "strict-transport-security" not in dict(
        (k.lower(), v) for k, v in request(tls_pager, host=tls_pager["host"])[1].items()), timeout=30,
        what="the router to drop HSTS")
    rc, result, _ = headers_check(lab, tls_pager)
    assert rc != 0 and "no Strict-Transport-Security header" in result["msg"]
    assert "X-Content-Type-Options" not in result["msg"] and "Content-Security-Policy" not in result["msg"]


def test_the_router_refuses_old_protocols_and_weak_suites(lab, tls_pager):
    rc, result, out = tls_check(tls_pager)
    assert rc == 0, out[-2000:]
    evidence = result["checks"][0]["evidence"]
    assert evidence["old_protocols_accepted"] == [] and evidence["weak_ciphers_accepted"] == []
    assert "HTTPS Testing - SSL/TLS configuration tested" in result["checks"][0]["checklist"]


@pytest.fixture
def legacy_endpoint(lab, tmp_path):
    """A TLS endpoint as an old load balancer profile serves it: TLS 1.0 up, every suite."""
    host = "legacy.lab.example"
    cert, key = CA.load_or_create(Path(lab["k8s"]["ca_file"]).parent).issue(host, [host], ["127.0.0.1"])
    (tmp_path / "c.pem").write_bytes(cert)
    (tmp_path / "k.pem").write_bytes(key)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(tmp_path / "c.pem"), str(tmp_path / "k.pem"))
    context.set_ciphers("ALL:@SECLEVEL=0")
    context.minimum_version = ssl.TLSVersion.TLSv1
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            try:
                with context.wrap_socket(conn, server_side=True):
                    pass
            except (OSError, ssl.SSLError):
                conn.close()

    threading.Thread(target=serve, daemon=True).start()
    yield {"host": host, "address": "127.0.0.1", "port": listener.getsockname()[1]}
    stop.set()
    listener.close()


def test_tls_1_0_and_weak_suites_are_named_when_an_endpoint_accepts_them(lab, legacy_endpoint):
    rc, result, _ = run_module("tls_check", {"hosts": [legacy_endpoint], "tls_ca_cert": lab["k8s"]["ca_file"]})
    assert rc != 0
    assert "it accepts TLSv1 and TLSv1.1" in result["msg"]
    # The lab CA issues ECDSA keys: the weak suites such a certificate allows are SHA-1 CBC ones.
    assert "ECDHE-ECDSA-AES128-SHA (SHA-1 CBC)" in result["msg"]
    # Nothing else about the certificate is wrong.
    evidence = result["checks"][0]["evidence"]
    assert evidence["verified"] is True and evidence["names_cover_host"] is True
    rc, result, _ = run_module("tls_check", {"hosts": [legacy_endpoint], "tls_ca_cert": lab["k8s"]["ca_file"],
                                             "refuse_legacy": False})
    assert rc == 0

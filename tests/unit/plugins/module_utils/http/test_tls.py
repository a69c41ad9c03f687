"""tls_check's evaluation, as a table over what was observed."""

import datetime

import pytest

from ansible_collections.golive.core.plugins.module_utils.common.clock import UTC
from ansible_collections.golive.core.plugins.module_utils.http import tls

NOW = datetime.datetime(2026, 11, 29, tzinfo=UTC)


def observed(days=90, sans=("app.example.com",), verified=True, fingerprint="f1"):
    return {"verified": verified, "verify_error": None if verified else "unable to get local issuer certificate",
            "cert": {"subject": "CN=app", "issuer": "CN=ca", "common_name": "app", "sans": list(sans),
                     "not_before": NOW - datetime.timedelta(days=1),
                     "not_after": NOW + datetime.timedelta(days=days), "fingerprint_sha256": fingerprint}}


@pytest.mark.parametrize("host,pattern,ok", [
    ("app.example.com", "app.example.com", True), ("APP.example.com.", "app.example.com", True),
    ("a.example.com", "*.example.com", True), ("a.b.example.com", "*.example.com", False),
    ("example.com", "*.example.com", False),
])
def test_name_matches(host, pattern, ok):
    assert tls.name_matches(host, pattern) is ok


@pytest.mark.parametrize("obs,target,secret,status,problem", [
    (observed(), {}, None, "pass", None),
    (observed(days=10), {}, None, "fail", "10 days left, fewer than the 14 required"),
    (observed(days=-3), {}, None, "fail", "-3 days left"),
    (observed(sans=("www.example.com",)), {}, None, "fail", "do not cover app.example.com"),
    (observed(verified=False), {}, None, "fail", "does not verify"),
    (observed(), {"secret": "shop/web-tls"}, ("f1", None), "pass", None),
    (observed(), {"secret": "shop/web-tls"}, ("f2", None), "fail", "not the one in Secret shop/web-tls"),
    (observed(), {"secret": "shop/web-tls"}, (None, "Secret shop/web-tls does not exist"), "fail", "does not exist"),
])
def test_evaluate(obs, target, secret, status, problem):
    check = tls.evaluate(dict({"host": "app.example.com", "address": "1.2.3.4", "port": 443}, **target), obs, NOW,
                         14, secret)
    assert check["status"] == status and check["id"] == "tls.app.example.com"
    if problem:
        assert any(problem in p for p in check["evidence"]["problems"]), check["evidence"]


def test_a_connection_error_fails_with_the_error():
    check = tls.evaluate({"host": "h", "address": "1.2.3.4", "port": 443}, {"error": "refused", "der": None}, NOW, 14)
    assert check["status"] == "fail" and check["evidence"]["error"] == "refused"


def test_old_protocols_and_weak_suites_are_named_and_quote_the_https_item():
    obs = dict(observed(), legacy={"protocols": ["TLSv1", "TLSv1.1"],
                                   "weak_ciphers": [["AES128-SHA", "no forward secrecy, SHA-1 CBC"]]})
    check = tls.evaluate({"host": "app.example.com", "address": "1.2.3.4", "port": 443}, obs, NOW, 14)
    assert check["status"] == "fail"
    assert check["evidence"]["problems"] == [
        "it accepts TLSv1 and TLSv1.1 (TLS 1.2 is the oldest to accept)",
        "it accepts weak cipher suites: AES128-SHA (no forward secrecy, SHA-1 CBC)"]
    assert check["checklist"] == [tls.CHECKLIST, tls.CHECKLIST_HTTPS]
    clean = tls.evaluate({"host": "app.example.com"}, dict(observed(), legacy={"protocols": [], "weak_ciphers": []}),
                         NOW, 14)
    assert clean["status"] == "pass" and clean["evidence"]["old_protocols_accepted"] == []

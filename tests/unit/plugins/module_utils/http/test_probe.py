"""http_check's pure parts: statistics, placeholders, masking and judging an answer."""

import json

import pytest

from ansible_collections.golive.core.plugins.module_utils.common.errors import InvalidInput
from ansible_collections.golive.core.plugins.module_utils.http import probe


@pytest.mark.parametrize("values,q,expected", [
    ([], 50, None), ([5], 99, 5), ([1, 2, 3, 4], 50, 2), (list(range(1, 101)), 95, 95), (list(range(1, 101)), 99, 99),
])
def test_percentile(values, q, expected):
    assert probe.percentile(values, q) == expected


def test_statistics():
    stats = probe.statistics([30.0, 10.0, 20.0], errors=1, total=4)
    assert stats["error_ratio"] == 0.25 and stats["latency_ms"]["avg"] == 20.0 and stats["latency_ms"]["max"] == 30.0
    assert probe.statistics([], 2, 2)["latency_ms"] is None


def test_substitute_and_unknown_names():
    expected = {"h": "Bearer x", "l": ["x"], "n": 1}
    assert probe.substitute({"h": "Bearer ${t}", "l": ["${t}"], "n": 1}, {"t": "x"}) == expected
    with pytest.raises(KeyError):
        probe.substitute("${missing}", {})


def test_bodies_are_masked_and_truncated():
    body = json.dumps({"token": "abc", "user": {"password": "p", "name": "n"}, "note": "the secret s3cr3t"}).encode()
    sample = probe.body_sample(body, ["s3cr3t"])
    assert "abc" not in sample and '"p"' not in sample and "s3cr3t" not in sample and '"n"' in sample
    assert probe.body_sample(b"x" * 1000, []).endswith("...(truncated)")


@pytest.mark.parametrize("spec,status,body,ok,reason", [
    ({"status": [200]}, 503, b"", False, "status 503, expected 200"),
    ({"status": [200], "assertions": ["version == '2'"]}, 200, b'{"version": "2"}', True, None),
    ({"status": [200], "assertions": ["version == '2'"]}, 200, b'{"version": "1"}', False, 'is false (version is "1")'),
    ({"status": [200], "assertions": ["a"]}, 200, b"<html>", False, "not JSON"),
    ({"status": [200], "body_regex": "ok$"}, 200, b"all ok", True, None),
    ({"status": [200], "body_regex": "^ok"}, 200, b"not ok", False, "does not match"),
])
def test_judge(spec, status, body, ok, reason):
    result = probe.judge(spec, status, body)
    assert result[0] is ok and (reason is None or reason in result[1])


def test_a_broken_assertion_is_invalid_input():
    with pytest.raises(InvalidInput):
        probe.judge({"status": [200], "assertions": ["a =="]}, 200, b"{}")


def test_a_request_needing_a_value_nobody_saved_fails_without_sending():
    result = probe.run([{"name": "x", "url": "http://127.0.0.1:9/${token}", "method": "GET"}], count=3)
    assert result["endpoints"][0]["errors"] == 3
    assert "no earlier request saved" in result["endpoints"][0]["failures"][0]["reason"]
    assert result["checks"][0]["status"] == "fail"


def test_security_headers_are_named_when_missing_or_too_short():
    from ansible_collections.golive.core.plugins.module_utils.http.probe import security_header_problems
    wanted = ["hsts", "content_type_options", "csp"]
    good = {"strict-transport-security": "max-age=15724800; includeSubDomains", "x-content-type-options": "nosniff",
            "content-security-policy": "default-src 'none'"}
    assert security_header_problems(wanted, good) == []
    assert security_header_problems(wanted, {}) == ["no Strict-Transport-Security header",
                                                    "no X-Content-Type-Options: nosniff",
                                                    "no Content-Security-Policy header"]
    short = dict(good, **{"strict-transport-security": "max-age=300"})
    assert security_header_problems(["hsts"], short) == [
        "Strict-Transport-Security 'max-age=300' holds for less than 15552000 s"]

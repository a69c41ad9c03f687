import pytest

from ansible_collections.golive.core.plugins.module_utils.common import checks
from ansible_collections.golive.core.plugins.module_utils.common.module import finish_checks, require_options
from ansible_collections.golive.core.plugins.module_utils.common.errors import InvalidInput


@pytest.mark.parametrize("ok,warn_only,status", [
    (True, False, "pass"), (False, False, "fail"), (False, True, "warn"), (None, False, "skip"),
])
def test_status_follows_outcome(ok, warn_only, status):
    record = checks.check("pg.version", "Version", ok, {"v": "15"}, "PostgreSQL deployed and healthy", warn_only)
    assert record == {"id": "pg.version", "title": "Version", "status": status, "evidence": {"v": "15"},
                      "checklist": "PostgreSQL deployed and healthy"}


@pytest.mark.parametrize("bad", [{"check_id": "Bad Id"}, {"status": "ok"}])
def test_shape_is_validated(bad):
    args = {"check_id": "a.b", "title": "t", "status": "pass"}
    args.update(bad)
    with pytest.raises(ValueError):
        checks.make_check(**args)


def test_summary_and_failure_message():
    items = [checks.check("a", "A", True), checks.check("b", "B", False), checks.check("c", "C", None)]
    assert checks.summarize(items) == {"pass": 1, "fail": 1, "warn": 0, "skip": 1, "total": 3}
    assert checks.failure_message(items) == "1 of 3 checks failed: b (B)"
    assert checks.failure_message(items[:1]) is None


def test_finish_checks_fails_only_when_asked():
    failing = {"checks": [checks.check("b", "B", False)]}
    assert finish_checks(dict(failing))["failed"] is True
    soft = finish_checks(dict(failing), fail_on_failed=False)
    assert "failed" not in soft and soft["msg"].startswith("1 of 1")


def test_redact_walks_nested_values():
    value = {"dsn": "user:s3cret@db", "list": ["s3cret", 1], "n": 5}
    assert checks.redact(value, ["s3cret", "", None]) == {"dsn": "user:********@db", "list": ["********", 1], "n": 5}


def test_require_options_names_every_missing_option():
    with pytest.raises(InvalidInput) as info:
        require_options({"systems": ["s3", "dns"], "bucket": None, "dns_server": "ns1", "dns_zone": ""},
                        {"s3": ["bucket"], "dns": ["dns_server", "dns_zone"]}, "systems")
    assert "bucket (needed by s3)" in info.value.message and "dns_zone (needed by dns)" in info.value.message

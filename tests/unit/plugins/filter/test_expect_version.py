"""The validation request that must see a version (pure)."""

import jmespath
import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.golive.core.plugins.filter.expect_version import expect_version

REQUESTS = [{"name": "home", "url": "https://a/"},
            {"name": "version", "url": "https://a/version", "assertions": ["app == 'pager'"]}]


def test_the_named_request_asserts_the_version_and_nothing_else_changes():
    out = expect_version(REQUESTS, "version", "version", "2026.11.2")
    assert out[0] == REQUESTS[0] and REQUESTS[1]["assertions"] == ["app == 'pager'"]  # input untouched
    assert out[1]["assertions"] == ["app == 'pager'", "version == '2026.11.2'"]
    check = out[1]["assertions"][1]
    assert jmespath.search(check, {"version": "2026.11.2"}) is True
    assert jmespath.search(check, {"version": "2026.11.3"}) is False


def test_no_version_adds_nothing():
    assert expect_version(REQUESTS, "version", "version", "") == REQUESTS


@pytest.mark.parametrize("name,version", [("nope", "1.0"), ("version", "1.0' || `true` || '")])
def test_a_missing_request_or_a_quote_is_an_error(name, version):
    with pytest.raises(AnsibleFilterError):
        expect_version(REQUESTS, name, "version", version)

"""Which records a DNS revert leaves alone (someone changed them after the release's last
DNS step) and which it puts back, as a table."""

import pytest

from ansible_collections.golive.core.plugins.module_utils.dns.cutover import revert_drift

OLD, NEW, HAND = {"ttl": 60, "values": ["127.0.0.2"]}, {"ttl": 60, "values": ["127.0.0.3"]}, \
    {"ttl": 60, "values": ["127.0.0.9"]}
APP, WWW = "app.lab.example. A", "www.lab.example. A"


@pytest.mark.parametrize("live,expected", [
    ({APP: NEW, WWW: NEW}, []),                      # as the release left them: both reverted
    ({APP: OLD, WWW: NEW}, []),                      # app already back (a revert half done): nothing drifted
    ({APP: HAND, WWW: NEW}, [APP]),                  # app changed by hand: left alone, www reverted
    ({APP: None, WWW: NEW}, [APP]),                  # app deleted by hand
    ({APP: HAND, WWW: HAND}, [APP, WWW]),
    ({APP: dict(NEW, ttl=300), WWW: NEW}, [APP]),    # only its TTL changed: still someone's change
])
def test_revert_drift(live, expected):
    drifted = revert_drift(live, {APP: OLD, WWW: OLD}, {APP: NEW, WWW: NEW})
    assert [d["key"] for d in drifted] == expected
    for d in drifted:
        assert d["text"].startswith(d["key"]) and "the release left 127.0.0.3" in d["text"]


def test_a_record_the_release_did_not_leave_is_not_judged():
    assert revert_drift({APP: HAND}, {APP: OLD}, {}) == []

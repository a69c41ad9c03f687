"""The record-set model: names, values, the plan and drift, as tables."""

import pytest

from ansible_collections.golive.core.plugins.module_utils.common.errors import InvalidInput
from ansible_collections.golive.core.plugins.module_utils.dns import records

ZONE = "example.com."


@pytest.mark.parametrize("name,full", [
    ("www", "www.example.com."), ("WWW.example.com", "www.example.com."), ("www.example.com.", "www.example.com."),
    ("@", "example.com."), ("a.b", "a.b.example.com."),
])
def test_fqdn(name, full):
    assert records.fqdn(name, ZONE) == full


def test_a_name_outside_the_zone_is_refused():
    with pytest.raises(InvalidInput):
        records.fqdn("www.other.org.", ZONE)


def test_record_set_normalises_and_validates():
    rset = records.record_set("www", "a", 60, ["192.0.2.2", "192.0.2.1", "192.0.2.1"], ZONE)
    assert rset == {"name": "www.example.com.", "type": "A", "ttl": 60, "values": ["192.0.2.1", "192.0.2.2"]}
    assert records.record_set("api", "CNAME", 60, ["app"], ZONE)["values"] == ["app.example.com."]
    for bad in (("x", "MX", ["a"]), ("x", "A", []), ("x", "CNAME", ["a", "b"])):
        with pytest.raises(InvalidInput):
            records.record_set(bad[0], bad[1], 60, bad[2], ZONE)


A1 = {"name": "www.example.com.", "type": "A", "ttl": 60, "values": ["192.0.2.1"]}
A2 = dict(A1, values=["192.0.2.2"])
A1_TTL = dict(A1, ttl=300)


@pytest.mark.parametrize("live,after,changed", [
    (A1, A1, False), (A1, A2, True), (A1, A1_TTL, True), (None, A1, True), (A1, None, True), (None, None, False),
])
def test_plan(live, after, changed):
    changes = records.plan({"www.example.com. A": live}, [{"key": "www.example.com. A", "after": after}])
    assert bool(changes) is changed
    if changed:
        assert changes[0] == {"key": "www.example.com. A", "before": live, "after": after}


def test_drift_names_what_differs():
    assert records.drift({"k": A1}, {"k": A1}) == []
    assert records.drift({"k": A2}, {"k": A1}) == ["k is 192.0.2.2 (ttl 60), the cutover left 192.0.2.1 (ttl 60)"]
    assert records.drift({"k": None}, {"k": A1}) == ["k is absent, the cutover left 192.0.2.1 (ttl 60)"]

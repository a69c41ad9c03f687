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


def test_weighted_sets_have_their_own_key_and_compare_by_weight():
    a = records.record_set("www", "A", 60, ["10.0.0.1"], "lab.example.", "old", 90)
    b = records.record_set("www", "A", 60, ["10.0.0.1"], "lab.example.", "old", 10)
    assert records.key(a) == "www.lab.example. A old"
    assert records.parse_key(records.key(a)) == ("www.lab.example.", "A", "old")
    assert records.parse_key("www.lab.example. A") == ("www.lab.example.", "A", None)
    assert records.weighted(records.key(a)) and not records.weighted("www.lab.example. A")
    assert not records.same(a, b)
    assert records.describe(b) == "10.0.0.1 (ttl 60) weight 10"
    assert records.plan({records.key(a): a}, [{"key": records.key(b), "after": b}])[0]["before"] == a


@pytest.mark.parametrize("set_identifier, weight, problem", [
    ("old", None, "both"), (None, 5, "both"), ("old", 256, "between 0 and 255"), ("o ld", 1, "one word")])
def test_weighted_sets_are_validated(set_identifier, weight, problem):
    with pytest.raises(InvalidInput, match=problem):
        records.record_set("www", "A", 60, ["10.0.0.1"], "lab.example.", set_identifier, weight)


def test_a_shift_step_splits_a_hundred_between_the_pair():
    pair = {"name": "www", "from": {"set_identifier": "old", "values": ["10.0.0.1"]},
            "to": {"set_identifier": "new", "values": ["10.0.0.2"]}}
    sets = records.shift([pair], 10, "lab.example.")
    assert [(s["set_identifier"], s["weight"], s["values"]) for s in sets] == [
        ("old", 90, ["10.0.0.1"]), ("new", 10, ["10.0.0.2"])]
    assert [s["weight"] for s in records.shift([pair], 100, "lab.example.")] == [0, 100]
    with pytest.raises(InvalidInput, match="percentage"):
        records.shift([pair], 101, "lab.example.")
    with pytest.raises(InvalidInput, match="needs name"):
        records.shift([{"name": "www", "from": {"set_identifier": "old"}}], 10, "lab.example.")
    with pytest.raises(InvalidInput, match="same set"):
        records.shift([dict(pair, to=pair["from"])], 10, "lab.example.")


@pytest.mark.parametrize("name,rtype,ttl,values,says", [
    ("www", "A", 60, ["999.1.1.1"], "999.1.1.1 is not an IPv4 address"),
    ("www", "A", 60, ["10.0.0.1 "], None),                       # whitespace around a value is no value of its own
    ("www", "AAAA", 60, ["10.0.0.1"], "10.0.0.1 is not an IPv6 address"),
    ("www", "CNAME", 60, ["not a host"], "is not a host name"),
    ("@", "CNAME", 60, ["www.example.com."], "a CNAME cannot be at the zone apex"),
    ("www", "A", -5, ["10.0.0.1"], "ttl -5 is not 0 to 2147483647 seconds"),
    ("www", "A", 10000000000, ["10.0.0.1"], "ttl 10000000000 is not 0 to 2147483647 seconds"),
    ("www", "A", 60, [""], "a value is empty"),
])
def test_values_ttls_and_names_a_server_would_refuse(name, rtype, ttl, values, says):
    if says is None:
        assert records.record_set(name, rtype, ttl, values, ZONE)["values"] == ["10.0.0.1"]
        return
    with pytest.raises(InvalidInput) as refused:
        records.record_set(name, rtype, ttl, values, ZONE)
    assert says in str(refused.value)


def test_a_ttl_over_a_week_is_warned_of():
    sets = [records.record_set("www", "A", 1000000000, ["10.0.0.1"], ZONE),
            records.record_set("app", "A", 60, ["10.0.0.1"], ZONE)]
    warned = records.long_ttls(sets)
    assert len(warned) == 1 and warned[0].startswith("www.example.com. A has a TTL of 1000000000 s (11574 days)")

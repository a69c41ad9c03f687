"""Pure pieces of the lab server: patch semantics, selectors, cron and protobuf decoding."""

from __future__ import annotations

import datetime as dt

import pytest

from lab.k8s.controllers import cron_times, go_duration, template_hash
from lab.k8s.errors import ApiError
from lab.k8s.patch import merge_patch, strategic_merge
from lab.k8s.protobuf import decode_object
from lab.k8s.selectors import parse_field_selector, parse_label_selector, selector_from_match


def test_strategic_merge_directives():
    pod = {"containers": [{"name": "a", "image": "x", "ports": [{"containerPort": 80}, {"containerPort": 81}]},
                          {"name": "b", "image": "y"}], "finalizers": ["f1"]}
    patch = {"$setElementOrder/containers": [{"name": "b"}, {"name": "a"}],
             "containers": [{"name": "a", "ports": [{"containerPort": 81, "$patch": "delete"}]}],
             "finalizers": ["f2"]}
    out = strategic_merge(pod, patch)
    assert [c["name"] for c in out["containers"]] == ["b", "a"]
    assert out["containers"][1]["ports"] == [{"containerPort": 80}] and out["finalizers"] == ["f1", "f2"]
    assert strategic_merge({"a": {"b": 1, "c": 2}}, {"a": {"$patch": "replace", "d": 3}}) == {"a": {"d": 3}}
    assert strategic_merge({"a": 1, "b": 2}, {"b": None}) == {"a": 1}
    assert strategic_merge({"args": ["1", "2"]}, {"$deleteFromPrimitiveList/args": ["1"]}) == {"args": ["2"]}
    assert merge_patch({"a": {"b": 1}, "l": [1]}, {"a": {"c": 2}, "l": [2]}) == {"a": {"b": 1, "c": 2}, "l": [2]}


def test_selectors():
    sel = parse_label_selector("app=web,tier in (a, b),!canary,env!=prod,team")
    assert sel({"app": "web", "tier": "a", "team": "x"})
    assert not sel({"app": "web", "tier": "c", "team": "x"})
    assert not sel({"app": "web", "tier": "a", "team": "x", "canary": "1"})
    with pytest.raises(ApiError):
        parse_label_selector("a b c")
    assert selector_from_match({"matchExpressions": [{"key": "k", "operator": "NotIn", "values": ["v"]}]})({})
    fs = parse_field_selector("status.phase!=Running,metadata.namespace=ns")
    assert fs({"metadata": {"namespace": "ns"}, "status": {"phase": "Pending"}})


def test_cron_and_durations():
    now = dt.datetime(2026, 11, 22, 4, 30, tzinfo=dt.timezone.utc)
    assert cron_times("0 2 * * *", now - dt.timedelta(days=1), now) == [dt.datetime(2026, 11, 22, 2, 0,
                                                                                   tzinfo=dt.timezone.utc)]
    assert len(cron_times("*/15 * * * *", now - dt.timedelta(hours=1), now)) == 4
    assert cron_times("@daily", now - dt.timedelta(hours=1), now) == []
    assert go_duration("2160h") == 2160 * 3600 and go_duration("-1h30m") == -5400


def test_template_hash_ignores_nulls_and_the_hash_label():
    a = {"metadata": {"labels": {"app": "x"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}
    b = {"metadata": {"labels": {"app": "x", "pod-template-hash": "abc"}, "creationTimestamp": None},
         "spec": {"containers": [{"name": "c", "image": "i", "resources": {}}]}}
    assert template_hash(a) == template_hash(b)
    assert template_hash(a) != template_hash({**a, "spec": {"containers": [{"name": "c", "image": "j"}]}})


def test_protobuf_envelope_decoding():
    def field(num, payload: bytes) -> bytes:
        return bytes([num << 3 | 2, len(payload)]) + payload

    meta = field(1, b"cfg") + field(11, field(1, b"app") + field(2, b"web"))
    raw = field(1, meta) + field(2, field(1, b"k") + field(2, b"v"))
    body = b"k8s\x00" + field(1, field(1, b"v1") + field(2, b"ConfigMap")) + field(2, raw)
    assert decode_object(body) == {"apiVersion": "v1", "kind": "ConfigMap",
                                   "metadata": {"name": "cfg", "labels": {"app": "web"}}, "data": {"k": "v"}}

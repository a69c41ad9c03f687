"""redis.persistence: normalising values and planning CONFIG SET steps (pure)."""

import pytest

from ansible_collections.golive.core.plugins.module_utils.redis import persistence


@pytest.mark.parametrize("parameter,value,expected", [
    ("appendonly", True, "yes"), ("appendonly", False, "no"), ("appendonly", "YES", "yes"),
    ("save", " 3600  1 300 100 ", "3600 1 300 100"), ("save", "", ""), ("appendfsync", None, None),
])
def test_normalize(parameter, value, expected):
    assert persistence.normalize(parameter, value) == expected


def test_desired_settings_leave_unset_ones_out():
    assert persistence.desired_settings(appendonly=True) == {"appendonly": "yes"}
    assert persistence.desired_settings(save="") == {"save": ""}


@pytest.mark.parametrize("observed,desired,steps", [
    ({"a:1": {"appendonly": "yes", "save": "3600 1"}}, {"appendonly": "yes"}, []),
    ({"a:1": {"appendonly": "no", "save": "3600 1"}}, {"appendonly": "yes"},
     [{"node": "a:1", "parameter": "appendonly", "before": "no", "after": "yes"}]),
    ({"b:1": {"appendonly": "no"}, "a:1": {"appendonly": "yes"}}, {"appendonly": "yes", "save": ""},
     [{"node": "a:1", "parameter": "save", "before": None, "after": ""},
      {"node": "b:1", "parameter": "appendonly", "before": "no", "after": "yes"},
      {"node": "b:1", "parameter": "save", "before": None, "after": ""}]),
    ({"a:1": {"save": "3600   1"}}, {"save": "3600 1"}, []),
])
def test_plan(observed, desired, steps):
    assert persistence.plan(observed, desired) == steps

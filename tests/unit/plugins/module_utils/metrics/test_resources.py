"""Utilisation against declared requests and limits, as tables."""

import pytest

from ansible_collections.golive.core.plugins.module_utils.common.errors import InvalidInput
from ansible_collections.golive.core.plugins.module_utils.metrics import resources


@pytest.mark.parametrize("text, value", [("500m", 0.5), ("1", 1.0), ("2.5", 2.5), ("128Mi", 134217728.0),
                                         ("1Gi", 2.0 ** 30), ("1k", 1000.0), ("1e3", 1000.0), ("100M", 1e8)])
def test_quantity(text, value):
    assert resources.quantity(text) == value


def test_a_bad_quantity_is_named():
    with pytest.raises(InvalidInput, match="not a Kubernetes quantity"):
        resources.quantity("lots")


WORKLOAD = {"spec": {"template": {"spec": {"containers": [
    {"name": "web", "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"memory": "128Mi"}}},
    {"name": "sidecar"}]}}}}


def test_declared_amounts_per_container():
    assert resources.declared(WORKLOAD, "memory", "limits") == {"web": 134217728.0, "sidecar": None}
    assert resources.declared(WORKLOAD, "cpu", "requests") == {"web": 0.1, "sidecar": None}


def test_usage_queries_select_the_workloads_pods():
    assert resources.usage_query("Deployment", "shop", "web", "web", "memory") == (
        'max(container_memory_working_set_bytes{namespace="shop",pod=~"web-[a-z0-9]+-[a-z0-9]+",container="web"})')
    assert resources.usage_query("StatefulSet", "db", "pg", "pg", "cpu", "1m") == (
        'max(rate(container_cpu_usage_seconds_total{namespace="db",pod=~"pg-[0-9]+",container="pg"}[1m]))')
    with pytest.raises(InvalidInput, match="kind"):
        resources.usage_query("Job", "shop", "x", "x", "cpu")


def test_utilisation_is_the_highest_ratio_and_names_undeclared_containers():
    value, seen = resources.utilisation({"web": 100.0, "api": 200.0, "sidecar": None},
                                        {"web": 50.0, "api": 180.0, "sidecar": 5.0})
    assert value == 0.9 and seen == {"ratios": {"api": 0.9, "web": 0.5}, "undeclared": ["sidecar"]}
    assert resources.utilisation({"web": 100.0}, {"web": None}) == (None, {"ratios": {}, "undeclared": []})

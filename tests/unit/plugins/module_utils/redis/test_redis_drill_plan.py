"""redis.drill: which master the Sentinels agree on, and whether a drill may start (pure)."""

import pytest

from ansible_collections.golive.core.plugins.module_utils.redis import drill


@pytest.mark.parametrize("view,quorum,master", [
    ({"s1": "a:1", "s2": "a:1", "s3": "a:1"}, 2, "a:1"),
    ({"s1": "a:1", "s2": "a:1", "s3": None}, 2, "a:1"),
    ({"s1": "a:1", "s2": None, "s3": None}, 2, None),
    ({"s1": "a:1", "s2": "b:1", "s3": None}, 1, None),
    ({"s1": "a:1", "s2": "b:1", "s3": "b:1"}, 2, "b:1"),
])
def test_agreed_master(view, quorum, master):
    assert drill.agreed_master(view, quorum) == master


def test_plan_names_every_reason_not_to_start():
    view = {"s1": "a:1", "s2": "a:1"}
    steps, problems = drill.plan(view, 2, {"replicas": [{"address": "b:1", "state": "online"}]}, True)
    assert problems == [] and steps["master"] == "a:1" and steps["replicas"] == ["b:1"]
    problems = drill.plan({"s1": None}, 2, {"replicas": [{"address": "b:1", "state": "wait_bgsave"}]}, False)[1]
    assert len(problems) == 3
    assert problems[0].startswith("drills are not allowed")


def test_refused_before_any_connection():
    from ansible_collections.golive.core.plugins.module_utils.common.errors import InvalidInput, Refused
    from ansible_collections.golive.core.plugins.module_utils.redis.connection import RedisServer

    with pytest.raises(Refused, match="does not allow drills"):
        drill.run(RedisServer.from_params({"redis_sentinels": [{"host": "nowhere.invalid", "port": 1}],
                                           "redis_master_name": "m"}),
                  False, 10, 5, "k", 60, False)
    with pytest.raises(InvalidInput, match="redis_sentinels is not set"):
        drill.run(RedisServer.from_params({"redis_master_name": "m"}), True, 10, 5, "k", 60, False)

"""RabbitMQ checks from what the management API showed (pure evaluation)."""

from ansible_collections.golive.core.plugins.module_utils.mq import rabbitmq

OBSERVED = {"version": "3.10.8", "cluster": "lab", "node": "n@h", "vhost": "shop", "vhost_exists": True,
            "queues": {"orders": {"consumers": 2, "ready": 5, "unacked": 1, "state": "running"},
                       "emails": {"consumers": 0, "ready": 0, "unacked": 0, "state": "running"},
                       "exports": {"consumers": 1, "ready": 5000, "unacked": 900, "state": "running"}},
            "round_trip": {"queue": "golive.canary.x", "routed": True, "received": True, "ms": 12.0}}


def by_id(checks):
    return dict((c["id"], c) for c in checks)


def test_declared_queues_and_vhost_limits():
    checks = by_id(rabbitmq.evaluate(OBSERVED, [{"name": "orders", "min_consumers": 2}, {"name": "emails"},
                                                {"name": "gone"}], max_depth=1000, max_unacked=500))
    assert checks["mq.queue.orders"]["status"] == "pass"
    assert checks["mq.queue.emails"]["evidence"]["problems"] == ["0 consumers, at least 1 wanted"]
    assert checks["mq.queue.gone"]["evidence"]["problems"] == ["queue gone does not exist"]
    assert checks["mq.depth"]["evidence"]["over_depth"] == {"exports": 5000}
    assert checks["mq.depth"]["evidence"]["over_unacked"] == {"exports": 900}
    assert checks["mq.round_trip"]["status"] == "pass"


def test_a_queue_limit_overrides_the_vhost_limit_and_no_limit_means_no_depth_check():
    checks = by_id(rabbitmq.evaluate(OBSERVED, [{"name": "exports", "max_depth": 10000, "max_unacked": 1000}]))
    assert checks["mq.queue.exports"]["status"] == "pass" and "mq.depth" not in checks


def test_a_missing_vhost_stops_there_and_check_mode_skips_the_round_trip():
    checks = rabbitmq.evaluate(dict(OBSERVED, vhost_exists=False), [{"name": "orders"}])
    assert [(c["id"], c["status"]) for c in checks] == [("mq.connection", "pass"), ("mq.vhost", "fail")]
    skipped = by_id(rabbitmq.evaluate(dict(OBSERVED, round_trip=None), []))
    assert skipped["mq.round_trip"]["status"] == "skip"

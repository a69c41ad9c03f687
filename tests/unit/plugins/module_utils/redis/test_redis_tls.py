"""redis.tls judged per node."""

from ansible_collections.golive.core.plugins.module_utils.redis.tls import judge


def test_every_node_serving_verified_tls_passes():
    nodes = [{"address": "10.0.0.1:6379", "tls_port": 6380, "handshake": {"protocol": "TLSv1.3"}, "ping": True},
             {"address": "10.0.0.2:6379", "tls_port": 6380, "handshake": {"protocol": "TLSv1.3"}, "ping": True}]
    check = judge(nodes)
    assert check["status"] == "pass" and check["id"] == "redis.tls"


def test_each_failing_node_is_named_with_its_reason():
    nodes = [{"address": "10.0.0.1:6379", "tls_port": 0},
             {"address": "10.0.0.2:6379", "tls_port": 6380, "error": "[SSL: CERTIFICATE_VERIFY_FAILED]"},
             {"address": "10.0.0.3:6379", "config_error": "unknown command 'CONFIG'"},
             {"address": "10.0.0.4:6379", "tls_port": 6380, "handshake": {}, "ping": False}]
    problems = judge(nodes)["evidence"]["problems"]
    assert problems[0] == "10.0.0.1:6379 does not serve TLS (tls-port 0)"
    assert problems[1].startswith("10.0.0.2:6379: TLS on port 6380 fails: [SSL: CERTIFICATE_VERIFY_FAILED]")
    assert problems[2].startswith("10.0.0.3:6379: its TLS port cannot be read")
    assert problems[3] == "10.0.0.4:6379: no answer to PING over TLS on port 6380"

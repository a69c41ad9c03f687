"""Bad input judged before anything runs (pure): numeric ranges by option name, URLs'
user-info, answers that are not the API they should be."""

import pytest

from ansible_collections.golive.core.plugins.module_utils.common.checks import redact, strip_userinfo
from ansible_collections.golive.core.plugins.module_utils.common.errors import BackendError, Timeout
from ansible_collections.golive.core.plugins.module_utils.common.module import out_of_range
from ansible_collections.golive.core.plugins.module_utils.common.retry import Deadline, bounded
from ansible_collections.golive.core.plugins.module_utils.http.transport import api_answer, basic_auth


@pytest.mark.parametrize("params,problems", [
    ({"timeout": 10, "count": 3, "interval": 0, "ttl": 300}, []),
    ({"timeout": -5}, ["timeout is -5; it is a number of seconds above 0"]),
    ({"timeout": 0}, ["timeout is 0; it is a number of seconds above 0"]),
    ({"count": 0, "interval": -5}, ["count is 0; it is 1 or more", "interval is -5; it is 0 or more seconds"]),
    ({"min_days": -5, "min_ready": -1}, ["min_days is -5; it is 0 or more days", "min_ready is -1; it is 0 or more"]),
    ({"records": [{"name": "www", "ttl": 10000000000}, {"name": "app", "ttl": -5}]},
     ["records[0].ttl is 10000000000; it is 0 to 2147483647 seconds (RFC 2181)",
      "records[1].ttl is -5; it is 0 to 2147483647 seconds (RFC 2181)"]),
    ({"shift": {"percent": 101}}, ["shift.percent is 101; it is a percentage, 0 to 100"]),
    ({"requests": [{"name": "x", "count": 0}], "max_error_ratio": 1.5},
     ["requests[0].count is 0; it is 1 or more", "max_error_ratio is 1.5; it is a ratio between 0 and 1"]),
    ({"aws_timeout": 0.0, "port": "99999", "wait": True}, ["aws_timeout is 0; it is a number of seconds above 0"]),
    ({"count": True, "label": "count"}, []),   # a boolean or a string is never judged as a number
])
def test_out_of_range(params, problems):
    assert out_of_range(params) == problems


@pytest.mark.parametrize("text,expected", [
    ("GET http://user:s3cret@host:8080/x failed", "GET http://***@host:8080/x failed"),
    ("amqp://guest:guest@127.0.0.1/vhost", "amqp://***@127.0.0.1/vhost"),
    ("redis://:pw@h:6379/0", "redis://***@h:6379/0"),
    ("http://u:p@ss@host/x", "http://***@host/x"),           # an @ in the password is user-info too
    ("https://host/path?mail=a@b.c", "https://host/path?mail=a@b.c"),
    ("write to ops@example.com", "write to ops@example.com"),
])
def test_user_info_never_survives(text, expected):
    assert strip_userinfo(text) == expected
    assert strip_userinfo({"evidence": [{"url": text}]}) == {"evidence": [{"url": expected}]}
    assert redact({"msg": text}, ["unrelated"]) == {"msg": expected}


def test_basic_auth_from_a_url_as_curl_does():
    assert basic_auth("https://alice:p%40ss@h/") == "Basic YWxpY2U6cEBzcw=="
    assert basic_auth("https://h/") is None


@pytest.mark.parametrize("raw,says", [
    (b"<!doctype html><title>Login</title>", "not JSON: <!doctype html><title>Login</title>"),
    (b"[1, 2]", "JSON, but not what it answers: [1, 2]"),
])
def test_an_answer_that_is_not_the_api_is_named_as_such(raw, says):
    with pytest.raises(BackendError) as refused:
        api_answer(raw, "Prometheus at http://p:9090", "Check prometheus_url")
    assert says in str(refused.value) and "Check prometheus_url" in str(refused.value)
    assert api_answer(b'{"status": "success"}', "x", "y") == {"status": "success"}


def test_a_hanging_call_is_abandoned_at_the_deadline():
    import threading
    release = threading.Event()
    with pytest.raises(Timeout) as late:
        bounded(lambda: release.wait(5), Deadline(0.2), "check", "bucket shop")
    release.set()
    assert "bucket shop" in str(late.value) and "no answer within the task's 0.2s" in str(late.value)
    assert bounded(lambda: 42, Deadline(1), "x", "y") == 42
    with pytest.raises(ZeroDivisionError):
        bounded(lambda: 1 / 0, Deadline(1), "x", "y")

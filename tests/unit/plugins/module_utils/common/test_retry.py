import pytest

from ansible_collections.golive.core.plugins.module_utils.common import errors
from ansible_collections.golive.core.plugins.module_utils.common.retry import Deadline, retry, wait_until


class FakeClock:
    """A monotonic clock that only moves when the code under test sleeps."""

    def __init__(self):
        self.now = 100.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def flaky(failures, exc_factory):
    state = {"calls": 0}

    def func():
        state["calls"] += 1
        if state["calls"] <= failures:
            raise exc_factory()
        return "ok"
    return func, state


def test_retries_retryable_errors_until_success():
    clock = FakeClock()
    func, state = flaky(3, lambda: errors.ConnectionFailed("connect to", "db", "refused"))
    value, attempts = retry(func, Deadline(30, clock=clock), sleep=clock.sleep, clock=clock, jitter=0)
    assert (value, attempts, state["calls"]) == ("ok", 4, 4)
    assert clock.sleeps == [0.25, 0.5, 1.0]


def test_non_retryable_error_is_raised_at_once():
    clock = FakeClock()
    func, state = flaky(5, lambda: errors.AuthenticationFailed("connect to", "db", "bad password"))
    with pytest.raises(errors.AuthenticationFailed):
        retry(func, Deadline(30, clock=clock), sleep=clock.sleep, clock=clock)
    assert state["calls"] == 1 and clock.sleeps == []


def test_one_deadline_bounds_all_attempts():
    clock = FakeClock()
    func, state = flaky(10 ** 6, lambda: errors.ConnectionFailed("connect to", "db", "refused"))
    with pytest.raises(errors.ConnectionFailed) as info:
        retry(func, Deadline(10, clock=clock), sleep=clock.sleep, clock=clock, jitter=0)
    assert clock.now - 100.0 <= 10
    assert "gave up after" in info.value.message


def test_server_requested_delay_is_honoured():
    clock = FakeClock()
    func, state = flaky(1, lambda: RuntimeError("429"))
    value, attempts = retry(func, Deadline(30, clock=clock), is_retryable=lambda exc: 3.0,
                            sleep=clock.sleep, clock=clock, jitter=0)
    assert (value, attempts) == ("ok", 2) and clock.sleeps == [3.0]


def test_foreign_error_out_of_time_becomes_timeout():
    clock = FakeClock()
    func, state = flaky(10 ** 6, lambda: RuntimeError("busy"))
    with pytest.raises(errors.Timeout) as info:
        retry(func, Deadline(2, clock=clock), is_retryable=lambda exc: True, what="scale web",
              sleep=clock.sleep, clock=clock, jitter=0)
    assert info.value.message.startswith("Failed to complete scale web: busy")
    assert state["calls"] > 1


def test_child_deadline_never_outlives_parent():
    clock = FakeClock()
    parent = Deadline(5, clock=clock)
    assert parent.child(60).remaining() == 5
    assert parent.child(2).remaining() == 2


def test_wait_until_returns_observation_or_times_out_naming_it():
    clock = FakeClock()
    seen = iter([(False, "1/3 ready"), (False, "2/3 ready"), (True, "3/3 ready")])
    assert wait_until(lambda: next(seen), Deadline(60, clock=clock), "rollout",
                      sleep=clock.sleep, clock=clock) == "3/3 ready"
    with pytest.raises(errors.Timeout) as info:
        wait_until(lambda: (False, "0/3 ready"), Deadline(3, clock=clock), "rollout of web",
                   sleep=clock.sleep, clock=clock)
    assert "rollout of web" in info.value.message and "0/3 ready" in info.value.message


def test_deadline_rejects_negative():
    with pytest.raises(ValueError):
        Deadline(-1)


def test_max_attempts_bounds_a_persistent_retryable_error():
    clock = FakeClock()
    func, state = flaky(10 ** 6, lambda: errors.BackendError("run", "GET /x", "HTTP 500", retryable=True))
    with pytest.raises(errors.BackendError) as info:
        retry(func, Deadline(600, clock=clock), sleep=clock.sleep, clock=clock, jitter=0, max_attempts=4)
    assert state["calls"] == 4 and "gave up after 4 attempts" in info.value.message

# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Retries under one deadline, on a monotonic clock.

A task gets one time budget (``Deadline``) that every retry, poll and wait inside it
shares, so nested waits can never add up to more than the user allowed. Each backend
supplies its own ``is_retryable(exc)``; it may return ``True``/``False`` or a number of
seconds the server asked us to wait (a 429's ``Retry-After``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import random
import threading
import time

from ansible_collections.golive.core.plugins.module_utils.common.errors import (
    GoliveError,
    Timeout,
    describe_exception,
)


class Deadline:
    """A point in monotonic time after which work must stop."""

    def __init__(self, seconds, clock=time.monotonic):
        if seconds is None or seconds < 0:
            raise ValueError("a deadline needs a non-negative number of seconds")
        self._clock = clock
        self.seconds = float(seconds)
        self.started = clock()
        self.expires = self.started + self.seconds

    def remaining(self):
        return max(0.0, self.expires - self._clock())

    def elapsed(self):
        return self._clock() - self.started

    def expired(self):
        return self._clock() >= self.expires

    def child(self, seconds):
        """A deadline that ends at ``seconds`` from now or at this one, whichever is first."""
        return Deadline(min(float(seconds), self.remaining()), clock=self._clock)


def as_deadline(value, clock=time.monotonic):
    if isinstance(value, Deadline):
        return value
    return Deadline(value, clock=clock)


def default_is_retryable(exc):
    return isinstance(exc, GoliveError) and exc.retryable


def backoff_delays(initial=0.25, factor=2.0, maximum=5.0, jitter=0.1, rng=None):
    """Yield an endless series of exponentially growing delays with a little jitter."""
    rng = rng or random.Random()
    delay = initial
    while True:
        yield delay * (1.0 + rng.uniform(-jitter, jitter)) if jitter else delay
        delay = min(maximum, delay * factor)


def retry(func, deadline, is_retryable=default_is_retryable, what="complete the operation",
          initial=0.25, factor=2.0, maximum=5.0, jitter=0.1, on_retry=None,
          sleep=time.sleep, clock=time.monotonic, max_attempts=None):
    """Call ``func()`` until it succeeds, fails for good, or the deadline runs out.

    Returns ``(value, attempts)``. A non-retryable error is raised at once. When the
    deadline (or ``max_attempts``) runs out the last retryable error is raised if it is
    a ``GoliveError`` (its message already names what failed), else a ``Timeout`` that
    names it.
    """
    deadline = as_deadline(deadline, clock=clock)
    delays = backoff_delays(initial, factor, maximum, jitter)
    attempts = 0
    while True:
        attempts += 1
        try:
            return func(), attempts
        except Exception as exc:  # noqa: BLE001 - classified just below
            verdict = is_retryable(exc)
            if verdict is False or verdict is None:
                raise
            delay = next(delays)
            if not isinstance(verdict, bool):
                delay = max(delay, float(verdict))
            if deadline.remaining() <= delay or (max_attempts and attempts >= max_attempts):
                if isinstance(exc, GoliveError):
                    exc.cause = "%s (gave up after %d attempts in %.1fs)" % (
                        exc.cause, attempts, deadline.elapsed())
                    raise exc
                raise Timeout(
                    "complete", what,
                    "%s (gave up after %d attempts in %.1fs)" % (
                        describe_exception(exc), attempts, deadline.elapsed()),
                )
            if on_retry is not None:
                on_retry(exc, attempts, delay)
            sleep(delay)


def wait_until(probe, deadline, what, interval=0.5, maximum=5.0, sleep=time.sleep,
               clock=time.monotonic):
    """Poll ``probe()`` until it returns a truthy value; return that value.

    ``probe`` may return ``(done, observed)`` to let the timeout message say what was
    last observed. Raises ``Timeout`` naming ``what`` when the deadline runs out.
    """
    deadline = as_deadline(deadline, clock=clock)
    delay = interval
    observed = None
    while True:
        value = probe()
        if isinstance(value, tuple) and len(value) == 2:
            done, observed = value
        else:
            done, observed = value, value
        if done:
            return observed
        if deadline.remaining() <= 0:
            raise Timeout(
                "wait for", what,
                "still not done after %.1fs (last observed: %s)" % (deadline.elapsed(), observed),
            )
        sleep(min(delay, max(deadline.remaining(), 0.01)))
        delay = min(maximum, delay * 1.5)


def bounded(func, deadline, verb, obj):
    """``func()``, but waited for no longer than ``deadline`` allows: a call into a library
    that retries on its own (botocore) or hangs cannot overrun the task's timeout. At the
    deadline it raises ``Timeout`` naming ``what``; the abandoned call ends with the process."""
    deadline = as_deadline(deadline)
    outcome = {}
    done = threading.Event()

    def work():
        try:
            outcome["value"] = func()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            outcome["error"] = exc
        finally:
            done.set()

    thread = threading.Thread(target=work, name="golive-bounded", daemon=True)
    thread.start()
    if not done.wait(deadline.remaining()):
        raise Timeout(verb, obj, "no answer within the task's %gs" % deadline.seconds,
                      fix="Check the endpoint and the network, or raise the timeout")
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")

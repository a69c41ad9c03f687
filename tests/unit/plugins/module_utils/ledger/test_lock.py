"""When a run may take the environment's run lock from another one, as tables: a live run
never loses it, a run whose process is gone is taken over without asking, break_lock
waits for the lease of a run elsewhere to expire, force_break_lock names its run."""

import pytest

from ansible_collections.golive.core.plugins.module_utils.ledger import lock
from ansible_collections.golive.core.plugins.module_utils.ledger.lock import (
    ALIVE,
    BREAK,
    ELSEWHERE,
    FORCE,
    GONE,
    REFUSE,
    TAKE,
    TAKE_OVER,
    decide_takeover,
    process_state,
)

HOLDER = {"run_id": "run-1", "host": "ops-1", "pid": 4242, "pid_start": 900, "boot_id": "boot-a"}


@pytest.mark.parametrize("current,state,age,break_lock,force,expected", [
    (None, None, None, False, None, TAKE),
    ({"run_id": "me"}, ALIVE, 0, False, None, TAKE),                   # our own run, again
    (HOLDER, GONE, 5, False, None, TAKE_OVER),                         # killed: no flag needed
    (HOLDER, GONE, 5, True, None, TAKE_OVER),
    (HOLDER, ALIVE, 0, False, None, REFUSE),
    (HOLDER, ALIVE, 0, True, None, REFUSE),                            # break_lock never takes a live run's lock
    (HOLDER, ALIVE, 5000, True, None, REFUSE),                         # ...even with an old lease
    (HOLDER, ELSEWHERE, 10, True, None, REFUSE),                       # renewed 10 s ago elsewhere
    (HOLDER, ELSEWHERE, 900, True, None, REFUSE),                      # not expired yet (900 s lease)
    (HOLDER, ELSEWHERE, 901, True, None, BREAK),                       # expired
    (HOLDER, ELSEWHERE, None, True, None, REFUSE),                     # never renewed: unknown
    (HOLDER, ELSEWHERE, 901, False, None, REFUSE),                     # expired, but nobody asked
    (HOLDER, ALIVE, 0, False, "run-1", FORCE),                         # force names the holder
    (HOLDER, ELSEWHERE, 10, False, "run-1", FORCE),
    (HOLDER, ELSEWHERE, 10, True, "run-9", REFUSE),                    # force names another run
])
def test_decide_takeover(current, state, age, break_lock, force, expected):
    decision, why = decide_takeover(current, "me", state, age, 900, break_lock=break_lock, force=force)
    assert decision == expected
    if decision == REFUSE and (break_lock or force):
        assert why  # a refusal of an explicit request says why


def probes(pids):
    """``exists`` and ``started`` over a fake process table {pid: start}."""
    return pids.__contains__, pids.get


@pytest.mark.parametrize("holder,table,boot,expected,says", [
    (HOLDER, {4242: 900}, "boot-a", ALIVE, "is running on this host"),
    (HOLDER, {}, "boot-a", GONE, "no longer exists"),
    (HOLDER, {4242: 1234}, "boot-a", GONE, "another process now"),      # the pid was given to another process
    (HOLDER, {4242: 900}, "boot-b", GONE, "restarted"),                 # the host restarted
    (dict(HOLDER, pid_start=None), {4242: 1234}, "boot-a", ALIVE, "running"),  # no start recorded: the pid decides
    (dict(HOLDER, host="ops-2"), {}, "boot-a", ELSEWHERE, "host ops-2"),
    (dict(HOLDER, pid=None), {}, "boot-a", ELSEWHERE, "names no process"),
])
def test_process_state(holder, table, boot, expected, says):
    exists, started = probes(table)
    state, why = process_state(holder, hostname="ops-1", this_boot=boot, exists=exists, started=started)
    assert state == expected and says in why


def test_a_holder_made_here_is_alive_here():
    holder = lock.make_holder("run-x", "R1", pid=None)
    assert holder["pid_start"] == lock.process_start(holder["pid"]) and holder["boot_id"] == lock.boot_id()
    assert process_state(holder, this_boot=lock.boot_id())[0] == ALIVE

"""pytest support for the lab: a session fixture ``lab`` returning the endpoints dict.

- The lab is the default one (``GOLIVE_LAB_STATE`` or ``<repo>/.lab``), the same one
  ``inventories/lab`` points at.
- It is brought up lazily by the first test that asks for ``lab`` (``Lab.up`` holds a
  file lock, so pytest-xdist workers wait for one another and the later ones find it
  running). Runs that never ask for it start nothing.
- Each test session's controller process (the one without ``workerinput``) registers
  itself in ``<state>/test-sessions/``. The first of a group of overlapping sessions
  notes whether any lab process was already running; the last one to finish stops the
  lab only if none was. So a lab started with ``make lab-up``/``make demo`` stays up,
  and two test sessions running at once do not pull the lab from under each other.
  ``GOLIVE_LAB_KEEP=1`` keeps a lab the tests started.
- If the lab fails to start, every test using it errors with the lab's message.
"""

from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager
from pathlib import Path

import pytest

from lab.core import Lab, LabError, pid_alive

_REGISTERED = "_golive_lab_session_file"
_PREEXISTING = "preexisting"


def _controller(config) -> bool:
    return not hasattr(config, "workerinput")


@contextmanager
def _sessions(lab: Lab):
    """The session registry directory, locked; yields (directory, live other pids)."""
    directory = lab.state_dir / "test-sessions"
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        others = []
        for entry in directory.iterdir():
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            if pid_alive(int(entry.name)):
                others.append(int(entry.name))
            else:
                entry.unlink(missing_ok=True)
        yield directory, others


def pytest_configure(config):
    if not _controller(config):
        return
    lab = Lab()
    try:
        with _sessions(lab) as (directory, others):
            marker = directory / _PREEXISTING
            if not others or not marker.exists():
                marker.write_text("1\n" if lab.any_running() else "0\n")
            mine = directory / str(os.getpid())
            mine.write_text("")
            setattr(config, _REGISTERED, str(mine))
    except (OSError, LabError):
        pass  # no registration: this session never stops the lab


def pytest_sessionfinish(session, exitstatus):
    config = session.config
    mine = getattr(config, _REGISTERED, None)
    if not _controller(config) or not mine:
        return
    lab = Lab()
    with _sessions(lab) as (directory, others):
        Path(mine).unlink(missing_ok=True)
        if others:
            return
        marker = directory / _PREEXISTING
        preexisting = marker.read_text().strip() != "0" if marker.exists() else True
        marker.unlink(missing_ok=True)
        if preexisting or os.environ.get("GOLIVE_LAB_KEEP", "") not in ("", "0"):
            return
        if lab.any_running():
            lab.down()


@pytest.fixture(scope="session")
def lab_instance() -> Lab:
    """The :class:`lab.core.Lab` the ``lab`` fixture brings up."""
    return Lab()


@pytest.fixture(scope="session")
def lab(lab_instance) -> dict:
    """The lab's endpoints dict (see lab/README.md), the lab running."""
    try:
        return lab_instance.up()
    except LabError as exc:
        pytest.fail(f"The lab did not start:\n{exc}", pytrace=False)

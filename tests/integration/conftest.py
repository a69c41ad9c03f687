"""Fixtures shared by the integration tests."""

import pytest

from dns_helpers import by_hand, current, put_back
from pager_helpers import reset_pager


@pytest.fixture
def pager(lab, lab_instance):
    """The lab's pager application (``lab["app"]``) at the running release with two
    replicas, before the test (``make demo`` leaves the next release deployed) and after
    it. Use with ``xdist_group("pager")``."""
    reset_pager(lab, lab_instance)
    yield lab["app"]
    reset_pager(lab, lab_instance)


@pytest.fixture
def dns_at_old_site(lab):
    """www and app at the router's old site for the test; afterwards exactly as found (a
    go-live such as `make demo` may have cut them over, and its ledger says so)."""
    saved = dict((name, current(lab, name)) for name in ("www", "app"))
    for name in saved:
        by_hand(lab, name, lab["app"]["sites"]["old"])
    yield
    for name, value in saved.items():
        put_back(lab, name, value)

"""Fixtures shared by the integration tests."""

import pytest

from pager_helpers import reset_pager


@pytest.fixture
def pager(lab, lab_instance):
    """The lab's pager application (``lab["app"]``) at the running release with two
    replicas, before the test (``make demo`` leaves the next release deployed) and after
    it. Use with ``xdist_group("pager")``."""
    reset_pager(lab, lab_instance)
    yield lab["app"]
    reset_pager(lab, lab_instance)

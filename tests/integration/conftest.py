"""Fixtures shared by the integration tests."""

import pytest

from pager_helpers import reset_pager


@pytest.fixture
def pager(lab, lab_instance):
    """The lab's pager application (``lab["app"]``); its Deployment is put back at the
    running release with two replicas afterwards. Use with ``xdist_group("pager")``."""
    yield lab["app"]
    reset_pager(lab, lab_instance)

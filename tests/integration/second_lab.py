"""For a test module that runs on the second lab (conftest.py's ``second_lab``): import
``lab`` and ``lab_instance`` from here, and every fixture and helper that takes them uses
that lab. Mark the module ``xdist_group("second-lab")``: one worker brings that lab up."""

import pytest


@pytest.fixture(scope="module")
def lab(second_lab):
    return second_lab


@pytest.fixture(scope="module")
def lab_instance(second_lab_instance):
    return second_lab_instance

"""Fixtures shared by the integration tests."""

import uuid

import pytest

from helpers import answers, by_hand, current, put_back, reset_pager, rows, wait


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
    old = lab["app"]["sites"]["old"]
    for name in saved:
        by_hand(lab, name, old)
    # The secondary takes the change by NOTIFY and IXFR: wait until both servers answer it.
    wait(lambda: all(answers(lab, name) == dict((ns, [old]) for ns in lab["dns"]["nameservers"]) for name in saved),
         timeout=30, what="both name servers to answer the old site")
    yield
    for name, value in saved.items():
        put_back(lab, name, value)


@pytest.fixture
def database(lab):
    """A database of the test's own on the lab's primary, dropped afterwards with every
    database named after it (a restore's dated copy, say)."""
    pg = lab["postgres"]
    name = "golive_t_db_%s" % uuid.uuid4().hex[:10]
    rows(pg, "postgres", "CREATE DATABASE %s OWNER %s" % (name, pg["app_user"]))
    yield name
    for (db,) in rows(pg, "postgres", "SELECT datname FROM pg_database WHERE datname LIKE %s", (name + "%",)):
        rows(pg, "postgres", "DROP DATABASE IF EXISTS %s WITH (FORCE)" % db)

"""Fixtures shared by the integration tests."""

import json
import uuid

import pytest

from helpers import (CURRENT, answers, by_hand, current, kubectl, own_redis, put_back, request, reset_pager, rows,
                     wait)


# Groups in the order they are handed out: pytest-xdist gives a worker the next unit of the
# collection order, so the serial pager group goes first (the longest path starts at once)
# and the other long groups next; a test of no group is a unit of its own.
GROUPS_FIRST = ("pager", "second-lab", "dns", "redis-drill", "standins", "phase2-playbook", "monitoring")


def _group_of(item):
    marker = item.get_closest_marker("xdist_group")
    return marker.args[0] if marker and marker.args else None


def pytest_collection_modifyitems(items):
    rank = dict((group, index) for index, group in enumerate(GROUPS_FIRST))
    items.sort(key=lambda item: rank.get(_group_of(item), len(rank)))  # stable: file order within a rank


_SECOND_LABS = []


@pytest.fixture(scope="session")
def second_lab_instance(tmp_path_factory):
    """A whole lab of its own (every service, its own state directory, ports, name servers,
    API server and Pod addresses) for the tests that take a user's road end to end with
    the example inventory (Galaxy, AWX): they need not wait for the shared lab's pager.
    Brought up by the one worker of their group; removed with its data once the group's last
    test is done (its processes would take CPU from the tests still running)."""
    from lab.core import Lab
    instance = Lab(state_dir=tmp_path_factory.mktemp("second-lab"), write_inventory=False)
    _SECOND_LABS.append(instance)
    try:
        yield instance
    finally:
        instance.down(purge=True)


def pytest_runtest_teardown(item, nextitem):
    """The second lab goes down after the last test of its group (the group's tests run one
    after another on one worker)."""
    if _group_of(item) == "second-lab" and (nextitem is None or _group_of(nextitem) != "second-lab"):
        while _SECOND_LABS:
            _SECOND_LABS.pop().down(purge=True)


@pytest.fixture(scope="session")
def second_lab(second_lab_instance):
    from lab.core import LabError
    try:
        return second_lab_instance.up()
    except LabError as exc:
        pytest.fail("The second lab did not start:\n%s" % exc, pytrace=False)


@pytest.fixture
def pager(lab, lab_instance):
    """The lab's pager application (``lab["app"]``) at the running release with two
    replicas, before the test (``make demo`` leaves the next release deployed) and after
    it. Use with ``xdist_group("pager")``."""
    reset_pager(lab, lab_instance)
    yield lab["app"]
    reset_pager(lab, lab_instance)


@pytest.fixture
def own_pager(lab, tmp_path):
    """A pager of the test's own: the lab's pager Deployment (at the running release, two
    replicas, its configuration Secret) and Service in a namespace of its own, behind an
    Ingress for its own host on the lab's router. A test that breaks it needs no serial
    group; the namespace goes afterwards."""
    namespace = "t-pager-%s" % uuid.uuid4().hex[:8]
    host = "%s.lab.example" % namespace

    def clean(obj, keep=("name", "labels", "annotations")):
        obj["metadata"] = dict((k, v) for k, v in obj["metadata"].items() if k in keep)
        obj["metadata"]["namespace"] = namespace
        obj.pop("status", None)
        return obj

    secret = clean(json.loads(kubectl(lab, "get", "secret", "pager-config", "-o", "json").stdout))
    deployment = clean(json.loads(kubectl(lab, "get", "deployment", "pager", "-o", "json").stdout),
                       keep=("name", "labels"))
    deployment["spec"] = dict(((k, v) for k, v in deployment["spec"].items() if k in (
        "selector", "template", "strategy", "progressDeadlineSeconds", "minReadySeconds")), replicas=2)
    deployment["spec"]["template"]["spec"]["containers"][0]["image"] = CURRENT
    service = clean(json.loads(kubectl(lab, "get", "service", "pager", "-o", "json").stdout))
    service["spec"] = {"selector": service["spec"]["selector"], "ports": service["spec"]["ports"]}
    ingress = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
               "metadata": {"name": "pager", "namespace": namespace},
               "spec": {"ingressClassName": "nginx", "rules": [{"host": host, "http": {"paths": [
                   {"path": "/", "pathType": "Prefix",
                    "backend": {"service": {"name": "pager", "port": {"name": "http"}}}}]}}]}}
    manifest = tmp_path / "own-pager.yaml"  # a YAML stream of JSON documents
    manifest.write_text("\n---\n".join(json.dumps(obj) for obj in (secret, deployment, service, ingress)) + "\n")
    kubectl(lab, "create", "namespace", namespace)
    try:
        kubectl(lab, "-n", namespace, "apply", "-f", str(manifest))
        kubectl(lab, "-n", namespace, "rollout", "status", "deployment/pager", "--timeout=90s")
        app = dict(lab["app"], namespace=namespace, host=host)
        wait(lambda: request(app, host=host, scheme="http")[0] == 200, timeout=30,
             what="the router to serve the test's own pager")
        yield app
    finally:
        kubectl(lab, "delete", "namespace", namespace, "--wait=false", check=False)


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


@pytest.fixture
def plain_redis(tmp_path):
    """A Redis server of the test's own without a TLS port."""
    with own_redis(tmp_path) as server:
        yield server

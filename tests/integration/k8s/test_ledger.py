"""The release ledger and the run lock against the lab API server: ConfigMaps written
with resourceVersion preconditions (a 409 race loses nobody's step), chunks past the
1 MiB object limit, retried throttling, and a Lease that names its holder."""

import json
import threading
import uuid

import pytest

from ansible_collections.golive.core.plugins.module_utils.common.errors import Conflict, Refused
from ansible_collections.golive.core.plugins.module_utils.k8s.client import Kube
from ansible_collections.golive.core.plugins.module_utils.ledger import record as rec
from ansible_collections.golive.core.plugins.module_utils.ledger.lock import make_holder
from ansible_collections.golive.core.plugins.module_utils.ledger.run import Ledger
from ansible_collections.golive.core.plugins.module_utils.ledger.store import LedgerStore


@pytest.fixture
def kube(k8s_lab):
    client = Kube({"kubeconfig": k8s_lab["kubeconfig"]}, deadline=60)
    yield client
    client.close()


@pytest.fixture
def names():
    suffix = uuid.uuid4().hex[:6]
    return "env-" + suffix, "R-" + suffix


def ledger(kube, env, release, **kw):
    return Ledger(kube, env, release, namespace="golive-system", **kw)


def test_open_step_close_and_the_record_as_kubectl_sees_it(kube, names, tmp_path):
    env, release = names
    led = ledger(kube, env, release, artifact_dir=str(tmp_path))
    run = led.open(job_id="17")
    assert run["resumed"] is False
    assert led.begin(run["run_id"], "phase4", "deploy", {"image": "v2"}, undo={"image": "v1"})["decision"] == rec.RUN
    led.finish(run["run_id"], "phase4", "deploy", rec.DONE, changed=True, after={"image": "v2"})
    assert led.begin(run["run_id"], "phase4", "deploy", {"image": "v2"})["decision"] == rec.SKIP
    led.close(run["run_id"])
    head = kube.get("/api/v1/namespaces/golive-system/configmaps/golive-ledger.%s.%s" % (env, release.lower() + "-"
                                                                                        + _digest(release)))
    stored = json.loads(head["data"]["record.json"])
    assert stored["steps"][0]["intent"]["undo"] == {"image": "v1"} and stored["steps"][0]["status"] == "done"
    assert head["metadata"]["labels"]["golive.io/release"] == release
    copy = json.loads((tmp_path / ("ledger-%s-%s.json" % (env, release))).read_text())
    assert copy == stored
    lease = kube.get("/apis/coordination.k8s.io/v1/namespaces/golive-system/leases/golive-run.%s" % env)
    assert not lease["spec"].get("holderIdentity")  # released
    assert json.loads(lease["metadata"]["annotations"]["golive.io/last-holder"])["job_id"] == "17"


def _digest(text):
    import hashlib
    return hashlib.sha256(text.encode()).hexdigest()[:6]


def test_a_second_run_is_refused_naming_the_holder_until_the_lock_is_broken(kube, names):
    env, release = names
    first = ledger(kube, env, release).open(job_id="41")
    with pytest.raises(Refused) as refused:
        ledger(kube, env, release).open()
    text = str(refused.value)
    assert "pid" in text and "AWX job 41" in text and first["run_id"] in text and "break_lock=true" in text
    second = ledger(kube, env, release).open(break_lock=True)
    assert second["broke_lock_of"]["run_id"] == first["run_id"] and second["resumed"] is True
    # The first run, still alive somewhere, can no longer write.
    with pytest.raises(Refused) as lost:
        ledger(kube, env, release).begin(first["run_id"], "phase4", "x", {})
    assert second["run_id"] in str(lost.value)
    record = ledger(kube, env, release).read()
    assert record["events"][0]["event"] == "lock-broken" and record["runs"][1]["broke_lock_of"]["job_id"] == "41"


def test_two_writers_racing_keep_both_steps(kube, names, k8s_lab):
    env, release = names
    led = ledger(kube, env, release)
    run_id = led.open()["run_id"]
    store = LedgerStore(kube)
    # A writer that read before another one wrote gets 409 from the API server...
    record, version = store.read(env, release)
    led.begin(run_id, "phase4", "tls", {})
    with pytest.raises(Conflict):
        store.write(env, release, rec.begin_step(record, "phase4", "deploy", run_id, "f", "t"), version)
    # ...and through update(), re-reads and keeps both. Many threads at once, one client each.
    errors = []

    def writer(i):
        client = Kube({"kubeconfig": k8s_lab["kubeconfig"]}, deadline=60)
        try:
            ledger(client, env, release).begin(run_id, "phase4", "step-%d" % i, {"i": i})
        except Exception as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)
        finally:
            client.close()

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    ids = sorted(s["id"] for s in led.read()["steps"])
    assert ids == sorted(["phase4/tls"] + ["phase4/step-%d" % i for i in range(12)])


def test_a_record_past_the_object_limit_is_chunked_and_reads_back(kube, names):
    env, release = names
    led = ledger(kube, env, release)
    run_id = led.open()["run_id"]
    big = "x" * (1024 * 1024)
    for i in range(3):  # 3 MiB of outputs: every write replaces the generation of chunks
        led.begin(run_id, "phase4", "big-%d" % i, {}, before={"blob": big})
    record = led.read()
    assert [s["intent"]["before"]["blob"] == big for s in record["steps"]] == [True] * 3
    chunks = kube.list("/api/v1/namespaces/golive-system/configmaps",
                       label_selector="golive.io/ledger=chunk,golive.io/ledger-head=%s" % _head(env, release))
    assert len(chunks) == 4  # one generation only: older ones are deleted
    assert len({c["metadata"]["annotations"]["golive.io/generation"] for c in chunks}) == 1


def _head(env, release):
    from ansible_collections.golive.core.plugins.module_utils.ledger.store import head_name
    return head_name(env, release)


def test_the_lab_refuses_a_configmap_over_one_mebibyte(kube):
    from ansible_collections.golive.core.plugins.module_utils.common.errors import BackendError
    with pytest.raises(BackendError) as exc:
        kube.request("POST", "/api/v1/namespaces/default/configmaps", body={
            "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "too-big"},
            "data": {"x": "y" * (1024 * 1024 + 1)}})
    assert "at most 1048576 bytes" in str(exc.value)


def test_throttled_and_failing_requests_are_retried(kube, names, control):
    env, release = names
    control.set_faults({"path": "/api/v1/namespaces/golive-system/configmaps.*", "fraction": 0.5,
                        "status": 429, "retry_after": 0, "times": 6},
                       {"path": "/apis/coordination.k8s.io/.*", "fraction": 0.5, "status": 503, "times": 4},
                       seed=3)
    led = ledger(kube, env, release)
    run_id = led.open()["run_id"]
    for i in range(4):
        led.begin(run_id, "phase1", "s%d" % i, {})
        led.finish(run_id, "phase1", "s%d" % i, rec.DONE, changed=False)
    assert [s["status"] for s in led.read()["steps"]] == ["done"] * 4
    assert sum(rule["hits"] for rule in control.faults()["rules"]) > 0


def test_check_mode_writes_nothing(kube, names):
    env, release = names
    led = ledger(kube, env, release)
    answer = led.open(check_mode=True)
    assert answer["run_id"] == "check-mode" and led.read() is None
    assert kube.get("/apis/coordination.k8s.io/v1/namespaces/golive-system/leases/golive-run.%s" % env,
                    missing_ok=True) is None
    assert make_holder("r", "R")["user"]

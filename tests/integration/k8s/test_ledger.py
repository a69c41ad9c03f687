"""The release ledger and the run lock against the lab API server: ConfigMaps written
with resourceVersion preconditions (a 409 race loses nobody's step), chunks past the
1 MiB object limit, retried throttling, and a Lease that names its holder."""

import json
import threading
import uuid

import pytest

from ansible_collections.golive.core.plugins.module_utils.common.errors import Conflict, Refused
from ansible_collections.golive.core.plugins.module_utils.k8s.client import Kube, KubeSettings
from ansible_collections.golive.core.plugins.module_utils.ledger import record as rec
from ansible_collections.golive.core.plugins.module_utils.ledger.lock import make_holder
from ansible_collections.golive.core.plugins.module_utils.ledger.run import Ledger
from ansible_collections.golive.core.plugins.module_utils.ledger.store import LedgerStore


@pytest.fixture
def kube(k8s_lab):
    client = Kube(KubeSettings(kubeconfig=k8s_lab["kubeconfig"]), deadline=60)
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


def lease(kube, env):
    return kube.get("/apis/coordination.k8s.io/v1/namespaces/golive-system/leases/golive-run.%s" % env,
                    missing_ok=True)


def test_a_live_run_keeps_its_lock_against_break_lock_and_loses_it_only_to_force_naming_it(kube, names):
    env, release = names
    first = ledger(kube, env, release).open(job_id="41")  # its holder is this test's parent: alive here
    for kwargs in ({}, {"break_lock": True}, {"force": "some-other-run"}):
        with pytest.raises(Refused) as refused:
            ledger(kube, env, release).open(**kwargs)
        text = str(refused.value)
        assert "pid" in text and "AWX job 41" in text and first["run_id"] in text, text
        assert "is running on this host" in text and "last renewed 0s ago" in text, text
    assert "break_lock never takes the lock of a run whose process is running" in text or "force_break_lock" in text
    second = ledger(kube, env, release).open(force=first["run_id"])
    assert second["took_lock"]["how"] == "force" and second["broke_lock_of"]["run_id"] == first["run_id"]
    # The first run, still alive somewhere, can no longer write.
    with pytest.raises(Refused) as lost:
        ledger(kube, env, release).begin(first["run_id"], "phase4", "x", {})
    assert second["run_id"] in str(lost.value)
    record = ledger(kube, env, release).read()
    assert record["events"][0]["event"] == "lock-force-broken" and record["events"][0]["old_run"] == first["run_id"]
    assert record["runs"][0]["status"] == "interrupted" and record["runs"][0]["interrupted_by"]["how"] == "force"
    assert record["runs"][1]["broke_lock_of"]["job_id"] == "41"


def test_the_lock_of_a_run_whose_process_is_gone_is_taken_over_without_asking(kube, names):
    import subprocess
    env, release = names
    other_release = "R-old-" + uuid.uuid4().hex[:4]
    dead = subprocess.Popen(["sleep", "60"])
    holder = make_holder("run-killed", other_release, pid=dead.pid)
    ledger(kube, env, other_release).open(holder=holder)  # a go-live of another release, then kill -9
    dead.kill()
    dead.wait()
    taken = ledger(kube, env, release).open()
    assert taken["took_lock"]["how"] == "take-over" and "no longer exists" in taken["took_lock"]["why"]
    assert lease(kube, env)["spec"]["holderIdentity"] == taken["run_id"]
    # Recorded in both ledgers: the new run names the old one, the old run is interrupted.
    event = ledger(kube, env, release).read()["events"][0]
    assert event["event"] == "lock-taken-over" and event["old_run"] == "run-killed"
    old = ledger(kube, env, other_release).read()["runs"][0]
    assert old["status"] == "interrupted" and old["interrupted_by"] == {"run": taken["run_id"], "how": "take-over",
                                                                        "at": old["finished"]}


def test_break_lock_takes_a_lock_held_elsewhere_only_once_its_lease_expired(kube, names):
    import datetime
    env, release = names
    elsewhere = make_holder("run-elsewhere", release, host="awx-job-17-xyz", pid=7)
    stale = ledger(kube, env, release, lease_seconds=60)
    stale.lock.clock = lambda: datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=30)
    stale.open(holder=elsewhere)  # renewed 30 s ago, a 60 s lease: not expired
    with pytest.raises(Refused) as refused:
        ledger(kube, env, release).open(break_lock=True)
    text = str(refused.value)
    assert "runs on host awx-job-17-xyz" in text and "lease expires in" in text
    assert "-e golive_force_break_lock=run-elsewhere" in text
    # Nobody renews it for long: now it has expired, and break_lock takes it.
    current = lease(kube, env)
    current["spec"]["renewTime"] = "2026-01-01T00:00:00.000000Z"
    kube.request("PUT", "/apis/coordination.k8s.io/v1/namespaces/golive-system/leases/golive-run.%s" % env,
                 body=current)
    with pytest.raises(Refused) as expired:
        ledger(kube, env, release).open()  # expired, but nobody asked to break it
    assert "(lease expired)" in str(expired.value) and "-e golive_break_lock=true" in str(expired.value)
    broken = ledger(kube, env, release).open(break_lock=True)
    assert broken["took_lock"]["how"] == "break"
    assert ledger(kube, env, release).read()["events"][0]["event"] == "lock-broken"


def test_a_bad_release_id_or_a_missing_record_is_refused_before_the_lock_is_touched(kube, names):
    from ansible_collections.golive.core.plugins.module_utils.common.errors import InvalidInput, NotFound
    env, release = names
    for bad in ("2026/11.3", "../../../x", "x" * 300, "r\u00e9lease", "2026.11.3\n", "2026.11.3\nx"):
        with pytest.raises(InvalidInput):
            ledger(kube, env, bad).open()
    with pytest.raises(NotFound) as missing:
        ledger(kube, env, release).open(require_record=True)
    assert "Nothing was changed" in str(missing.value)
    assert lease(kube, env) is None
    # A plan that refuses (a migration without a recorded backup) refuses before the lock too.
    from ansible_collections.golive.core.plugins.module_utils.ledger import rollback
    led = ledger(kube, env, release)
    run_id = led.open()["run_id"]
    led.begin(run_id, "phase2", "migrate", {}, undo={"database": "pager", "backup_id": None})
    led.close(run_id)
    with pytest.raises(Refused) as refused:
        ledger(kube, env, release).open(require_record=True, plan=rollback.emergency)
    assert "rollback_emergency_skip_database=true" in str(refused.value)
    assert not lease(kube, env)["spec"].get("holderIdentity")


def test_a_long_step_keeps_its_lease_renewed(kube, names):
    import time
    from ansible_collections.golive.core.plugins.module_utils.ledger.run import StepRecorder
    env, release = names
    led = ledger(kube, env, release, lease_seconds=3)  # renewed every second while the step acts
    run_id = led.open()["run_id"]
    recorder = StepRecorder(led, run_id, "rollback", "db-restore")
    recorder.begin({"database": "pager"})
    first = lease(kube, env)["spec"]["renewTime"]
    time.sleep(2.5)
    assert recorder.heartbeat.renewals >= 1 and lease(kube, env)["spec"]["renewTime"] > first
    recorder.finish("done", changed=True)
    assert recorder.heartbeat is None
    led.close(run_id)


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
        client = Kube(KubeSettings(kubeconfig=k8s_lab["kubeconfig"]), deadline=60)
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


def test_the_ledger_goes_on_across_a_compaction_of_the_watch_history(kube, names, lab_control):
    """It reads and writes with resourceVersion preconditions, never resumes a watch: a
    compaction (410 for an old resourceVersion) in the middle of a run changes nothing."""
    env, release = names
    led = ledger(kube, env, release)
    run = led.open(job_id="18")
    led.begin(run["run_id"], "phase4", "deploy", {"image": "v2"}, undo={"image": "v1"})
    lab_control.compact()
    led.finish(run["run_id"], "phase4", "deploy", rec.DONE, changed=True, after={"image": "v2"})
    assert led.begin(run["run_id"], "phase4", "deploy", {"image": "v2"})["decision"] == rec.SKIP
    led.close(run["run_id"])
    record = ledger(kube, env, release).read()
    assert [(s["step"], s["status"]) for s in record["steps"]] == [("deploy", "done")]

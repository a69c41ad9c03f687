"""playbooks/rollback_emergency.yml -e release=<id> against the lab, after a real go-live of
the next pager release (its migration V5, the rollout, the DNS cutover): the router serves
the maintenance page first, then the previous version; the database has its rows of before
the migration and the rows written since are kept in the database set aside; DNS answers
the old site on both servers; the replica counts are as before. A rollback killed during
the database restore completes when run again, restores once, and records no step twice.
A wrong release id, a release without a ledger here, and a release whose go-live holds the
run lock are refused, changing nothing."""

import json
import os
import signal
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest

from helpers import (
    ansible_env,
    answers,
    BIN,
    by_hand,
    column_exists,
    CURRENT,
    kept_databases,
    kubectl,
    lab_vars_file,
    NEXT,
    next_release_schema,
    PREVIOUS,
    read_ledger,
    REPO,
    request,
    run_playbook,
    schema_before_next_release,
    sql,
    switch,
    wait,
)

pytestmark = pytest.mark.xdist_group("pager")


def golive(release, environment):
    # A go-live to roll back: phase 5 without its final checks on the new site and its T-0
    # journeys (phase 5's own tests cover them); the cutover and its traffic validation remain.
    overrides = {"phase5_golive_performance_objectives": [], "phase5_golive_traffic_count": 2,
                 "phase5_golive_load_test": {}, "phase5_golive_tls_ingress_namespaces": [], "phase5_golive_secrets": [],
                 "phase5_golive_images": {}, "phase5_golive_protected_requests": [], "phase5_golive_t0_requests": [],
                 "phase5_golive_test_notification_channels": [], "phase5_golive_traffic_interval": 1}
    return run_playbook("playbooks/golive.yml", "--tags", "phase2,phase4,phase5", "-e", "golive_release=%s" % release,
                        "-e", "golive_app_version=%s" % NEXT, "-e", "golive_change_id=CHG-77",
                        "-e", "golive_approved_by=carol", "-e", json.dumps(overrides),
                        environment=environment, timeout=900)


def rollback_cmd(release, environment, *extra):
    return [str(BIN / "ansible-playbook"), "-i", "inventories/lab", "playbooks/rollback_emergency.yml",
            "-e", "@%s" % lab_vars_file(), "-e", "golive_environment=%s" % environment, "-e", "release=%s" % release,
            *extra]


def rollback(release, environment, *extra):
    return subprocess.run(rollback_cmd(release, environment, *extra), cwd=REPO, env=ansible_env(), capture_output=True,
                          text=True, timeout=900, check=False)


class Sink:
    """A webhook receiver on loopback that keeps the JSON bodies it was sent."""

    def __init__(self):
        from http.server import BaseHTTPRequestHandler, HTTPServer
        received = self.received = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d/hook" % self.server.server_port
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class Watcher(threading.Thread):
    """What a user sees through the router while the rollback runs: the version answering."""

    def __init__(self, app):
        super().__init__(daemon=True)
        self.app, self.seen, self.stop = app, [], threading.Event()

    def run(self):
        while not self.stop.is_set():
            try:
                status, headers, _body, _cert = request(self.app, path="/version", site="new")
                version = dict((k.lower(), v) for k, v in headers.items()).get("x-app-version")
                answer = "maintenance" if version == "1" else version or str(status)
            except OSError:
                answer = "no answer"
            if not self.seen or self.seen[-1] != answer:
                self.seen.append(answer)
            time.sleep(0.05)


@pytest.fixture
def went_live(lab, pager, dns_at_old_site):
    """A go-live of the next release (phases 2, 4 and 5) from the running one, with V5 to migrate."""
    schema_before_next_release(lab)
    kept_before = kept_databases(lab)
    release, environment = "R9-%s" % uuid.uuid4().hex[:6], "itest-%s" % uuid.uuid4().hex[:6]
    yield {"release": release, "environment": environment, "kept_before": kept_before}
    # Whatever happened, the pager's Ingress and Deployment carry no rollback state afterwards.
    from ansible_collections.golive.core.plugins.module_utils.k8s import maintenance
    from ansible_collections.golive.core.plugins.module_utils.k8s.client import Kube, KubeSettings
    kube = Kube(KubeSettings(kubeconfig=lab["k8s"]["kubeconfig"]), deadline=30)
    try:
        maintenance.switch(kube, [{"namespace": lab["app"]["namespace"], "name": "pager"}], state="disabled")
    finally:
        kube.close()
    kubectl(lab, "annotate", "deployment", "pager", "golive.io/saved-replicas-")
    for name in kept_databases(lab) - kept_before:
        sql(lab, 'DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % name, dbname="postgres")
    sql(lab, "DROP TABLE IF EXISTS rollback_filler")


def go_live_and_write(lab, went_live, filler=False):
    if filler:  # a database big enough that its restore takes a few seconds
        sql(lab, "CREATE TABLE rollback_filler AS SELECT g AS id, repeat('x', 200) AS pad "
                 "FROM generate_series(1, 200000) g")
    incidents = sql(lab, "SELECT count(*) FROM incidents")[0][0]
    live = golive(went_live["release"], went_live["environment"])
    assert live.returncode == 0, live.stdout[-5000:] + live.stderr[-2000:]
    new = lab["app"]["sites"]["new"]
    assert answers(lab, "app") == {ns: [new] for ns in lab["dns"]["nameservers"]}
    assert request(lab["app"], site="new")[1].get("X-App-Version") == NEXT
    # Written after the go-live, through the new column: kept aside by the rollback, not lost.
    tag = "written after the go-live of %s" % went_live["release"]
    sql(lab, "INSERT INTO incidents (title, severity, reporter_id, acknowledged_at) "
             "SELECT %s, 'sev3', min(id), now() FROM pager_users", (tag,))
    return incidents, tag


def kill_tree(pid, sig=signal.SIGKILL):
    """SIGKILL a process and every process under it, as a machine that dies would stop them
    (a module runs in a process of its own; killing ansible-playbook alone lets it finish).
    SIGSTOP freezes them where they are: alive, but going nowhere."""
    table = [line.split() for line in subprocess.run(["ps", "-eo", "pid=,ppid="], capture_output=True, text=True,
                                                     check=True).stdout.splitlines()]
    children = {}
    for child, parent in table:
        children.setdefault(int(parent), []).append(int(child))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children.get(current, []))
    for each in tree:
        try:
            os.kill(each, sig)
        except ProcessLookupError:
            pass


def assert_rolled_back(lab, went_live, incidents, tag):
    old = lab["app"]["sites"]["old"]
    assert not column_exists(lab), "the migration's column is gone"
    assert sql(lab, "SELECT count(*) FROM incidents")[0][0] == incidents
    assert sql(lab, "SELECT count(*) FROM incidents WHERE title = %s", (tag,))[0][0] == 0
    kept = kept_databases(lab) - went_live["kept_before"]
    assert len(kept) == 1, kept  # restored once
    kept = kept.pop()
    assert column_exists(lab, kept)
    assert sql(lab, "SELECT count(*) FROM incidents WHERE title = %s", (tag,), dbname=kept)[0][0] == 1
    assert answers(lab, "app") == answers(lab, "www") == {ns: [old] for ns in lab["dns"]["nameservers"]}
    deployment = json.loads(kubectl(lab, "get", "deployment", "pager", "-o", "json").stdout)
    assert deployment["spec"]["replicas"] == 2 and deployment["status"].get("readyReplicas") == 2
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == CURRENT
    assert "golive.io/saved-replicas" not in (deployment["metadata"].get("annotations") or {})
    ingress = json.loads(kubectl(lab, "get", "ingress", "pager", "-o", "json").stdout)
    assert set(p["backend"]["service"]["name"] for r in ingress["spec"]["rules"] for p in r["http"]["paths"]) == {"pager"}
    for site in ("old", "new"):
        assert request(lab["app"], site=site)[1].get("X-App-Version") == PREVIOUS
    record = read_ledger(lab, went_live["environment"], went_live["release"])
    ids = [s["id"] for s in record["steps"]]
    assert len(ids) == len(set(ids)), "no step is recorded twice"
    rollback_steps = dict((s["id"], s) for s in record["steps"] if s["phase"] == "rollback")
    assert sorted(rollback_steps) == sorted(["rollback/maintenance-on", "rollback/scale-down", "rollback/db-restore",
                                             "rollback/redeploy", "rollback/scale-up-50", "rollback/scale-up-100",
                                             "rollback/maintenance-off", "rollback/dns-revert"])
    assert all(s["status"] == "done" for s in rollback_steps.values())
    return record, rollback_steps


def test_emergency_rollback_from_the_release_id_alone(lab, went_live):
    incidents, tag = go_live_and_write(lab, went_live)
    planned = rollback(went_live["release"], went_live["environment"], "--check")
    assert planned.returncode == 0, planned.stdout[-5000:]
    assert "pre-deploy-%s" % went_live["release"] in planned.stdout  # the backup it would restore
    assert "registry.lab.example/pager:%s" % PREVIOUS in planned.stdout  # the version it would redeploy
    assert request(lab["app"], site="new")[1].get("X-App-Version") == NEXT  # --check changed nothing
    assert column_exists(lab)

    watcher = Watcher(lab["app"])
    watcher.start()
    try:
        done = rollback(went_live["release"], went_live["environment"])
    finally:
        watcher.stop.set()
        watcher.join(timeout=5)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    # Observed as a user: the maintenance page first, then the previous version; never the next again.
    seen = [s for s in watcher.seen if s in ("maintenance", NEXT, PREVIOUS)]
    assert "maintenance" in seen and seen[-1] == PREVIOUS, watcher.seen
    assert seen.index("maintenance") < seen.index(PREVIOUS), watcher.seen
    assert NEXT not in seen[seen.index("maintenance"):], watcher.seen
    assert_rolled_back(lab, went_live, incidents, tag)
    for secret in (lab["postgres"]["admin_password"], lab["dns"]["tsig_secret"], lab["s3"]["secret_key"]):
        if secret and secret != "testing":
            assert secret not in done.stdout + done.stderr + planned.stdout
    assert "[WARNING]" not in done.stdout + done.stderr, done.stdout + done.stderr  # a clean rollback warns of nothing

    again = rollback(went_live["release"], went_live["environment"])
    assert again.returncode == 0, again.stdout[-4000:]
    assert "changed=0" in again.stdout  # every step was done: nothing is done twice

    # One report of the release across its runs: the go-live's phases, then the rollbacks.
    report = run_playbook("playbooks/report.yml", "-e", "release=%s" % went_live["release"],
                          environment=went_live["environment"])
    assert report.returncode == 0, report.stdout[-4000:]
    folder = Path(ansible_env()["GOLIVE_REPORT_DIR"]) / "releases" / went_live["environment"] / went_live["release"]
    made = json.loads((folder / "report" / "report.json").read_text())
    assert made["verdict"] == "rolled back" and made["scope"] == "release"
    phases = set(t["phase"] for t in made["tasks"])
    assert {"phase2", "phase4", "phase5", "rollback"} <= phases, phases
    assert [r["evidence"] for r in made["runs"]] == ["here"] * 3  # the go-live, the rollback, its re-run
    validated = [c for c in made["checks"] if c["id"] == "http.version" and c["phase"] == "rollback"]
    assert validated and validated[0]["status"] == "pass"
    assert validated[0]["evidence"]["assertions"] == ["version == '%s'" % PREVIOUS]  # asked for the previous one
    rows = dict((r["item"], r) for r in made["checklist"])
    assert rows["3. Database Rollback: Restore from pre-deployment backup"]["status"] == "pass"
    assert rows["4. Validate Rollback: Ensure previous version is stable"]["status"] == "pass"
    evidenced = set(e["phase"] for r in made["checklist"] if not r["rollback"] for e in r["evidence"])
    assert {"phase2", "phase4", "phase5"} <= evidenced and not evidenced & {"rollback", "rollback-validation"}
    for name in ("report.html", "report.md", "junit.xml"):
        assert (folder / "report" / name).is_file()


def test_a_live_rollback_keeps_its_lock_and_a_killed_one_is_continued_by_the_same_command(lab, went_live):
    """A second rollback with -e golive_break_lock=true while the first restores the
    database (held there with SIGSTOP) is refused, naming the first; the first is killed
    (-9, the whole process tree); then someone changes the app record by hand; the same command, with no flag,
    takes the dead run's lock over, finishes the restore once, reverts www and leaves app,
    naming it and the -e that puts it back; with that -e, the rollback finishes."""
    incidents, tag = go_live_and_write(lab, went_live, filler=True)
    release, environment = went_live["release"], went_live["environment"]
    first = subprocess.Popen(rollback_cmd(release, environment), cwd=REPO, env=ansible_env(),
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait(lambda: sql(lab, "SELECT 1 FROM pg_database WHERE datname LIKE %s",
                         (lab["postgres"]["database"] + "_restoring_%",), dbname="postgres"),
             timeout=300, what="the rollback to be restoring the database")
        kill_tree(first.pid, signal.SIGSTOP)  # held mid-restore, alive, while a second rollback tries
        second = rollback(release, environment, "-e", "golive_break_lock=true")
        out = second.stdout + second.stderr
        assert second.returncode != 0 and "pid %d" % first.pid in out and "is running on this host" in out, out[-3000:]
        assert "break_lock never takes the lock of a run whose process is running" in out
        assert first.poll() is None
    finally:
        kill_tree(first.pid)
        first.wait(timeout=30)
    time.sleep(1)  # nothing is left running that could still write
    steps = dict((s["id"], s) for s in read_ledger(lab, environment, release)["steps"])
    assert steps["rollback/db-restore"]["status"] == "started"
    assert [r["status"] for r in read_ledger(lab, environment, release)["runs"]][-1] == "running"

    by_hand(lab, "app", "127.0.0.9")  # someone moves app while the rollback is down
    resumed = rollback(release, environment)
    out = resumed.stdout + resumed.stderr
    assert resumed.returncode != 0, out[-5000:]
    assert "Took over the run lock of environment %s" % environment in out and "no longer exists" in out
    assert "left app.lab.example. A, which someone changed after the cutover" in out, out[-5000:]
    assert "-e rollback_emergency_dns_overwrite=true" in out and "-e rollback_emergency_dns_keep_changed=true" in out
    old = lab["app"]["sites"]["old"]
    wait(lambda: answers(lab, "www") == {ns: [old] for ns in lab["dns"]["nameservers"]}, what="www reverted")
    assert answers(lab, "app") == {ns: ["127.0.0.9"] for ns in lab["dns"]["nameservers"]}  # left as it was
    record = read_ledger(lab, environment, release)
    assert record["runs"][-2]["status"] == "interrupted"  # the killed run, marked by the one that took over
    assert [e["event"] for e in record["events"]].count("lock-taken-over") == 1

    finished = rollback(release, environment, "-e", "rollback_emergency_dns_overwrite=true")
    assert finished.returncode == 0, finished.stdout[-6000:] + finished.stderr[-2000:]
    record, rollback_steps = assert_rolled_back(lab, went_live, incidents, tag)
    assert rollback_steps["rollback/db-restore"]["attempts"] == 2
    assert rollback_steps["rollback/scale-down"]["attempts"] == 1  # done before the kill: not done again
    assert rollback_steps["rollback/dns-revert"]["attempts"] == 2
    assert not sql(lab, "SELECT 1 FROM pg_database WHERE datname LIKE %s",
                   (lab["postgres"]["database"] + "_restoring_%",), dbname="postgres")
    assert sql(lab, "SELECT count(*) FROM rollback_filler")[0][0] == 200000


def test_a_rollback_is_refused_without_a_ledger_or_while_a_go_live_holds_the_lock(lab, pager):
    environment = "itest-%s" % uuid.uuid4().hex[:6]
    for release, expected in (("no-such-release", "has no ledger in environment %s" % environment),
                              ("bad/id", "Give the release to roll back")):
        proc = rollback(release, environment)
        out = proc.stdout + proc.stderr
        assert proc.returncode != 0 and expected in out, out[-3000:]
        assert "Nothing was changed" in out and "Traceback" not in out

    # A release whose ledger is in another environment is named there.
    from ansible_collections.golive.core.plugins.module_utils.k8s.client import Kube, KubeSettings
    from ansible_collections.golive.core.plugins.module_utils.ledger.run import Ledger
    kube = Kube(KubeSettings(kubeconfig=lab["k8s"]["kubeconfig"]), deadline=30)
    release = "R8-%s" % uuid.uuid4().hex[:6]
    try:
        ledger = Ledger(kube, environment, release)
        run_id = ledger.open()["run_id"]  # a go-live running now, holding the lock
        elsewhere = rollback(release, "itest-%s" % uuid.uuid4().hex[:6])
        assert elsewhere.returncode != 0 and "it has one in %s, use" % environment in elsewhere.stdout
        held = rollback(release, environment)
        out = held.stdout + held.stderr
        assert held.returncode != 0 and "run lock of environment %s" % environment in out, out[-3000:]
        assert not [s for s in ledger.read()["steps"] if s["phase"] == "rollback"]
        ledger.close(run_id)
    finally:
        kube.close()
    assert request(lab["app"])[1].get("X-App-Version") == PREVIOUS


class VersionAnswer:
    """A loopback HTTP server that answers /version with a version of our choosing: what a
    validation sees when a version other than the ledger's answers."""

    def __init__(self, version):
        from http.server import BaseHTTPRequestHandler, HTTPServer

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                body = json.dumps({"app": "pager", "version": version}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d/version" % self.server.server_port
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_the_rollback_fails_its_validation_when_another_version_answers(lab, went_live):
    """The ledger says the release replaced 2026.11.2: a validation answered by 2026.11.3
    fails, naming both, though every step ran; the same validation answered by 2026.11.2
    passes."""
    release, environment = went_live["release"], went_live["environment"]
    next_release_schema(lab)
    live = run_playbook("playbooks/golive.yml", "--tags", "phase4", "-e", "golive_release=%s" % release,
                        "-e", "golive_app_version=%s" % NEXT, environment=environment)
    assert live.returncode == 0, live.stdout[-4000:]
    wrong, right = VersionAnswer(NEXT), VersionAnswer(PREVIOUS)
    try:
        def validated_by(answer):
            overrides = {"rollback_emergency_validation_requests": [{"name": "version", "url": answer.url}],
                         "rollback_emergency_validation_options": {}}
            return rollback(release, environment, "-e", json.dumps(overrides))

        failed = validated_by(wrong)
        out = failed.stdout + failed.stderr
        assert failed.returncode != 0, out[-4000:]
        assert "Validate that the previous version answers, through DNS (rollback/validate)" in out
        assert "version == '%s'" % PREVIOUS in out and '"version": "%s"' % NEXT in out.replace('\\"', '"'), out[-4000:]
        assert "-e rollback_emergency_expected_version=<version>" in out
        assert request(lab["app"])[1].get("X-App-Version") == PREVIOUS  # the steps themselves ran
        passed = validated_by(right)
        assert passed.returncode == 0, passed.stdout[-4000:]
        assert "changed=0" in passed.stdout  # every step was done: only the validation ran again
    finally:
        wrong.close()
        right.close()


def test_controlled_rollback_assesses_asks_for_confirmation_then_rolls_back_and_drafts_a_postmortem(
        lab, lab_instance, went_live, tmp_path):
    """A go-live of phase 4 only (the emergency test covers the database and DNS) whose API
    then fails 30 % of its requests: without the confirmation the assessment is written (the
    error ratio measured against its threshold, the failing route named, what happens to the
    database) and nothing changes; with it, the rollback runs, validation passes and a
    post-mortem draft holds the assessment and a timeline of every step with its duration."""
    release, environment = went_live["release"], went_live["environment"]
    next_release_schema(lab)  # what its phase 2 would have done: the next version needs V5
    live = run_playbook("playbooks/golive.yml", "--tags", "phase4", "-e", "golive_release=%s" % release,
                        "-e", "golive_app_version=%s" % NEXT, environment=environment)
    assert live.returncode == 0, live.stdout[-4000:]
    sink = Sink()
    reports = {"golive_artifact_dir": str(tmp_path), "rollback_emergency_webhook_url": sink.url}

    def controlled(*extra):
        return subprocess.run([str(BIN / "ansible-playbook"), "-i", "inventories/lab", "playbooks/rollback_controlled.yml",
                               "-e", "@%s" % lab_vars_file(), "-e", "golive_environment=%s" % environment,
                               "-e", "release=%s" % release, "-e", json.dumps(reports), *extra],
                              cwd=REPO, env=ansible_env(), capture_output=True, text=True, timeout=900, check=False)

    from lab.services.prometheus import query

    def error_ratio():
        return max([float(r["value"][1]) for r in query(lab["prometheus"]["url"], "pager:http_error_ratio:rate1m")]
                   or [0.0])

    switch(lab, lab_instance, LAB_ERROR_RATIO=0.3)  # until the rollback replaces these Pods

    def users_keep_trying():
        """Ten more API requests, 3 in 10 failing; true once Prometheus's rate sees the errors
        (a counter's first sample is no increase: the traffic must go on across scrapes)."""
        for _ in range(10):
            request(lab["app"], path="/api/incidents")
        return error_ratio() > 0.05

    wait(users_keep_trying, timeout=60, what="Prometheus to see the errors")
    asked = controlled()
    assert asked.returncode != 0 and "-e rollback_confirm=%s" % release in asked.stdout, asked.stdout[-3000:]
    impact = json.loads((tmp_path / ("impact-%s.json" % release)).read_text())
    assert impact["changed_by_the_release"] == ["phase4/deploy"]
    errors = impact["objectives"]["server-errors"]
    assert errors["verdict"] == "failed" and errors["value"] > 0.05 and errors["threshold"] == "<= 0.01", errors
    assert impact["services"]["svc.pager.pager"] == "pass"  # the Pods are ready: only requests fail
    failing = [t for t in impact["troubled"] if t.get("objective") == "failing-requests"]
    assert [t["series"] for t in failing] == ["route=/api/incidents"] and failing[0]["value"] > 0.05, impact
    assert impact["database"] == {"restored": False, "why_not": "the release did not migrate the database"}
    assert request(lab["app"])[1].get("X-App-Version") == NEXT  # nothing changed

    done = controlled("-e", "rollback_confirm=%s" % release)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    assert request(lab["app"])[1].get("X-App-Version") == PREVIOUS
    draft = (tmp_path / ("postmortem-%s.md" % release)).read_text()
    assert "# Post-mortem (draft): release %s" % release in draft
    for step in ("phase4/deploy", "rollback/maintenance-on", "rollback/scale-down", "rollback/redeploy",
                 "rollback/maintenance-off"):
        row = [line for line in draft.splitlines() if line.startswith("| %s |" % step)]
        assert row and row[0].split(" | ")[3].replace(".", "").isdigit(), row  # its duration, in seconds
    assert "rollback/db-restore" not in draft  # the release migrated nothing
    assert "Objective server-errors: failed, measured" in draft and "(threshold <= 0.01)" in draft
    assert "In trouble: failing-requests route=/api/incidents" in draft
    assert "Not restored: the release did not migrate the database" in draft
    # The injected errors leave Prometheus's one-minute window before the next test measures.
    wait(lambda: error_ratio() <= 0.001, timeout=90, what="the injected errors to leave the window")
    sink.close()
    assert [(m["event"], m["release"]) for m in sink.received] == [
        ("rollback-assessed", release), ("rollback-assessed", release), ("rollback-started", release),
        ("rollback-finished", release)]

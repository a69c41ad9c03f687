"""playbooks/golive.yml --tags phase4 against the lab with the pager running: the router
answers with the new version, the ledger in the cluster has each step once, a release that
never becomes ready fails naming why while the old version keeps serving, and the run lock
refuses a second run until a killed one's lock is broken explicitly."""

import json
import os
import signal
import subprocess
import uuid

import psycopg2
import pytest

from helpers import (
    ansible_env,
    BIN,
    kubectl,
    lab_vars_file,
    lock_holder,
    next_release_schema,
    read_ledger,
    recap,
    REPO,
    request,
    run_playbook,
    wait,
)


pytestmark = pytest.mark.xdist_group("pager")
NEXT = "2026.11.3"
STEPS = ["phase4/deploy", "phase4/tls", "phase4/health", "phase4/discovery", "phase4/smoke"]


def ids():
    return "R2-%s" % uuid.uuid4().hex[:6], "itest-%s" % uuid.uuid4().hex[:6]


def phase4(release, environment, *extra, version=NEXT):
    return run_playbook("playbooks/golive.yml", "--tags", "phase4", "-e", "golive_release=%s" % release,
                        "-e", "golive_app_version=%s" % version, *extra, environment=environment)


def versions(app):
    return set(request(app, site=site)[1].get("X-App-Version") for site in ("old", "new"))


def secrets_of(lab):
    return [lab["app"]["admin_token"], lab["postgres"]["app_password"], lab["redis"]["password"]]


def test_phase4_deploys_the_next_release_records_each_step_once_and_a_rerun_changes_nothing(lab, pager):
    next_release_schema(lab)
    release, environment = ids()
    first = phase4(release, environment)
    assert first.returncode == 0, first.stdout[-5000:] + first.stderr[-2000:]
    assert recap(first.stdout)["changed"] == 1
    # Observed as a user: both router sites answer with the new version.
    assert versions(pager) == {NEXT}
    image = json.loads(kubectl(lab, "get", "deployment", "pager", "-o", "json").stdout)
    assert image["spec"]["template"]["spec"]["containers"][0]["image"].startswith("registry.lab.example/pager:" + NEXT)
    assert image["metadata"]["annotations"]["kubernetes.io/change-cause"] == "release " + release
    # The smoke test's incident is a row in PostgreSQL.
    pg = lab["postgres"]
    conn = psycopg2.connect(host=pg["host"], port=pg["port"], user=pg["admin_user"], password=pg["admin_password"],
                            dbname=pg["database"])
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM incidents WHERE title = %s", ("smoke test of release " + release,))
            assert cur.fetchone()[0] == 1
    finally:
        conn.close()
    record = read_ledger(lab, environment, release)
    assert [s["id"] for s in record["steps"]] == STEPS
    deploy = record["steps"][0]
    assert deploy["status"] == "done" and deploy["changed"] is True and deploy["attempts"] == 1
    previous = deploy["intent"]["undo"]["workloads"][0]
    assert previous["name"] == "pager" and previous["images"]["pager"].startswith("registry.lab.example/pager:2026.11.2")
    assert all(s["status"] == "done" for s in record["steps"])
    assert lock_holder(lab, environment) is None

    second = phase4(release, environment)
    assert second.returncode == 0, second.stdout[-5000:]
    assert recap(second.stdout)["changed"] == 0
    record = read_ledger(lab, environment, release)
    assert [s["id"] for s in record["steps"]] == STEPS and record["steps"][0]["attempts"] == 1
    assert [r["status"] for r in record["runs"]] == ["finished", "finished"]
    for secret in secrets_of(lab) + [lab["app"]["admin_token"] + "-smoke"]:
        assert secret not in first.stdout + first.stderr + second.stdout + json.dumps(record)

    # A failing check (certificates must have a year left) fails the phase after every check
    # ran and was recorded; the message names it with the days left.
    third = phase4(release, environment, "-e", "phase4_application_tls_min_days=365")
    assert third.returncode != 0
    assert "Require every check of phase 4 to pass" in third.stdout and "fewer than the 365 required" in third.stdout
    record = read_ledger(lab, environment, release)
    steps = dict((s["id"], s) for s in record["steps"])
    assert list(steps) == STEPS and steps["phase4/tls"]["status"] == "failed"
    assert "days left" in steps["phase4/tls"]["outcome"]["error"]
    assert steps["phase4/smoke"]["status"] == "done" and record["runs"][-1]["status"] == "failed"


def test_a_release_that_never_becomes_ready_fails_in_time_naming_the_probe_and_the_old_version_serves(lab, pager):
    next_release_schema(lab)
    release, environment = ids()
    result = phase4(release, environment, "-e", "phase4_application_rollout_timeout=15",
                    version="2026.11.3-unready")
    out = result.stdout + result.stderr
    assert result.returncode != 0
    assert "Deployment pager/pager" in out and "Readiness probe failed" in out, out[-4000:]
    assert "not rolled out within 15s" in out
    assert versions(pager) == {"2026.11.2"}
    record = read_ledger(lab, environment, release)
    deploy = record["steps"][0]
    assert deploy["id"] == "phase4/deploy" and deploy["status"] == "failed"
    undo = deploy["intent"]["undo"]["workloads"][0]
    assert undo["images"]["pager"].startswith("registry.lab.example/pager:2026.11.2@sha256:")
    assert undo["template"]["spec"]["containers"][0]["image"] == undo["images"]["pager"]
    assert record["runs"][0]["status"] == "failed" and lock_holder(lab, environment) is None


def test_a_release_whose_image_does_not_exist_fails_naming_the_pull_error(lab, pager):
    release, environment = ids()
    result = phase4(release, environment, "-e", "phase4_application_rollout_timeout=10", version="2026.99.9")
    out = result.stdout + result.stderr
    assert result.returncode != 0
    assert "Deployment pager/pager" in out and ("ErrImagePull" in out or "ImagePullBackOff" in out), out[-4000:]
    assert "registry.lab.example/pager:2026.99.9: not found" in out
    assert versions(pager) == {"2026.11.2"}


def test_a_concurrent_run_is_refused_even_with_break_lock_and_a_killed_runs_lock_is_taken_over(lab, pager):
    next_release_schema(lab)
    release, environment = ids()
    # The first run hangs in the rollout (an image that never becomes ready, a long deadline).
    cmd = [str(BIN / "ansible-playbook"), "-i", "inventories/lab", "playbooks/golive.yml", "--tags", "phase4",
           "-e", "@%s" % lab_vars_file(), "-e", "golive_environment=%s" % environment,
           "-e", "golive_release=%s" % release, "-e", "golive_app_version=2026.11.3-unready",
           "-e", "phase4_application_rollout_timeout=300"]
    first = subprocess.Popen(cmd, cwd=REPO, env=ansible_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             start_new_session=True)
    try:
        holder = wait(lambda: lock_holder(lab, environment), timeout=60, what="the first run to take the lock")
        wait(lambda: [s for s in (read_ledger(lab, environment, release) or {}).get("steps", [])
                      if s["id"] == "phase4/deploy" and s["status"] == "started"],
             timeout=60, what="the first run to start deploying")
        assert holder["pid"] == first.pid

        for extra in ((), ("-e", "golive_break_lock=true")):
            second = phase4(release, environment, *extra)
            out = second.stdout + second.stderr
            assert second.returncode != 0
            assert "run lock of environment %s" % environment in out and "pid %d" % first.pid in out
            assert holder["run_id"] in out and "since" in out and "is running on this host" in out
            assert "kill %d" % first.pid in out  # what to do about it
        assert first.poll() is None
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(timeout=30)
    assert versions(pager) == {"2026.11.2"}  # the interrupted rollout never took the old version away

    # The killed run's lock is taken over by the same command, without a flag, and recorded.
    resumed = phase4(release, environment)
    assert resumed.returncode == 0, resumed.stdout[-5000:] + resumed.stderr[-2000:]
    assert "Took over the run lock" in resumed.stdout + resumed.stderr
    assert versions(pager) == {NEXT}
    record = read_ledger(lab, environment, release)
    assert [s["id"] for s in record["steps"]] == STEPS
    deploy = record["steps"][0]
    # The interrupted attempt's intent is the one kept: the version before the release.
    assert deploy["attempts"] == 2 and deploy["status"] == "done"
    assert deploy["intent"]["undo"]["workloads"][0]["images"]["pager"].startswith(
        "registry.lab.example/pager:2026.11.2")
    assert record["runs"][1]["broke_lock_of"]["pid"] == first.pid
    assert record["runs"][0]["status"] == "interrupted"
    assert [e["event"] for e in record["events"]] == ["lock-taken-over"]
    assert lock_holder(lab, environment) is None


def test_check_mode_plans_the_rollout_and_changes_nothing(lab, pager):
    release, environment = ids()
    result = run_playbook("playbooks/golive.yml", "--check", "--diff", "--tags", "phase4",
                          "-e", "golive_release=%s" % release, "-e", "golive_app_version=%s" % NEXT,
                          environment=environment)
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]
    assert "registry.lab.example/pager:%s" % NEXT in result.stdout  # the diff of the template
    assert versions(pager) == {"2026.11.2"}
    assert read_ledger(lab, environment, release) is None and lock_holder(lab, environment) is None


def test_tls_check_fails_on_days_left_and_names_a_secret_that_differs_from_what_is_served(lab, tmp_path):
    app = lab["app"]
    other = "other-tls-%s" % uuid.uuid4().hex[:6]
    with open(app["ca_file"]) as handle:
        ca_pem = handle.read()
    kubectl(lab, "create", "secret", "generic", other, "--from-literal=tls.crt=%s" % ca_pem)
    playbook = tmp_path / "tls.yml"
    playbook.write_text(json.dumps([{
        "name": "TLS", "hosts": "golive", "gather_facts": False,
        "tasks": [{"name": "Check", "golive.core.tls_check": {
            "kubeconfig": "{{ golive_lab.k8s.kubeconfig }}", "ca_file": "{{ golive_lab.app.ca_file }}",
            "port": "{{ golive_lab.app.https_port }}", "address": "{{ golive_lab.app.sites.old }}",
            "ingress_namespaces": ["pager"], "min_days": 365,
            "hosts": [{"host": "app.lab.example", "secret": "pager/%s" % other}]}}]}]))
    try:
        result = run_playbook(str(playbook), "-v")
    finally:
        kubectl(lab, "delete", "secret", other, check=False)
    out = result.stdout + result.stderr
    assert result.returncode != 0
    days = int(out.split(" days left, fewer than the 365 required")[0].rsplit(" ", 1)[1].strip('"[:'))
    assert 0 < days < 365
    assert "the served certificate is not the one in Secret pager/%s" % other in out
    assert "BEGIN CERTIFICATE" not in out and "PRIVATE KEY" not in out

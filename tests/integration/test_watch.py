"""After the go-live: playbooks/watch.yml over 1h, 24h and 7d on real Prometheus queries.

The lab cannot wait a week, so the test goes live, then moves the release's ledger eight
days into the past (every timestamp of its record, as if the go-live had happened then) and
back-fills the lab's Prometheus with the pager's history around that cutover
(``python -m lab backfill``: ``promtool tsdb create-blocks-from openmetrics``): a week before
it, and the days after it with memory growing 2 MiB a day and one hour of 5 % errors ten
hours before the watch's ``now``. The watch's queries select the back-filled series
(``lab_history="1"``), so traffic of other tests never enters the figures.

On a lab of its own (conftest.py's second_lab), after the Galaxy and AWX roads."""

import datetime
import json
import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import yaml

from ansible_collections.golive.core.plugins.module_utils.common.checks import UNDECLARED
from browser import Browser
from helpers import (KUBECTL, PREVIOUS, REPO, admin_args, ansible_env, answers, by_hand, read_ledger, request,
                     run_playbook, run_task, s3_args, wait)

from second_lab import lab, lab_instance  # noqa: F401  (this module runs on the second lab)

pytestmark = pytest.mark.xdist_group("second-lab")

UTC = datetime.timezone.utc



def on(lab_instance, playbook, *args):
    """A playbook on this lab: its endpoints' file after the shared lab's (the later wins)."""
    return run_playbook(playbook, "-e", "@%s" % (lab_instance.state_dir / "golive_lab.yml"), *args, timeout=900)


def iso(moment):
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def shift(value, delta):
    """Every RFC 3339 timestamp in a record moved by ``delta``."""
    if isinstance(value, dict):
        return dict((k, shift(v, delta)) for k, v in value.items())
    if isinstance(value, list):
        return [shift(v, delta) for v in value]
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", value):
        moment = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
        return iso(moment + delta)
    return value


def age_release(lab, environment, release, days):
    from ansible_collections.golive.core.plugins.module_utils.common.retry import Deadline
    from ansible_collections.golive.core.plugins.module_utils.k8s.client import Kube, KubeSettings
    from ansible_collections.golive.core.plugins.module_utils.ledger.store import LedgerStore
    kube = Kube(KubeSettings(kubeconfig=lab["k8s"]["kubeconfig"]), deadline=30)
    try:
        LedgerStore(kube).update(environment, release, lambda record: shift(record, -datetime.timedelta(days=days)),
                                 Deadline(30))
    finally:
        kube.close()


HISTORY = {"prometheus_url": None, "requests": {"selector": 'namespace="pager",lab_history="1"'},
           "availability": 'probe_success{job="blackbox",lab_history="1"}',
           "objectives": {"error_rate_max": 0.01, "latency_p95_ms_max": 500, "latency_avg_ms_max": 300,
                          "availability_min": 0.999},
           "capacity": [{"name": "memory of pager/pager", "limit": "128Mi",
                         "query": 'max(container_memory_working_set_bytes{namespace="pager",lab_history="1"})'}]}


def watch(lab, lab_instance, release, environment, window, now, settings=None):
    settings = dict(HISTORY, prometheus_url=lab["prometheus"]["url"]) if settings is None else settings
    return on(lab_instance, "playbooks/watch.yml", "-e", "release=%s" % release, "-e", "window=%s" % window,
              "-e", "watch_now=%s" % now, "-e", "golive_environment=%s" % environment,
              "-e", json.dumps({"golive_watch": settings}))


def checks_of(proc):
    """The release_watch task's checks, from the run's report.json."""
    match = re.search(r"golive\.core\.report: (\S+)/report\.html", proc.stdout + proc.stderr)
    assert match, proc.stdout[-3000:]
    report = json.loads(open(match.group(1) + "/report.json").read())
    # (Each k8s_preflight task also lists the sections it was not given, as skipped.)
    return dict((c["id"], c) for c in report["checks"]
                if (c.get("evidence") or {}).get("reason") != UNDECLARED), match.group(1)


def test_the_first_hour_day_and_week_after_a_go_live_and_refusals_before_and_after(lab, lab_instance, tmp_path):
    environment, release = "watch-%s" % uuid.uuid4().hex[:6], "R-watch-%s" % uuid.uuid4().hex[:4]
    for name in ("www", "app"):
        by_hand(lab, name, lab["app"]["sites"]["old"])
    wait(lambda: all(answers(lab, n) == dict((ns, [lab["app"]["sites"]["old"]]) for ns in lab["dns"]["nameservers"])
                     for n in ("www", "app")), what="both name servers at the old site")
    # No ledger at all: refused, naming the environment.
    proc = watch(lab, lab_instance, release, environment, "24h", iso(datetime.datetime.now(UTC)))
    assert proc.returncode != 0 and "has no ledger in environment %s" % environment in proc.stdout
    # The running version through phase 4: a ledger, but no cutover yet. Refused, nothing written.
    phase = dict((tag, ["--tags", tag, "-e", "golive_release=%s" % release, "-e", "golive_app_version=%s" % PREVIOUS,
                        "-e", "golive_environment=%s" % environment]) for tag in ("phase4", "phase5"))
    live = on(lab_instance, "playbooks/golive.yml", *phase["phase4"])
    assert live.returncode == 0, live.stdout[-4000:]
    assert_refused(lab, lab_instance, release, environment, "never went live: its ledger has no finished phase5/dns-cutover")
    # Phase 5: what the watch needs is a release that went live.
    live = on(lab_instance, "playbooks/golive.yml", *phase["phase5"], "-e", "golive_change_id=CHG-W",
              "-e", "golive_approved_by=wendy",
              "-e", json.dumps({"phase5_golive_performance_objectives": [], "phase5_golive_traffic_count": 2,
                                "phase5_golive_load_test": {}}))
    assert live.returncode == 0, live.stdout[-4000:]
    try:
        age_release(lab, environment, release, days=8)
        steps = dict((s["id"], s) for s in read_ledger(lab, environment, release)["steps"])
        cutover = datetime.datetime.fromisoformat(steps["phase5/dns-cutover"]["outcome"]["at"].replace("Z", "+00:00"))
        now = cutover + datetime.timedelta(days=7, hours=12)
        burst = now - datetime.timedelta(hours=10)
        fill = subprocess.run([sys.executable, "-m", "lab", "--state-dir", str(lab_instance.state_dir), "backfill",
                               "--cutover", iso(cutover), "--end", iso(now + datetime.timedelta(minutes=5)),
                               "--burst", iso(burst)], cwd=REPO, capture_output=True, text=True, timeout=300)
        assert fill.returncode == 0, fill.stdout + fill.stderr
        assert json.loads(fill.stdout)["blocks"]

        # The first hour after the cutover of a release live 7.5 days: quiet, within the objectives.
        hour = watch(lab, lab_instance, release, environment, "1h", iso(now))
        assert hour.returncode == 0, hour.stdout[-4000:]
        checks, _ = checks_of(hour)
        assert checks["watch.1h.error-rate"]["status"] == "pass"
        assert checks["watch.1h.latency-p95"]["evidence"]["value"] < 500

        # 24 hours: the burst ten hours ago, named in the trend with both numbers.
        day = watch(lab, lab_instance, release, environment, "24h", iso(now))
        checks, folder = checks_of(day)
        error = checks["watch.24h.error-rate"]
        assert error["status"] == "warn", error
        regression = error["evidence"]["regressions"][0]
        assert re.match(r"error-rate 0\.\d+% over the last 24h vs 0\.0[45]\d% the 24h before$", regression), regression
        assert len(error["evidence"]["series"]) > 40 and error["evidence"]["threshold"] == 0.01
        # The probes that failed in the burst bring the day's availability under 99.9 %: it fails, named.
        assert checks["watch.24h.availability"]["status"] == "fail"
        assert day.returncode != 0 and "watch.24h.availability" in day.stdout

        # The week: memory growth projected to a date; availability over 7 days judged; the
        # success criteria of the go-live week measured (the week is over).
        week = watch(lab, lab_instance, release, environment, "7d", iso(now))
        checks, folder = checks_of(week)
        capacity = checks["watch.7d.capacity.memory-of-pager-pager"]
        assert capacity["status"] == "warn", capacity
        assert re.match(r"memory of pager/pager reaches its limit \(128\.0Mi\) in ~\d+ days, on \d{4}-\d\d-\d\d",
                        capacity["evidence"]["warnings"][0]), capacity["evidence"]
        # Two failed probes in the last 7 days, none in the 7 before: judged, and the drop named.
        availability = checks["watch.7d.availability"]
        assert 0.998 < availability["evidence"]["value"] < 0.9995 and availability["status"] in ("warn", "fail")
        assert availability["evidence"]["regressions"][0].startswith("availability 99.")
        # The go-live week (its first seven days) ended before the burst: both criteria passed.
        assert checks["watch.success.uptime-week"]["status"] == "pass"
        assert checks["watch.success.error-rate-week"]["status"] == "pass"
        # The report draws each figure over the window with its threshold (SVG, no script), as a
        # browser lays it out: a line of points and a dashed threshold per chart.
        html = open(folder + "/report.html").read()
        assert "<script" not in html and html.count('class="chart"') >= 4
        with Browser(width=1280, height=1200) as browser:
            browser.open("file://%s/report.html" % folder)
            charts = browser.evaluate(
                "JSON.stringify([...document.querySelectorAll('#charts figure.chart')].map(f => ({"
                "id: f.querySelector('code').innerText, points: f.querySelector('polyline').points.numberOfItems,"
                "threshold: !!f.querySelector('line[stroke-dasharray]'), width: f.querySelector('svg')"
                ".getBoundingClientRect().width})))")
            success = json.loads(browser.evaluate(
                "JSON.stringify([...document.querySelectorAll('#success-table tbody tr')].map(r => "
                "[...r.cells].map(c => c.innerText.trim())))"))
        # The success criteria table: each criterion with its objective, what was measured, the verdict.
        criteria = dict((row[1].split()[-1], row) for row in success)
        assert criteria["watch.success.uptime-week"][2:] == [">= 99.900%", criteria["watch.success.uptime-week"][3],
                                                             "passed"]
        assert criteria["watch.success.error-rate-week"][4] == "passed" and set(criteria) == {
            "watch.success.uptime-week", "watch.success.error-rate-week", "watch.success.latency-p95-week"}
        shown = dict((c["id"], c) for c in json.loads(charts))
        assert shown["watch.7d.error-rate"]["points"] > 40 and shown["watch.7d.error-rate"]["threshold"]
        assert shown["watch.7d.capacity.memory-of-pager-pager"]["threshold"]
        assert all(c["width"] > 100 for c in shown.values())

        # Each run is in the ledger: the step of each window, and the runs in order.
        record = read_ledger(lab, environment, release)
        steps = dict((s["id"], s) for s in record["steps"])
        assert {"watch/1h", "watch/24h", "watch/7d"} <= set(steps)
        assert steps["watch/24h"]["outcome"]["outputs"]["verdict"] == "failed"
        events = [e for e in record["events"] if e.get("event") == "watch"]
        assert [e["window"] for e in events] == ["1h", "24h", "7d"]

        # Not a week yet, two days after the cutover: the success criteria say how long to wait.
        early = watch(lab, lab_instance, release, environment, "1h", iso(cutover + datetime.timedelta(days=2)))
        checks, _ = checks_of(early)
        assert checks["watch.success.uptime-week"]["evidence"]["reason"] == "not measurable yet (needs 5 more days)"
        # The release's report: the watches so far, in order, and the criteria at their newest.
        whole = run_playbook("playbooks/report.yml", "-e", "release=%s" % release, "-e",
                             "golive_environment=%s" % environment, "-e", "@%s" % (lab_instance.state_dir / "golive_lab.yml"))
        assert whole.returncode == 0, whole.stdout[-3000:]
        folder = Path(ansible_env()["GOLIVE_REPORT_DIR"]) / "releases" / environment / release / "report"
        release_report = json.loads((folder / "report.json").read_text())
        assert [w["window"] for w in release_report["watches"]] == ["1h", "24h", "7d", "1h"]
        assert '<table id="success-table">' in (folder / "report.html").read_text()

        # Now, eight days after the cutover, the last day of the live lab with the inventory's whole
        # watch: the exporters' signals, the database, the backups (the newest within the RPO, the
        # backup CronJob, a restore), the cache, the Pods, third parties; and the security events of
        # twenty requests without a login.
        backed_up = run_task(tmp_path, "golive.core.pg_backup", dict(
            admin_args(lab["postgres"], lab["postgres"]["database"]), **s3_args(lab, "postgres"),
            environment=environment, label="watch-%s" % release, release=release))[0]
        assert not backed_up.get("failed") and backed_up["backup_id"], backed_up
        subprocess.run([KUBECTL, "create", "namespace", "shop"], env=dict(os.environ, KUBECONFIG=lab["k8s"]["kubeconfig"]),
                       capture_output=True, check=False)
        # The lab inventory's backup CronJob, as Day -7 applies it (one object; the file is a List).
        cronjob = yaml.safe_load((REPO / "inventories/lab/files/day-7/backup-schedules.yaml").read_text())["items"][0]
        applied = subprocess.run([KUBECTL, "apply", "-f", "-"], input=json.dumps(cronjob), text=True,
                                 env=dict(os.environ, KUBECONFIG=lab["k8s"]["kubeconfig"]), capture_output=True)
        assert applied.returncode == 0, applied.stderr
        for _ in range(20):
            assert request(lab["app"], path="/api/incidents", site="new")[0] == 401
        time.sleep(3)  # two scrapes
        current = on(lab_instance, "playbooks/watch.yml", "-e", "release=%s" % release, "-e", "window=24h",
                     "-e", "golive_environment=%s" % environment)
        checks, _ = checks_of(current)
        assert checks["watch.24h.auth-failures"]["evidence"]["value"] > 0, checks["watch.24h.auth-failures"]
        # Within their limits; a lab minutes old may show a rise against its first hours (a warning).
        for name in ("db-connections", "replication-lag", "pgbouncer-waiting"):
            assert checks["watch.24h.%s" % name]["status"] in ("pass", "warn"), checks["watch.24h.%s" % name]
            assert not checks["watch.24h.%s" % name]["evidence"].get("problems"), checks["watch.24h.%s" % name]
            assert checks["watch.24h.%s" % name]["evidence"]["series"], name
        assert 0 < checks["watch.24h.db-connections"]["evidence"]["value"] < 0.8
        assert checks["watch.24h.cdn-latency"]["evidence"]["value"] > 0
        # The backups: the one just taken is within the RPO and restores; the CronJob is named.
        assert checks["pg.backup_rpo"]["status"] == "pass", checks["pg.backup_rpo"]
        restore = checks["pg.backup_restore"]
        assert restore["status"] == "pass" and "Backup Verification - Backup processes verified" in restore["checklist"]
        schedules = checks["k8s.backup_schedules"]
        assert schedules["status"] in ("pass", "warn") and schedules["evidence"]["cronjobs"][0]["cronjob"] == \
            "CronJob shop/db-backup", schedules
        restarts = checks["k8s.restarts"]
        assert restarts["status"] == "pass" and restarts["evidence"]["pods"] >= 1, restarts
        assert checks["pg.pgbouncer"]["evidence"]["waiting_clients"] == 0, checks["pg.pgbouncer"]
        assert checks["pg.replication"]["status"] == "pass", checks["pg.replication"]
        assert checks["pg.slow_queries"]["status"] == "skip"  # the application's database has no pg_stat_statements
        assert checks["redis.hit_ratio"]["status"] in ("pass", "skip")
        probes = [c for c in checks.values() if "sandbox-click" in c["id"] or "cdn-app-css" in c["id"]]
        assert len(probes) == 2 and all(c["status"] == "pass" for c in probes), probes
        steps = dict((s["id"], s) for s in read_ledger(lab, environment, release)["steps"])
        # The step's verdict counts every source's checks, not only Prometheus's figures.
        summary = steps["watch/24h"]["outcome"]["outputs"]["summary"]
        # ... and the playbook fails exactly when one of them failed.
        assert int(summary["total"]) >= 20 and (int(summary["fail"]) > 0) == (current.returncode != 0)
    finally:
        rolled = on(lab_instance, "playbooks/rollback_emergency.yml", "-e", "release=%s" % release,
                    "-e", "golive_environment=%s" % environment)
        assert rolled.returncode == 0, rolled.stdout[-3000:]
    # Rolled back: refused, naming the rollback's steps; the record is left as it was.
    assert_refused(lab, lab_instance, release, environment, "was rolled back (rollback/")


def assert_refused(lab, lab_instance, release, environment, words):
    before = read_ledger(lab, environment, release)
    proc = watch(lab, lab_instance, release, environment, "1h", iso(datetime.datetime.now(UTC)))
    assert proc.returncode != 0 and words in proc.stdout, proc.stdout[-3000:]
    after = read_ledger(lab, environment, release)
    assert after["steps"] == before["steps"] and after["runs"] == before["runs"] and after["events"] == before["events"]

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
import re
import subprocess
import sys
import uuid

import pytest

from browser import Browser
from helpers import PREVIOUS, REPO, answers, by_hand, read_ledger, run_playbook, wait

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
    return dict((c["id"], c) for c in report["checks"] if c["id"].startswith("watch.")), match.group(1)


def test_a_release_that_never_went_live_or_was_rolled_back_is_refused_and_nothing_is_written(lab, lab_instance):
    environment = "watch-%s" % uuid.uuid4().hex[:6]
    proc = watch(lab, lab_instance, "R-never-%s" % uuid.uuid4().hex[:4], environment, "24h", iso(datetime.datetime.now(UTC)))
    assert proc.returncode != 0 and "has no ledger in environment %s" % environment in proc.stdout
    # Phase 4 only (of the running version, which needs no migration): a ledger, no cutover.
    release = "R-p4-%s" % uuid.uuid4().hex[:4]
    live = on(lab_instance, "playbooks/golive.yml", "--tags", "phase4", "-e", "golive_release=%s" % release,
              "-e", "golive_app_version=%s" % PREVIOUS, "-e", "golive_environment=%s" % environment)
    assert live.returncode == 0, live.stdout[-3000:]
    before = read_ledger(lab, environment, release)
    proc = watch(lab, lab_instance, release, environment, "1h", iso(datetime.datetime.now(UTC)))
    assert proc.returncode != 0 and "never went live: its ledger has no finished phase5/dns-cutover" in proc.stdout
    after = read_ledger(lab, environment, release)
    assert after["steps"] == before["steps"] and after["runs"] == before["runs"]
    rolled = on(lab_instance, "playbooks/rollback_emergency.yml", "-e", "release=%s" % release,
                "-e", "golive_environment=%s" % environment)
    assert rolled.returncode == 0, rolled.stdout[-3000:]
    # Rolled back: refused, naming the rollback's steps; the record is left as it was.
    before = read_ledger(lab, environment, release)
    proc = watch(lab, lab_instance, release, environment, "1h", iso(datetime.datetime.now(UTC)))
    assert proc.returncode != 0 and "was rolled back (rollback/" in proc.stdout, proc.stdout[-3000:]
    after = read_ledger(lab, environment, release)
    assert after["steps"] == before["steps"] and after["runs"] == before["runs"]


def test_the_first_hour_day_and_week_after_a_go_live(lab, lab_instance):
    environment, release = "watch-%s" % uuid.uuid4().hex[:6], "R-watch-%s" % uuid.uuid4().hex[:4]
    for name in ("www", "app"):
        by_hand(lab, name, lab["app"]["sites"]["old"])
    wait(lambda: all(answers(lab, n) == dict((ns, [lab["app"]["sites"]["old"]]) for ns in lab["dns"]["nameservers"])
                     for n in ("www", "app")), what="both name servers at the old site")
    # The running version through phases 4 and 5: what the watch needs is a release that went live.
    live = on(lab_instance, "playbooks/golive.yml", "--tags", "phase4,phase5", "-e", "golive_release=%s" % release,
              "-e", "golive_app_version=%s" % PREVIOUS, "-e", "golive_environment=%s" % environment,
              "-e", "golive_change_id=CHG-W", "-e", "golive_approved_by=wendy",
              "-e", json.dumps({"phase5_golive_performance_objectives": [], "phase5_golive_traffic_count": 2}))
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
    finally:
        rolled = on(lab_instance, "playbooks/rollback_emergency.yml", "-e", "release=%s" % release,
                    "-e", "golive_environment=%s" % environment)
        assert rolled.returncode == 0, rolled.stdout[-3000:]

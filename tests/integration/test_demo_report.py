"""`playbooks/demo.yml` (what `make demo` runs) on the lab, once for this module, with the
evidence report and ARA recording the same run:

- the world afterwards: the previous version answers through DNS, both name servers answer
  what they answered before, the migration's column is gone again;
- the report as a user sees it: headless Chromium renders report.html; every phase is on the
  timeline and the incident's failed check is the checklist's first row, on the first screen;
- junit.xml has one testcase per check, the incident's a failure; every check id the run
  emitted has a row in docs/checklist.md;
- the lab's webhook and SMTP sinks received the go-live and rollback notifications with the
  release id;
- no lab secret and no planted canary appears in any artifact of the run or its output;
- ARA recorded the same run.
"""

import json
import os
import sqlite3
import subprocess
import sys
import uuid
import xml.etree.ElementTree as ET

import pytest

from browser import Browser
from helpers import (
    answers,
    by_hand,
    column_exists,
    current,
    kept_databases,
    NEXT,
    PREVIOUS,
    put_back,
    request,
    reset_pager,
    run_playbook,
    schema_before_next_release,
    sql,
    wait,
)
from lab.services.sinks import messages

pytestmark = pytest.mark.xdist_group("pager")

PHASES = ["phase1", "phase2", "phase3", "phase4", "phase5", "rollback"]


def _secrets(value, out):
    """Every credential-like value of the lab's endpoints."""
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, str) and any(w in key for w in ("password", "secret", "token")) and len(item) >= 8:
                out.add(item)
            _secrets(item, out)
    elif isinstance(value, list):
        for item in value:
            _secrets(item, out)
    return out


@pytest.fixture(scope="module")
def demo(lab, lab_instance, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("demo")
    reset_pager(lab, lab_instance)
    saved = dict((name, current(lab, name)) for name in ("www", "app"))
    for name in saved:
        by_hand(lab, name, lab["app"]["sites"]["old"])
    wait(lambda: all(answers(lab, n) == dict((ns, [lab["app"]["sites"]["old"]]) for ns in lab["dns"]["nameservers"])
                     for n in saved), timeout=30, what="both name servers to answer the old site")
    schema_before_next_release(lab)
    kept_before = kept_databases(lab)
    dns_before = dict((name, answers(lab, name)) for name in ("www", "app"))
    release = "%s-demo.t%s" % (NEXT, uuid.uuid4().hex[:6])
    canary = "canary-%s" % uuid.uuid4().hex
    ara_dir = tmp / "ara"
    ara_plugins = subprocess.run([sys.executable, "-m", "ara.setup.callback_plugins"], capture_output=True,
                                 text=True, check=True).stdout.strip()
    env = {"GOLIVE_REPORT_DIR": str(tmp / "reports"), "ANSIBLE_CALLBACK_PLUGINS": ara_plugins,
           "ANSIBLE_CALLBACKS_ENABLED": "golive.core.report,ara_default", "ARA_API_CLIENT": "offline",
           "ARA_BASE_DIR": str(ara_dir), "ARA_DATABASE_NAME": str(ara_dir / "ara.sqlite")}
    # The canary is the smoke user's password: the go-live registers a user with it in the
    # application, logs in with it, and must never write it anywhere.
    # No failover drill of the lab's shared Redis here: other tests use it on the other worker
    # meanwhile, and the drill has its own tests on a private Redis (test_redis_failover_drill).
    overrides = {"phase4_application_smoke_secrets": {"smoke_password": canary}, "golive_artifact_dir": str(tmp / "ledger"),
                 "golive_allow_drills": False}
    proc = run_playbook("playbooks/demo.yml", "--diff", "-e", "golive_release=%s" % release,
                        "-e", "golive_app_version=%s" % NEXT, "-e", "golive_change_id=CHG-DEMO-9",
                        "-e", "golive_approved_by=dana", "-e", json.dumps(overrides), env=env, timeout=1200,
                        environment="demo-" + uuid.uuid4().hex[:6])
    yield {"proc": proc, "release": release, "canary": canary, "tmp": tmp, "dns_before": dns_before,
           "reports": tmp / "reports", "ara": ara_dir / "ara.sqlite"}
    for name in kept_databases(lab) - kept_before:
        sql(lab, 'DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % name, dbname="postgres")
    for name, value in saved.items():
        put_back(lab, name, value)
    reset_pager(lab, lab_instance)


def report_dir(demo):
    proc = demo["proc"]
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    folder = demo["reports"] / "latest"
    assert folder.is_dir(), sorted(os.listdir(demo["reports"]))
    return folder


def test_the_demo_goes_live_breaks_and_is_rolled_back_as_a_user_sees_it(lab, demo):
    report_dir(demo)
    out = demo["proc"].stdout
    assert "version through DNS: before %s, after go-live %s, after rollback %s" % (PREVIOUS, NEXT, PREVIOUS) in out
    for name, before in demo["dns_before"].items():
        assert answers(lab, name) == before
    for site in ("old", "new"):
        assert request(lab["app"], site=site)[1].get("X-App-Version") == PREVIOUS
    assert not column_exists(lab), "the release's migration was undone by the restore"
    assert "golive.core.report: %s" % demo["reports"] in out  # where the report is, for people
    warned = [line for line in (out + demo["proc"].stderr).splitlines() if "[WARNING]" in line]
    assert warned == [], warned  # a clean demo, go-live, incident and rollback, warns of nothing


def test_the_rendered_report_shows_every_phase_and_the_incident_first(demo, tmp_path):
    folder = report_dir(demo)
    with Browser(width=1280, height=1000) as browser:
        browser.open("file://%s" % (folder / "report.html").resolve())
        shot = browser.screenshot(str(demo["tmp"] / "report-first-screen.png"))
        assert os.path.getsize(shot) > 10000
        banner = browser.evaluate("document.querySelector('#banner').innerText")
        assert demo["release"] in banner and "ROLLED BACK" in banner
        lanes = browser.evaluate(
            "Array.from(document.querySelectorAll('svg.timeline g.phase')).map(g => {"
            " const r = g.getBoundingClientRect(); const bars = Array.from(g.querySelectorAll('rect'));"
            " return {phase: g.dataset.phase, width: r.width, left: r.left, right: r.right,"
            " bars: bars.filter(b => b.getBoundingClientRect().width > 0).length}; })")
        seen = [lane["phase"] for lane in lanes]
        for phase in PHASES:
            assert phase in seen, seen
        for lane in lanes:
            assert lane["bars"] > 0 and lane["width"] > 0 and lane["right"] <= 1280, lane
        first = browser.evaluate(
            "(() => { const tr = document.querySelector('#checklist-table tbody tr');"
            " const r = tr.getBoundingClientRect(); return {status: tr.dataset.status, text: tr.innerText,"
            " top: r.top + window.scrollY}; })()")
        assert first["status"] == "fail", first
        assert "slo.error-ratio" in first["text"] and "Incident after the go-live" in first["text"], first["text"]
        attention = browser.evaluate(
            "(() => { const s = document.querySelector('#attention'); const r = s.getBoundingClientRect();"
            " return {text: s.innerText, top: r.top}; })()")
        assert attention["top"] < 1000 and "slo.error-ratio" in attention["text"], attention


def test_junit_and_json_hold_every_check_and_every_check_has_a_checklist_row(demo):
    folder = report_dir(demo)
    report = json.loads((folder / "report.json").read_text())
    suites = ET.parse(str(folder / "junit.xml")).getroot()
    cases = suites.findall("./testsuite/testcase")
    assert len(cases) == len(report["checks"]) > 50
    failed = [c.get("name") for c in cases if c.find("failure") is not None]
    assert any(name.startswith("slo.error-ratio") for name in failed), failed
    # Every check of the go-live has a row; the rollback's fill only rollback rows, and the
    # only ones no seed item names are the DNS revert's answers from both name servers.
    rollback = ("rollback", "rollback-controlled", "rollback-validation")
    assert [c for c in report["unmapped_checks"] if c["phase"] not in rollback] == [], "checks without a row"
    assert set(c["id"].split(".")[0] for c in report["unmapped_checks"] if c["phase"] in rollback) <= {"dns"}
    assert all(e["phase"] not in rollback for r in report["checklist"] if not r["rollback"] for e in r["evidence"])
    assert report["approval"]["change_id"] == "CHG-DEMO-9" and report["approval"]["approved_by"] == "dana"
    steps = set(c["id"] for c in report["checks"] if c.get("step"))
    for step in ("phase4/deploy", "phase5/dns-cutover", "rollback/maintenance-on", "rollback/scale-down",
                 "rollback/db-restore", "rollback/redeploy"):
        assert step in steps, sorted(steps)
    assert "# Release %s: ROLLED BACK" % demo["release"] in (folder / "report.md").read_text()


def test_the_sinks_received_the_go_live_and_rollback_notifications(lab, demo):
    report_dir(demo)
    got = messages(lab["notify"]["sink_url"])
    release = demo["release"]
    events = [m["body"]["event"] for m in got["webhooks"] if m["channel"] == "events"
              and m["body"].get("release") == release]
    # Phase 5's T-0 test notification goes to the webhook channel between the go-live's start and end.
    assert events == ["golive-started", "notification-test", "golive-finished", "rollback-started",
                      "rollback-finished"], events
    chat = [m["body"]["text"] for m in got["webhooks"] if m["channel"] == "ops-chat" and release in m["body"]["text"]]
    assert len(chat) == 4 and "rollback-finished" in chat[-1]
    subjects = [m["subject"] for m in got["mail"] if release in m["subject"]]
    assert subjects == ["[golive] %s: %s" % (release, e) for e in
                        ("golive-started (info)", "golive-finished (success)", "rollback-started (warning)",
                         "rollback-finished (success)")], subjects


def test_no_secret_in_any_artifact_of_the_run(lab, demo):
    report_dir(demo)
    secrets = _secrets(lab, set()) | {demo["canary"]}
    assert lab["notify"]["smtp_password"] in secrets and lab["postgres"]["admin_password"] in secrets
    files = [p for p in demo["tmp"].rglob("*") if p.is_file() and p.suffix in (".html", ".md", ".xml", ".json")]
    assert len(files) >= 5, files
    for path in files:
        text = path.read_text(errors="replace")
        for secret in secrets:
            assert secret not in text, "a secret is in %s" % path
    for secret in secrets:
        assert secret not in demo["proc"].stdout and secret not in demo["proc"].stderr


def test_ara_recorded_the_same_run(demo):
    report_dir(demo)
    with sqlite3.connect(str(demo["ara"])) as db:
        playbooks = db.execute("SELECT path, status FROM playbooks").fetchall()
        tasks = db.execute("SELECT count(*) FROM tasks").fetchone()[0]
    assert any(path.endswith("playbooks/demo.yml") and status == "completed" for path, status in playbooks), playbooks
    assert tasks > 50

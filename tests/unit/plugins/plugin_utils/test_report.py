"""The checklist mapping read as data, and the report built from a run (pure logic)."""

import json
import pathlib
import re
import xml.etree.ElementTree as ET

import pytest

from ansible_collections.golive.core.plugins.plugin_utils import checklist as cl
from ansible_collections.golive.core.plugins.plugin_utils import report as rp
from ansible_collections.golive.core.plugins.module_utils.metrics import watch

ROOT = pathlib.Path(__file__).resolve().parents[4]
DOC = (ROOT / "docs" / "checklist.md").read_text()


def summary_counts():
    """The ``all rows`` lines of the page's own summary table."""
    found = {}
    for name, key in (("Go-Live Preparation", "Go-Live Preparation Checklist"),
                      ("UltraMarket", "UltraMarket Production Go-Live Checklist")):
        line = next(l for l in DOC.splitlines() if l.startswith("| **%s, all rows**" % name))
        automated, planned, manual, rows = [int(c) for c in re.findall(r"\| (\d+) ", line + " ")][:4]
        found[key] = {"automated": automated, "planned": planned, "manual": manual, "rows": rows}
    return found


def test_every_row_of_both_checklists_is_read_with_its_how():
    rows = cl.parse(DOC)
    for checklist, expected in summary_counts().items():
        mine = [r for r in rows if r["checklist"] == checklist]
        assert len(mine) == expected["rows"]
        for how in cl.HOWS:
            assert sum(1 for r in mine if r["how"] == how) == expected[how], (checklist, how)
    manual = next(r for r in rows if r["item"] == "All tests passing (unit, integration, e2e)")
    assert manual["how"] == "manual" and "CI pipeline" in manual["reason"]


def _code():
    return "\n".join(p.read_text(errors="replace") for d in ("plugins", "roles", "inventories", "playbooks")
                     for p in (ROOT / d).rglob("*") if p.is_file() and p.suffix in (".py", ".yml", ".yaml", ".j2"))


def test_every_id_an_automated_row_names_is_emitted_by_the_code():
    """The mapping and the code agree: a documented id is written by a module (literally or
    as ``<family>.%s`` of a declared name), or a role records that ledger step."""
    code = _code()
    missing = []
    for row in cl.parse(DOC):
        if row["how"] != "automated":
            continue
        for token in row["ids"]:
            literal = re.split(r"[<*]", token)[0].rstrip(".-")
            if "/" in literal:
                step = literal.split("/", 1)[1]
                if not step or step in code:
                    continue
            elif literal in code:
                continue
            else:
                family, rest = (literal.split(".", 1) + [""])[:2]
                if family == "watch":  # watch.<window>.<figure>: the windows and figures release_watch has
                    window, figure = (token[len("watch."):].split(".", 1) + [""])[:2]
                    if (window in watch.WINDOWS or window == "<window>") and (
                            figure in watch.UNITS or figure.startswith("capacity.")) or (
                            window == "success" and figure in watch.SUCCESS):
                        continue
                elif ('"%s.%%s"' % family in code or '"%s.' % family in code) and (not rest or rest in code):
                    continue
            missing.append((row["item"], token))
    assert missing == []


@pytest.mark.parametrize("token,check_id,matches", [
    ("http.<name>", "http.health", True),
    ("http.<name>", "https.health", False),
    ("k8s.*", "k8s.version", True),
    ("slo.error-ratio", "slo.error-ratio", True),
    ("slo.error-ratio", "slo.error-ratio2", False),
    ("rollback/scale-up-<percent>", "rollback/scale-up-50", True),
])
def test_documented_ids_match_emitted_ids(token, check_id, matches):
    assert bool(cl.pattern(token).match(check_id)) is matches


ROWS = """
## A Checklist

### Section

| Item | How | Evidence / reason |
| --- | --- | --- |
| Error rate low | automated — `golive.core.slo_gate`: `slo.<objective>` (phase5) | Partial: the ratio. |
| Backup restores | automated — `golive.core.pg_backup_verify`: `pg.backup_restore`; planned: `pg.pitr` | A restore. |
| Contacts | manual | People keep them. |
| Dashboards | planned — `prom.dashboards` | Later. |
| Quoted by a check | automated — a module | Matched by its checklist field. |
"""


def task(name, phase, start, status="ok", checks=(), **extra):
    return dict({"name": name, "role": None, "phase": phase, "host": "lab", "started": start, "ended": start + 2,
                 "status": status, "checks": list(checks)}, **extra)


def check(check_id, status, checklist=None, **evidence):
    return {"id": check_id, "title": "T " + check_id, "status": status, "evidence": evidence, "checklist": checklist}


def run(*tasks, **extra):
    return dict({"tasks": list(tasks), "vars": {"release": "2026.11.3", "change_id": "CHG-1", "approved_by": "ann"},
                 "started": 1000.0, "finished": 1100.0, "playbook": "playbooks/golive.yml", "operator": "me@here"},
                **extra)


def test_failures_come_first_and_every_row_keeps_its_place_or_reason():
    rows = cl.parse(ROWS)
    assert rows[1]["ids"] == ["pg.backup_restore"]  # the planned id is not the row's yet
    report = rp.build(run(
        task("Backup", "phase2", 1000, checks=[check("pg.backup_restore", "pass", rows=3)]),
        task("Gate", "phase5", 1010, checks=[check("slo.error-ratio", "pass")]),
        task("Watch", "Incident", 1020, checks=[check("slo.error-ratio", "fail", ratio=0.5),
                                                check("x.other", "pass", "Quoted by a check")]),
    ), rows)
    table = [(r["item"], r["status"]) for r in report["checklist"]]
    assert table == [("Error rate low", "fail"), ("Backup restores", "pass"), ("Quoted by a check", "pass"),
                     ("Dashboards", "planned"), ("Contacts", "manual")]
    first = report["checklist"][0]["evidence"]
    assert [(e["status"], e["phase"]) for e in first] == [("fail", "Incident"), ("pass", "phase5")]
    assert report["checklist"][-1]["reason"] == "People keep them."
    assert report["verdict"] == "attention" and report["counts"]["fail"] == 1
    assert report["unmapped_checks"] == []


def test_automated_rows_without_evidence_are_not_run_and_unknown_checks_are_listed():
    report = rp.build(run(task("Other", "phase1", 1000, checks=[check("k8s.version", "pass")])), cl.parse(ROWS))
    assert dict((r["item"], r["status"]) for r in report["checklist"])["Error rate low"] == "not run"
    assert [c["id"] for c in report["unmapped_checks"]] == ["k8s.version"]
    assert report["verdict"] == "passed"


@pytest.mark.parametrize("tasks,extra,verdict", [
    ([task("A", "phase1", 1000, status="failed")], {"failed_hosts": ["lab"]}, "failed"),
    ([task("A", "phase1", 1000, status="failed"), task("B", "phase1", 1003)], {}, "passed"),  # rescued
    ([task("Scale", "rollback", 1000, status="changed")], {}, "rolled back"),
])
def test_the_verdict(tasks, extra, verdict):
    assert rp.build(run(*tasks, **extra), cl.parse(ROWS))["verdict"] == verdict


def test_timeline_groups_consecutive_tasks_of_a_phase():
    segments = rp.timeline([task("a", "phase1", 1000), task("b", "phase1", 1003, status="changed"),
                            task("c", "phase2", 1006), task("d", "phase1", 1009, status="failed")])
    assert [(s["phase"], len(s["steps"]), s["status"], s["duration"]) for s in segments] == [
        ("phase1", 2, "changed", 5.0), ("phase2", 1, "ok", 2.0), ("phase1", 1, "failed", 2.0)]
    svg = rp.svg_timeline(segments)
    assert svg.count('class="phase"') == 3 and "phase1 · Day -7 infrastructure" in svg


def test_renderings_escape_what_they_show_and_junit_has_one_case_per_check():
    evil = check("http.<script>", "fail", note="<img src=x onerror=alert(1)>")
    evil["id"] = "slo.x"
    report = rp.build(run(task("<b>bold</b>", "phase4", 1000, checks=[evil, check("tls.www", "warn")],
                               status="changed", diff=[{"before": "<old>", "after": "<new>"}])), cl.parse(ROWS))
    page = rp.render_html(report)
    assert "<img src=x" not in page and "&lt;b&gt;bold" in page and "&lt;new&gt;" in page
    suites = ET.fromstring(rp.render_junit(report))
    cases = suites.findall("./testsuite/testcase")
    assert len(cases) == 2 and cases[0].find("failure") is not None
    assert json.loads(json.dumps(report))["changes"][0]["diff"] == [{"before": "<old>", "after": "<new>"}]
    assert "| fail | Error rate low |" in rp.render_markdown(report)


@pytest.mark.parametrize("role,play,tags,phase", [
    ("phase2_database", "Go-live", ["phase2", "always"], "phase2"),
    ("readiness_integrations", "Go-live", ["phase1", "infrastructure"], "phase1"),
    ("rollback_emergency", "Roll back", [], "rollback"),
    (None, "Incident after the go-live", ["always"], "Incident after the go-live"),
])
def test_the_phase_of_a_task(role, play, tags, phase):
    assert rp.phase_of(role, play, tags) == phase


# -- What a row may claim --------------------------------------------------------------

def test_a_run_whose_only_check_is_http_version_fills_no_row_that_does_not_name_it():
    """The mapping of both seed checklists: an http.version probe without a checklist quote
    (as a rollback's or a later run's) is evidence for no row at all, in any phase."""
    rows = cl.parse(DOC)
    assert not [r for r in rows if "http.version" in r["ids"]]  # no row names it today
    for phase in ("phase4", "phase5", "rollback", "rollback-validation", "Incident"):
        report = rp.build(run(task("Version", phase, 1000, checks=[check("http.version", "pass")])), rows)
        filled = [r["item"] for r in report["checklist"] if r["evidence"]]
        assert filled == [], (phase, filled)
        assert [c["id"] for c in report["unmapped_checks"]] == ["http.version"]


def test_a_rollback_check_fills_only_rollback_rows_and_a_go_live_check_only_go_live_rows():
    rows = cl.parse(DOC)
    validate = "4. Validate Rollback: Ensure previous version is stable"
    quoting_both = check("http.version", "pass", [validate, "API endpoints responding"])
    for phase, expected in (("rollback", [validate]), ("rollback-validation", [validate]),
                            ("phase4", ["API endpoints responding"])):
        report = rp.build(run(task("V", phase, 1000, checks=[quoting_both])), rows)
        assert [r["item"] for r in report["checklist"] if r["evidence"]] == expected, phase
    # A rollback's ledger steps fill the rollback rows that name them, never a go-live row.
    report = rp.build(run(task("Scale", "rollback", 1000, checks=[
        {"id": "rollback/scale-up-50", "status": "pass", "step": True, "evidence": {}}])), rows)
    assert [r["item"] for r in report["checklist"] if r["evidence"]] == [
        "5. Gradual Rollout: Slowly increase traffic and validate"]


@pytest.mark.parametrize("token", ["`http.<name>`", "`http.*`", "`prom.<query>`"])
def test_a_row_may_not_name_a_whole_family_the_inventory_names(token):
    text = ROWS.replace("`slo.<objective>`", token)
    with pytest.raises(ValueError) as refused:
        cl.parse(text)
    assert "Error rate low" in str(refused.value) and "checklist field" in str(refused.value)


def test_a_check_may_quote_several_items():
    quoting = check("x.y", "pass", ["Quoted by a check", "Backup restores"])
    report = rp.build(run(task("T", "phase4", 1000, checks=[quoting])), cl.parse(ROWS))
    assert sorted(r["item"] for r in report["checklist"] if r["evidence"]) == ["Backup restores", "Quoted by a check"]


# -- The report of a release across its runs --------------------------------------------

def share(run_id, started, *tasks, **extra):
    return dict(run(*tasks, started=started, finished=started + 50, **extra), ledger_run=run_id)


def test_the_release_report_joins_the_runs_of_a_go_live_and_its_rollback_each_check_at_its_newest():
    rows = cl.parse(DOC)
    day7 = share("run-1", 1000, task("Preflight", "phase1", 1000, checks=[check("k8s.version", "fail")]))
    day7_again = share("run-2", 2000, task("Preflight", "phase1", 2000, checks=[check("k8s.version", "pass")]))
    day0 = share("run-3", 3000, task("Cutover", "phase5", 3000, status="changed",
                                     checks=[check("slo.error-ratio", "pass")]),
                 task("Watch", "phase5", 3100, checks=[check("slo.error-ratio", "fail")]))
    rollback = share("run-4", 4000, task("Scale down", "rollback", 4000, status="changed", checks=[
        {"id": "rollback/scale-down", "status": "pass", "step": True, "evidence": {}}]),
        task("Validate", "rollback", 4010, checks=[check("http.version", "pass",
                                                         "4. Validate Rollback: Ensure previous version is stable")]),
        playbook="playbooks/rollback_emergency.yml")
    record = {"release": "2026.11.3", "environment": "lab", "runs": [
        {"id": "run-%d" % n, "holder": {"user": "ann", "host": "ops-1"}, "status": "finished",
         "evidence": "releases/lab/2026.11.3/runs/run-%d.json" % n} for n in range(1, 6)]}
    report = rp.build_release(record, {"run-1": day7, "run-2": day7_again, "run-3": day0, "run-4": rollback}, rows)
    assert report["scope"] == "release" and report["verdict"] == "rolled back"
    assert [s["phase"] for s in report["timeline"]] == ["phase1", "phase5", "rollback"]
    status = dict((r["item"], r["status"]) for r in report["checklist"])
    assert status["Kubernetes Cluster - Production cluster configured and tested"] == "pass"  # fixed on re-run
    assert status["4. Validate Rollback: Ensure previous version is stable"] == "pass"
    assert status["2. Scale Down: Reduce application replicas to 0"] == "pass"
    assert [r["evidence"] for r in report["runs"]][-1].startswith("not here (releases/lab/2026.11.3/runs/run-5")
    assert [r["playbook"] for r in report["runs"]][:4] == ["playbooks/golive.yml"] * 3 + [
        "playbooks/rollback_emergency.yml"]
    assert report["counts"] == {"pass": 2, "fail": 1, "warn": 0, "skip": 0}  # k8s.version at its newest
    page = rp.render_html(report)
    assert 'id="runs"' in page and "run-5" in page and "Runs of the release" in rp.render_markdown(report)


def test_every_golive_core_name_the_page_uses_is_part_of_the_collection():
    """A row may be planned, but the module, plugin, role or playbook it names exists: a
    name the collection does not have is a promise nobody can check."""
    kinds = ("plugins/modules", "plugins/callback", "plugins/filter", "plugins/test", "roles", "playbooks")
    missing = set()
    for name in set(re.findall(r"golive\.core\.([a-z0-9_]+)", DOC)):
        if not any((ROOT / kind / name).exists() or (ROOT / kind / (name + ".py")).exists()
                   or (ROOT / kind / (name + ".yml")).exists() for kind in kinds):
            missing.add(name)
    assert sorted(missing) == []


@pytest.mark.parametrize("contacts,lines", [
    ([{"group": "Technical Team", "role": "DevOps Lead", "name": "Ann", "phone": "+1 555 0100",
       "email": "a@example.com"}], ["Technical Team - DevOps Lead: Ann, +1 555 0100, a@example.com"]),
    ([{"role": "On-call", "chat": "#oncall"}, "Security: sec@example.com", 7],
     ["On-call: #oncall", "Security: sec@example.com"]),
    (None, []),
])
def test_contact_lines(contacts, lines):
    assert rp.contact_lines(contacts) == lines


def test_the_header_shows_the_contacts_and_the_escalation_matrix_escaped():
    report = rp.build(run(task("t", "phase1", 1000.0), contacts=[{"role": "DBA", "name": "<Sam>"}],
                          escalation=[{"level": 1, "who": "On-call engineer", "within": "15 minutes"}, "Level 2: CTO"]),
                      cl.parse(ROWS))
    assert report["contacts"] == ["DBA: <Sam>"]
    assert report["escalation"] == ["Level 1: On-call engineer (15 minutes)", "Level 2: CTO"]
    html = rp.render_html(report)
    header = html[html.index('<header'):html.index('</header>')]
    assert "DBA: &lt;Sam&gt;" in header and "Level 1: On-call engineer (15 minutes) · Level 2: CTO" in header
    markdown = rp.render_markdown(report)
    assert "- Contacts: DBA: <Sam>" in markdown and "- Escalation: Level 1: On-call engineer (15 minutes)" in markdown
    bare = rp.render_html(rp.build(run(task("t", "phase1", 1000.0)), cl.parse(ROWS)))
    assert 'id="contacts"' not in bare


def test_the_success_criteria_table_and_the_watches_so_far():
    records = [
        {"id": "watch.success.uptime-week", "status": "skip", "at": 1, "checklist": ["99.9% uptime during go-live week"],
         "evidence": {"value": None, "objective": 0.999, "shown": "no data",
                      "reason": "not measurable yet (needs 5 more days)"}},
        {"id": "watch.success.uptime-week", "status": "pass", "at": 2,
         "evidence": {"value": 0.9995, "objective": 0.999, "shown": "99.950%"}},
        {"id": "watch.success.latency-p95-week", "status": "fail", "at": 2,
         "evidence": {"value": 250.0, "objective": 200.0, "shown": "250 ms",
                      "problems": ["latency-p95 250 ms over the go-live week, objective 200 ms"]}},
        {"id": "watch.24h.error-rate", "status": "pass", "at": 2, "evidence": {}},
    ]
    rows = rp.success_rows(records)
    assert [(r["id"], r["status"], r["objective"], r["measured"], r["verdict"]) for r in rows] == [
        ("watch.success.latency-p95-week", "fail", "<= 200 ms", "250 ms", "failed"),
        ("watch.success.uptime-week", "pass", ">= 99.900%", "99.950%", "passed")]
    early = rp.success_rows(records[:1])
    assert early[0]["verdict"] == "not measurable yet (needs 5 more days)" and early[0]["measured"] == "-"
    watched = {"event": "watch", "window": "1h", "now": "2026-12-01T10:00:00Z", "days_live": 0.1, "verdict": "passed",
               "figures": {"error-rate": {"value": 0.0004}}}
    record = {"events": [{"event": "run-opened"}, watched]}
    expected = {"window": "1h", "now": "2026-12-01T10:00:00Z", "days_live": 0.1, "verdict": "passed",
                "figures": {"error-rate": 0.0004}}
    assert rp.watch_rows(record) == [expected]
    # Rendered: one table row per criterion, its status on the row; the watches with a column per figure.
    report = rp.build(run(task("t", "watch", 1000.0)), cl.parse(ROWS))
    report.update(success_criteria=rows, watches=[expected])
    page = rp.render_html(report)
    assert '<table id="success-table">' in page and page.count('<tr data-status="') == 2
    assert "<th>error-rate</th>" in page and "<td>0.0004</td>" in page
    assert "| fail | p95 response time over the go-live week | &lt;= 200 ms | 250 ms | failed |" in rp.render_markdown(report)


def test_a_run_of_several_clusters_says_whose_each_check_and_failure_is():
    rows = cl.parse(ROWS)
    report = rp.build(run(
        task("Gate", "phase5", 1000, checks=[check("slo.error-ratio", "pass")], host="eu-1"),
        task("Gate", "phase5", 1001, checks=[check("slo.error-ratio", "fail", ratio=0.5)], host="us-1"),
        task("Cut over", "phase5", 1002, status="failed", host="us-1", msg="validation failed"),
        failed_hosts=["us-1"]), rows)
    assert report["hosts"] == ["eu-1", "us-1"]
    row = next(r for r in report["checklist"] if r["item"] == "Error rate low")
    assert [(e["status"], e["host"]) for e in row["evidence"]] == [("fail", "us-1"), ("pass", "eu-1")]
    assert report["failed_checks"][0]["host"] == "us-1" and report["failed_tasks"][0]["host"] == "us-1"
    assert "(phase5, us-1, Gate)" in rp.render_markdown(report) and "phase5, us-1" in rp.render_html(report)
    # The release report keeps each cluster's newest record of a check, not one for all.
    latest = rp.build(run(
        task("Gate", "phase5", 1000, checks=[check("slo.error-ratio", "pass")], host="eu-1"),
        task("Gate", "phase5", 1001, checks=[check("slo.error-ratio", "fail")], host="us-1")), rows, latest=True)
    assert sorted(c["host"] for c in latest["checks"]) == ["eu-1", "us-1"]
    # One host: nothing changes.
    single = rp.build(run(task("Gate", "phase5", 1000, checks=[check("slo.error-ratio", "pass")])), rows)
    assert single["hosts"] == [] and "host" not in single["checks"][0]

# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The evidence report of one run: the model (``build``) and its four renderings.

``build(run, rows)`` joins what the callback recorded of a run (tasks with their times,
status, check records, ledger steps and diffs) with the checklist mapping (``rows`` from
``checklist.parse``). Everything here is pure: the callback does the I/O.

The report only ever holds what modules returned as evidence (already masked against the
task's secret options), failure messages, diffs the modules chose to show, and a few named
run variables; never a task's arguments or the whole result.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import html
import json
import os
import re
from xml.sax.saxutils import escape as xml_escape

from ansible_collections.golive.core.plugins.plugin_utils import checklist as cl

# Worst first: the order of the checklist table and of a row's own status.
ORDER = ("fail", "warn", "pass", "skip", "not run", "planned", "manual")
COLOURS = {"fail": "#c62828", "warn": "#ef6c00", "pass": "#2e7d32", "skip": "#757575", "not run": "#9e9e9e",
           "planned": "#5c6bc0", "manual": "#6d4c41", "ok": "#2e7d32", "changed": "#f9a825",
           "failed": "#c62828", "ignored": "#ef6c00", "skipped": "#bdbdbd"}
PHASE_NAMES = {"phase1": "phase1 · Day -7 infrastructure", "phase2": "phase2 · Day -3 database",
               "phase3": "phase3 · Day -2 cache", "phase4": "phase4 · Day -1 application",
               "phase5": "phase5 · Day 0 go-live", "rollback": "rollback · emergency",
               "rollback-controlled": "rollback · controlled", "rollback-validation": "rollback · validation"}
ROLLBACK_PHASES = cl.ROLLBACK_PHASES
# A run's evidence kept with its release, relative to the report directory (``ledger.run.evidence_name``).
EVIDENCE_PATH = re.compile(r"^releases/[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*/runs/"
                           r"[A-Za-z0-9][A-Za-z0-9._-]*\.json$")
EVIDENCE_CHARS = 600
# Evidence records shown in a checklist row of the HTML (all are in report.json).
ROW_EVIDENCE = 3
# Characters of a timeline label (the whole name is in its tooltip).
LABEL_CHARS = 34
DIFF_CHARS = 4000


DEFAULT_DIRECTORY = os.path.join("artifacts", "reports")


def default_directory(environ=None):
    """Where reports go when nothing names a folder: GOLIVE_REPORT_DIR; under ansible-runner
    (AWX / Automation Controller, which sets AWX_ISOLATED_DATA_DIR to the job's artifact
    folder) that folder's reports/; else artifacts/reports in the folder the run starts in."""
    environ = os.environ if environ is None else environ
    if environ.get("GOLIVE_REPORT_DIR"):
        return environ["GOLIVE_REPORT_DIR"]
    if environ.get("AWX_ISOLATED_DATA_DIR"):
        return os.path.join(environ["AWX_ISOLATED_DATA_DIR"], "reports")
    return DEFAULT_DIRECTORY


def phase_of(role, play, tags=()):
    """``phase1`` for role ``phase1_infrastructure`` or a task tagged ``phase1``; the rollback
    roles; else the play's name."""
    if not (role and re.match(r"^(phase[1-5]_|rollback_)", role)):
        for tag in tags or ():
            if re.match(r"^phase[1-5]$", str(tag)):
                return str(tag)
    if role:
        found = re.match(r"^(phase[1-5])_", role)
        if found:
            return found.group(1)
        if role == "rollback_emergency":
            return "rollback"
        if role == "rollback_controlled":
            return "rollback-controlled"
    return play or "play"


def _worst(statuses):
    return min(statuses, key=ORDER.index) if statuses else None


def _short(value, limit=EVIDENCE_CHARS):
    if isinstance(value, dict) and "series" in value:  # drawn as a chart, not written out
        value = dict((k, v) for k, v in value.items() if k != "series")
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _iso(epoch):
    if epoch is None:
        return None
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def timeline(tasks):
    """Consecutive tasks of one phase form a segment: ``[{phase, label, start, end, status, steps}]``."""
    segments = []
    for task in tasks:
        if task.get("started") is None:
            continue
        if not segments or segments[-1]["phase"] != task["phase"]:
            segments.append({"phase": task["phase"], "label": PHASE_NAMES.get(task["phase"], task["phase"]),
                             "start": task["started"], "end": task["ended"], "steps": []})
        segment = segments[-1]
        segment["end"] = max(segment["end"], task["ended"])
        segment["steps"].append({"name": task["name"], "start": task["started"], "end": task["ended"],
                                 "status": task["status"]})
    for segment in segments:
        states = [s["status"] for s in segment["steps"]]
        segment["status"] = "failed" if "failed" in states else "ignored" if "ignored" in states else \
            "changed" if "changed" in states else "ok"
        segment["duration"] = round(segment["end"] - segment["start"], 1)
    return segments


def contact_lines(contacts):
    """``golive_contacts`` as lines: ``Technical Team - DevOps Lead: Ann Lee, +1 555 0100, ann@example.com``."""
    lines = []
    for item in contacts if isinstance(contacts, list) else []:
        if isinstance(item, dict):
            who = " - ".join(str(item[k]) for k in ("group", "role") if item.get(k))
            how = ", ".join(str(item[k]) for k in ("name", "phone", "email", "chat") if item.get(k))
            lines.append("%s: %s" % (who, how) if who and how else who or how)
        elif isinstance(item, str):
            lines.append(item)
    return [line for line in lines if line]


def escalation_lines(matrix):
    """``golive_escalation`` as lines: ``Level 1: On-call engineer (15 minutes)``."""
    lines = []
    for item in matrix if isinstance(matrix, list) else []:
        if isinstance(item, dict):
            line = "Level %s: %s" % (item.get("level", len(lines) + 1), item.get("who") or item.get("contact") or "")
            if item.get("within"):
                line += " (%s)" % item["within"]
            lines.append(line)
        elif isinstance(item, str):
            lines.append(item)
    return lines


def _where(item):
    """``phase4`` of one cluster's run, ``phase4, us-1`` of a run of several hosts."""
    return item["phase"] + (", %s" % item["host"] if item.get("host") else "")


def build(run, rows, latest=False):
    """The report as a dict (what ``report.json`` holds).

    ``latest``: of the records of one check id in one phase only the newest counts (a release
    report across runs: a check that failed on Day -7 and passed when the phase ran again is
    a pass)."""
    match = cl.matcher(rows)
    # A run of several hosts (one per cluster): each check says whose it is.
    hosts = sorted(set(t["host"] for t in run["tasks"] if t.get("host")))
    several = len(hosts) > 1
    records = []
    for task in run["tasks"]:
        for record in task.get("checks") or []:
            records.append(dict(record, task=task["name"], phase=task["phase"], at=task["ended"],
                                **({"host": task.get("host")} if several else {})))
    if latest:
        newest = {}
        for record in records:
            key = (record["id"], record["phase"], record.get("host"))
            if key not in newest or record["at"] >= newest[key]["at"]:
                newest[key] = record
        records = [r for r in records if newest[(r["id"], r["phase"], r.get("host"))] is r]
    evidence = dict((row["key"], []) for row in rows)
    unmapped = []
    for record in records:
        keys = match(record)
        for key in keys:
            evidence[key].append(record)
        if not keys:
            unmapped.append(record)
    table = []
    for row in rows:
        found = evidence[row["key"]]
        if found:
            status = _worst([r["status"] for r in found])
        elif row["how"] == "automated":
            status = "not run"
        else:
            status = row["how"]
        latest = {}
        for r in found:  # one entry per check id, phase, host and status: the latest
            latest[(r["id"], r["phase"], r.get("host"), r["status"])] = r
        shown = sorted(latest.values(), key=lambda r: (ORDER.index(r["status"]), -r["at"]))
        table.append(dict(row, status=status, evidence=[
            dict({"id": r["id"], "status": r["status"], "title": r.get("title"), "task": r["task"], "phase": r["phase"],
                  "evidence": _short(r.get("evidence") or {})}, **({"host": r["host"]} if r.get("host") else {}))
            for r in shown]))
    table.sort(key=lambda r: ORDER.index(r["status"]))  # stable: document order within a status

    checks = [r for r in records if not r.get("step")]
    counts = dict((s, sum(1 for r in checks if r["status"] == s)) for s in ("pass", "fail", "warn", "skip"))
    failed_tasks = [t for t in run["tasks"] if t["status"] == "failed"]
    rolled_back = any(t["phase"] in ("rollback", "rollback-controlled") and t["status"] in ("ok", "changed")
                      for t in run["tasks"])
    if run.get("failed_hosts") or run.get("unreachable"):
        verdict = "failed"
    elif rolled_back:
        verdict = "rolled back"
    elif counts["fail"]:
        verdict = "attention"
    else:
        verdict = "passed"
    variables = run.get("vars") or {}
    approval = None
    if variables.get("change_id") or variables.get("approved_by"):
        approval = {"change_id": variables.get("change_id"), "approved_by": variables.get("approved_by"),
                    "recorded": [r for r in records if r["id"].startswith("approval.")]}
    changes = [{"task": t["name"], "phase": t["phase"], "at": _iso(t["ended"]), "diff": t.get("diff") or [],
                "step": t.get("step")} for t in run["tasks"] if t["status"] == "changed"]
    return {
        "format": 1,
        "release": variables.get("release"),
        "environment": variables.get("environment"),
        "playbook": run.get("playbook"),
        "started": _iso(run.get("started")), "finished": _iso(run.get("finished")),
        "duration": round((run.get("finished") or 0) - (run.get("started") or 0), 1),
        "operator": run.get("operator"),
        "contacts": contact_lines(run.get("contacts")),
        "escalation": escalation_lines(run.get("escalation")),
        "verdict": verdict,
        "counts": counts,
        "failed_checks": [r for r in checks if r["status"] == "fail"],
        "failed_tasks": [dict({"task": t["name"], "phase": t["phase"], "msg": t.get("msg")},
                              **({"host": t.get("host")} if several else {})) for t in failed_tasks],
        "hosts": hosts if several else [],
        "approval": approval,
        "timeline": timeline(run["tasks"]),
        "checklist": table,
        "checklist_counts": dict((s, sum(1 for r in table if r["status"] == s)) for s in ORDER),
        "unmapped_checks": [{"id": r["id"], "status": r["status"], "title": r.get("title"), "task": r["task"],
                             "phase": r["phase"]} for r in unmapped if not r.get("step")],
        "checks": records,
        "success_criteria": success_rows(records),
        "changes": changes,
        "tasks": [{"name": t["name"], "phase": t["phase"], "status": t["status"], "started": _iso(t["started"]),
                   "duration": round(t["ended"] - t["started"], 2)} for t in run["tasks"] if t.get("started")],
    }


def build_release(record, shares, rows):
    """The report of a release across its runs: ``record`` is its ledger record, ``shares``
    maps each run id to the evidence the report callback kept of that run (absent when it
    is not where the report is made). Each check counts at its newest."""
    tasks, found = [], []
    for entry in record.get("runs") or []:
        share = shares.get(entry.get("id"))
        if share is None:
            continue
        found.append(share)
        for task in share.get("tasks") or []:
            tasks.append(dict(task, run=entry.get("id")))
    tasks.sort(key=lambda t: (t.get("started") or 0, t.get("ended") or 0))
    found.sort(key=lambda share: share.get("started") or 0)
    variables = {"release": record.get("release"), "environment": record.get("environment")}
    for share in found:
        for key, value in (share.get("vars") or {}).items():
            variables.setdefault(key, value)
    playbooks = []
    for share in found:
        if share.get("playbook") and share["playbook"] not in playbooks:
            playbooks.append(share["playbook"])
    merged = {"tasks": tasks, "vars": variables, "playbook": ", ".join(playbooks),
              "started": min([s.get("started") for s in found if s.get("started")] or [None]) if found else None,
              "finished": max([s.get("finished") for s in found if s.get("finished")] or [None]) if found else None,
              "operator": ", ".join(sorted(set(s.get("operator") or "?" for s in found))),
              "failed_hosts": (found[-1].get("failed_hosts") if found else None) or [],
              # The newest run's contacts and escalation matrix.
              "contacts": next((s["contacts"] for s in reversed(found) if s.get("contacts")), None),
              "escalation": next((s["escalation"] for s in reversed(found) if s.get("escalation")), None)}
    report = build(merged, rows, latest=True)
    report["scope"] = "release"
    report["watches"] = watch_rows(record)
    report["runs"] = []
    for entry in record.get("runs") or []:
        holder = entry.get("holder") or {}
        found = entry.get("id") in shares
        report["runs"].append({
            "run": entry.get("id"), "by": "%s@%s" % (holder.get("user"), holder.get("host")),
            "started": entry.get("started"), "finished": entry.get("finished"), "status": entry.get("status"),
            "playbook": (shares.get(entry.get("id")) or {}).get("playbook"),
            "evidence": "here" if found else "not here (%s)" % (entry.get("evidence") or "no evidence recorded")})
    return report


def write_files(folder, report):
    """The four files of a report into ``folder`` (made if missing); their paths."""
    if not os.path.isdir(folder):
        os.makedirs(folder, mode=0o750, exist_ok=True)
    files = {"report.html": render_html(report), "report.md": render_markdown(report),
             "junit.xml": render_junit(report),
             "report.json": json.dumps(report, indent=1, sort_keys=True, default=str) + "\n"}
    paths = {}
    for filename, text in files.items():
        paths[filename] = os.path.join(folder, filename)
        with open(paths[filename], "w", encoding="utf-8") as handle:
            handle.write(text)
    return paths


# -- SVG timeline -------------------------------------------------------------

def svg_timeline(segments, width=1000):
    """One lane per phase segment: the segment's span, its steps as slices, failed steps red."""
    if not segments:
        return '<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="30"><text x="4" y="20">no tasks ran</text></svg>' \
            % width
    label_w, lane_h, top = 250, 30, 24
    start = segments[0]["start"]
    span = max(1e-6, max(s["end"] for s in segments) - start)
    scale = (width - label_w - 80) / span
    height = top + lane_h * len(segments) + 10
    out = ['<svg xmlns="http://www.w3.org/2000/svg" class="timeline" width="%d" height="%d" '
           'viewBox="0 0 %d %d" role="img" aria-label="timeline of the run">' % (width, height, width, height)]
    for tick in range(0, 6):
        x = label_w + (width - label_w - 80) * tick / 5.0
        out.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#e0e0e0"/>' % (x, top - 6, x, height - 6))
        out.append('<text x="%.1f" y="%d" font-size="11" fill="#616161" text-anchor="middle">+%ds</text>'
                   % (x, top - 10, round(span * tick / 5.0)))
    for index, segment in enumerate(segments):
        y = top + index * lane_h
        out.append('<g class="phase" data-phase="%s" data-status="%s">' % (html.escape(segment["phase"]), segment["status"]))
        label = segment["label"] if len(segment["label"]) <= LABEL_CHARS else segment["label"][:LABEL_CHARS - 1] + "…"
        out.append('<text class="phase-label" x="4" y="%d" font-size="13" fill="#212121"><title>%s</title>%s</text>'
                   % (y + 19, html.escape(segment["label"]), html.escape(label)))
        for n, step in enumerate(segment["steps"]):
            x = label_w + (step["start"] - start) * scale
            w = max(2.0, (step["end"] - step["start"]) * scale)
            colour = COLOURS.get(step["status"], "#90a4ae") if step["status"] in ("failed", "ignored") else \
                ("#43a047" if n % 2 == 0 else "#66bb6a") if step["status"] != "changed" else \
                ("#fbc02d" if n % 2 == 0 else "#fdd835")
            out.append('<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="%s"><title>%s (%s, %.1fs)</title></rect>'
                       % (x, y + 5, w, lane_h - 10, colour, html.escape(step["name"]), step["status"],
                          step["end"] - step["start"]))
        end_x = label_w + (segment["end"] - start) * scale
        out.append('<text x="%.1f" y="%d" font-size="11" fill="#424242">%.1fs</text>'
                   % (end_x + 4, y + 19, segment["duration"]))
        out.append("</g>")
    out.append("</svg>")
    return "".join(out)


# -- HTML ---------------------------------------------------------------------

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#212121;background:#fafafa}
main{max-width:1100px;margin:0 auto;padding:16px 24px}
.banner{padding:18px 24px;color:#fff}
.banner h1{margin:0 0 4px;font-size:26px}.banner p{margin:2px 0}
.v-passed{background:#2e7d32}.v-failed{background:#c62828}.v-rolled-back{background:#6a1b9a}.v-attention{background:#ef6c00}
h2{margin-top:28px;border-bottom:1px solid #ddd;padding-bottom:4px}
table{border-collapse:collapse;width:100%;font-size:13px;background:#fff}
th,td{border:1px solid #e0e0e0;padding:4px 6px;text-align:left;vertical-align:top}
th{background:#f1f1f1}
.status{font-weight:600;color:#fff;border-radius:3px;padding:1px 6px;white-space:nowrap}
code,pre{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px}
pre{white-space:pre-wrap;word-break:break-word;background:#f5f5f5;padding:6px;margin:2px 0}
.counts span{margin-right:14px}
.muted{color:#757575}
"""


def svg_chart(series, threshold=None, width=320, height=80):
    """A figure over its window as an SVG polyline, with its threshold dashed (no script)."""
    points = [(float(t), float(v)) for t, v in series if v is not None]
    if not points:
        return ""
    values = [point[1] for point in points] + ([float(threshold)] if threshold is not None else [])
    low, high = min(values + [0.0]), max(values) or 1.0
    t0, t1 = points[0][0], points[-1][0]
    span_t, span_v = (t1 - t0) or 1.0, (high - low) or 1.0

    def x(t):
        return 2 + (t - t0) / span_t * (width - 4)

    def y(v):
        return height - 2 - (v - low) / span_v * (height - 4)
    line = " ".join("%.1f,%.1f" % (x(t), y(v)) for t, v in points)
    parts = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img">'
             % (width, height, width, height),
             '<rect width="%d" height="%d" fill="#fff" stroke="#ddd"/>' % (width, height),
             '<polyline fill="none" stroke="#1565c0" stroke-width="1.5" points="%s"/>' % line]
    if threshold is not None:
        parts.append('<line x1="2" x2="%d" y1="%.1f" y2="%.1f" stroke="#c62828" stroke-dasharray="4 3"/>'
                     % (width - 2, y(float(threshold)), y(float(threshold))))
    parts.append("</svg>")
    return "".join(parts)


def _badge(status):
    colour = COLOURS.get(status, "#757575")
    return '<span class="status" style="background:%s">%s</span>' % (colour, html.escape(status))


def _e(value):
    return html.escape("" if value is None else str(value))


def _table(headers, rows, table_id=None):
    """An HTML table: ``headers`` as text, ``rows`` as ``(attributes of the tr, [cell HTML])``."""
    return "<table%s><thead><tr>%s</tr></thead><tbody>%s</tbody></table>" % (
        ' id="%s"' % table_id if table_id else "", "".join("<th>%s</th>" % _e(h) for h in headers),
        "".join("<tr%s>%s</tr>" % (attrs, "".join("<td>%s</td>" % cell for cell in cells)) for attrs, cells in rows))


def render_html(report):
    r = report
    verdict_class = "v-" + r["verdict"].replace(" ", "-")
    parts = ["<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">",
             "<title>golive report %s: %s</title><style>%s</style></head><body>" % (_e(r["release"]), _e(r["verdict"]),
                                                                                    CSS)]
    parts.append('<header class="banner %s" id="banner"><h1>Release %s: %s</h1>'
                 % (verdict_class, _e(r["release"]), _e(r["verdict"].upper())))
    parts.append("<p>%s · environment %s · %s → %s (%ss) · by %s</p>" % (
        _e(r["playbook"]), _e(r["environment"]), _e(r["started"]), _e(r["finished"]), _e(r["duration"]),
        _e(r["operator"])))
    c = r["counts"]
    parts.append('<p class="counts"><span>checks passed %d</span><span>failed %d</span><span>warnings %d</span>'
                 '<span>skipped %d</span></p>' % (c["pass"], c["fail"], c["warn"], c["skip"]))
    if r.get("contacts") or r.get("escalation"):
        parts.append('<div id="contacts" class="contacts">')
        for title, lines in (("Contacts", r.get("contacts")), ("Escalation", r.get("escalation"))):
            if lines:
                parts.append("<p><b>%s</b>: %s</p>" % (title, " · ".join(_e(line) for line in lines)))
        parts.append("</div>")
    parts.append("</header><main>")
    if r["failed_checks"] or r["failed_tasks"]:
        parts.append('<section id="attention"><h2>Needs attention</h2><ul>')
        for check in r["failed_checks"]:
            parts.append("<li>%s <code>%s</code> %s <span class=\"muted\">(%s, %s)</span></li>" % (
                _badge("fail"), _e(check["id"]), _e(check.get("title")), _e(_where(check)), _e(check["task"])))
        for task in r["failed_tasks"]:
            parts.append("<li>%s task <b>%s</b> (%s): %s</li>"
                         % (_badge("failed"), _e(task["task"]), _e(_where(task)), _e(task["msg"])))
        parts.append("</ul></section>")
    if r.get("runs"):
        parts.append('<section id="runs"><h2>Runs of the release</h2>%s</section>' % _table(
            ("Run", "By", "Started", "Finished", "Status", "Playbook", "Evidence"),
            [("", ["<code>%s</code>" % _e(run["run"])] + [_e(run[k]) for k in (
                "by", "started", "finished", "status", "playbook", "evidence")]) for run in r["runs"]]))
    parts.append('<section id="approval"><h2>Approval</h2>')
    if r["approval"]:
        a = r["approval"]
        parts.append("<p>Change <b>%s</b> approved by <b>%s</b>.</p>" % (_e(a["change_id"]), _e(a["approved_by"])))
        for rec in a["recorded"]:
            parts.append("<p>%s <code>%s</code> %s</p>" % (_badge(rec["status"]), _e(rec["id"]), _e(rec.get("title"))))
    else:
        parts.append('<p class="muted">This run carried no approval (only phase 5 needs one).</p>')
    parts.append("</section>")
    parts.append('<section id="timeline"><h2>Timeline</h2><p class="muted">One lane per phase; each slice is a task '
                 '(green: checked, nothing changed; yellow: changed something; orange: failed, ignored; red: failed). '
                 'Hover a slice for its name.</p>%s</section>' % svg_timeline(r["timeline"]))
    charted = [c for c in r["checks"] if isinstance(c.get("evidence"), dict) and c["evidence"].get("series")]
    if charted:
        parts.append('<section id="charts"><h2>Over the window</h2><p class="muted">Each figure over its window; '
                     'the dashed line is its threshold.</p>')
        for c in charted:
            parts.append('<figure class="chart">%s<figcaption>%s <code>%s</code> %s</figcaption></figure>' % (
                svg_chart(c["evidence"]["series"], c["evidence"].get("threshold")), _badge(c["status"]),
                _e(c["id"]), _e(c["evidence"].get("shown") or c.get("title"))))
        parts.append("</section>")
    if r.get("success_criteria"):
        parts.append('<section id="success"><h2>Success criteria of the go-live week</h2>%s</section>' % _table(
            ("Status", "Criterion", "Objective", "Measured", "Verdict"),
            [(' data-status="%s"' % _e(row["status"]),
              [_badge(row["status"]), "%s <code>%s</code>" % (_e(row["criterion"]), _e(row["id"]))]
              + [_e(row[k]) for k in ("objective", "measured", "verdict")]) for row in r["success_criteria"]],
            "success-table"))
    if r.get("watches"):
        names = sorted(set(name for w in r["watches"] for name in w["figures"]))
        parts.append('<section id="watches"><h2>Watches so far</h2>%s</section>' % _table(
            ["Window", "Ending", "Days live", "Verdict"] + names,
            [("", [_e(w[k]) for k in ("window", "now", "days_live", "verdict")]
              + [_e("-" if w["figures"].get(n) is None else "%.4g" % w["figures"][n]) for n in names])
             for w in r["watches"]], "watches-table"))
    counts = r["checklist_counts"]
    parts.append('<section id="checklist"><h2>Checklist</h2><p class="counts">%s</p>' % "".join(
        "<span>%s %d</span>" % (_e(s), counts[s]) for s in ORDER))
    parts.append('<table id="checklist-table"><thead><tr><th>Status</th><th>Item</th><th>Checklist · section</th>'
                 '<th>Evidence / reason</th></tr></thead><tbody>')
    for row in r["checklist"]:
        if row["evidence"]:
            shown = row["evidence"][:ROW_EVIDENCE]
            cell = "".join("<div>%s <code>%s</code> %s <span class=\"muted\">(%s)</span><pre>%s</pre></div>" % (
                _badge(e["status"]), _e(e["id"]), _e(e["title"]), _e(_where(e)), _e(_short(e["evidence"], 300)))
                for e in shown)
            if len(row["evidence"]) > len(shown):
                cell += '<p class="muted">and %d more records in report.json</p>' % (len(row["evidence"]) - len(shown))
        else:
            cell = "%s%s" % ("<i>%s</i> " % _e(row["detail"]) if row["detail"] else "", _e(row["reason"]))
        parts.append('<tr class="row-%s" data-status="%s"><td>%s</td><td>%s</td><td>%s · %s%s</td><td>%s</td></tr>' % (
            row["status"].replace(" ", "-"), _e(row["status"]), _badge(row["status"]), _e(row["item"]),
            _e(row["checklist"].replace(" Checklist", "")), _e(row["section"]),
            " · %s" % _e(row["subsection"]) if row["subsection"] else "", cell))
    parts.append("</tbody></table></section>")
    if r["unmapped_checks"]:
        parts.append('<section id="other-checks"><h2>Other checks</h2><table><tbody>')
        for check in r["unmapped_checks"]:
            parts.append("<tr><td>%s</td><td><code>%s</code></td><td>%s</td><td>%s</td></tr>" % (
                _badge(check["status"]), _e(check["id"]), _e(check["title"]), _e(check["task"])))
        parts.append("</tbody></table></section>")
    parts.append('<section id="changes"><h2>What changed</h2>')
    if not r["changes"]:
        parts.append('<p class="muted">Nothing changed.</p>')
    for change in r["changes"]:
        parts.append("<h3>%s <span class=\"muted\">(%s, %s)</span></h3>"
                     % (_e(change["task"]), _e(change["phase"]), _e(change["at"])))
        for diff in change["diff"]:
            parts.append("<table><tr><th>before</th><th>after</th></tr><tr><td><pre>%s</pre></td><td><pre>%s</pre>"
                         "</td></tr></table>" % (_e(diff.get("before")), _e(diff.get("after"))))
    parts.append("</section>")
    parts.append('<section id="tasks"><h2>Tasks</h2><table><thead><tr><th>Status</th><th>Phase</th><th>Task</th>'
                 '<th>Started</th><th>Seconds</th></tr></thead><tbody>')
    for task in r["tasks"]:
        parts.append("<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>" % (
            _badge(task["status"]), _e(task["phase"]), _e(task["name"]), _e(task["started"]), _e(task["duration"])))
    parts.append("</tbody></table></section></main></body></html>\n")
    return "".join(parts)


# -- Markdown -----------------------------------------------------------------

def _md(value):
    """A table cell or line: no pipes, no newlines, no raw HTML."""
    text = ("" if value is None else str(value)).replace("|", "\\|").replace("\n", " ")
    return text.replace("<", "&lt;").replace(">", "&gt;")


SUCCESS_LABELS = {"uptime-week": ("Uptime over the go-live week", "availability"),
                  "error-rate-week": ("Error rate over the go-live week", "error-rate"),
                  "latency-p95-week": ("p95 response time over the go-live week", "latency-p95")}


def success_rows(records):
    """The success criteria of the go-live week (``watch.success.*``, newest of each), as a
    table: criterion, objective, measured, status, and why (not measurable yet, or the miss)."""
    newest = {}
    for record in records:
        if record["id"].startswith("watch.success.") and (
                record["id"] not in newest or record["at"] >= newest[record["id"]]["at"]):
            newest[record["id"]] = record
    rows = []
    for check_id, record in sorted(newest.items()):
        name = check_id[len("watch.success."):]
        label, unit = SUCCESS_LABELS.get(name, (name, None))
        evidence = record.get("evidence") or {}
        objective = evidence.get("objective")
        if objective is None:
            shown_goal = "-"
        elif unit in ("availability", "error-rate"):
            shown_goal = "%s %.3f%%" % (">=" if unit == "availability" else "<=", objective * 100)
        else:
            shown_goal = "<= %g ms" % objective
        measured = evidence.get("shown") if evidence.get("value") is not None else "-"
        why = evidence.get("reason") or "; ".join(evidence.get("problems") or []) or ""
        rows.append({"id": check_id, "criterion": label, "checklist": record.get("checklist"),
                     "objective": shown_goal, "measured": measured, "status": record["status"],
                     "verdict": {"pass": "passed", "fail": "failed"}.get(record["status"], why or record["status"]),
                     "why": why})
    return rows


def watch_rows(record):
    """The watches of a release so far (the ledger's ``watch`` events, in order)."""
    rows = []
    for event in (record or {}).get("events") or []:
        if event.get("event") != "watch":
            continue
        figures = event.get("figures") or {}
        rows.append({"window": event.get("window"), "now": event.get("now"), "days_live": event.get("days_live"),
                     "verdict": event.get("verdict"),
                     "figures": dict((name, (f or {}).get("value")) for name, f in sorted(figures.items()))})
    return rows


def render_markdown(report):
    r = report
    lines = ["# Release %s: %s" % (r["release"], r["verdict"].upper()), "",
             "- Playbook: `%s`, environment `%s`, by %s" % (r["playbook"], r["environment"], r["operator"]),
             "- From %s to %s (%ss)" % (r["started"], r["finished"], r["duration"]),
             "- Checks: %(pass)d passed, %(fail)d failed, %(warn)d warnings, %(skip)d skipped" % r["counts"]]
    if r["approval"]:
        lines.append("- Approval: change %s approved by %s" % (r["approval"]["change_id"], r["approval"]["approved_by"]))
    if r.get("contacts"):
        lines.append("- Contacts: %s" % "; ".join(r["contacts"]))
    if r.get("escalation"):
        lines.append("- Escalation: %s" % "; ".join(r["escalation"]))
    if r.get("runs"):
        lines += ["", "## Runs of the release", "", "| Run | By | Started | Finished | Status | Playbook | Evidence |",
                  "| --- | --- | --- | --- | --- | --- | --- |"]
        lines += ["| %s | %s | %s | %s | %s | %s | %s |" % tuple(_md(run[k]) for k in (
            "run", "by", "started", "finished", "status", "playbook", "evidence")) for run in r["runs"]]
    if r["failed_checks"] or r["failed_tasks"]:
        lines += ["", "## Needs attention", ""]
        lines += ["- FAIL `%s` %s (%s, %s)" % (c["id"], c.get("title"), _where(c), c["task"]) for c in r["failed_checks"]]
        lines += ["- FAILED task %s (%s): %s" % (t["task"], _where(t), t["msg"]) for t in r["failed_tasks"]]
    if r.get("success_criteria"):
        lines += ["", "## Success criteria of the go-live week", "", "| Status | Criterion | Objective | Measured | Verdict |",
                  "| --- | --- | --- | --- | --- |"]
        lines += ["| %s | %s | %s | %s | %s |" % (row["status"], _md(row["criterion"]), _md(row["objective"]),
                                                  _md(row["measured"]), _md(row["verdict"]))
                  for row in r["success_criteria"]]
    if r.get("watches"):
        lines += ["", "## Watches so far", "", "| Window | Ending | Days live | Verdict |", "| --- | --- | ---: | --- |"]
        lines += ["| %s | %s | %s | %s |" % (w["window"], w["now"], w["days_live"], w["verdict"]) for w in r["watches"]]
    lines += ["", "## Timeline", "", "| Phase | Started | Seconds | Status |", "| --- | --- | ---: | --- |"]
    lines += ["| %s | %s | %s | %s |" % (s["label"], _iso(s["start"]), s["duration"], s["status"]) for s in r["timeline"]]
    lines += ["", "## Checklist", "", "| Status | Item | Section | Evidence / reason |", "| --- | --- | --- | --- |"]
    for row in r["checklist"]:
        cell = "; ".join("%s `%s`%s: %s" % (e["status"], e["id"], " (%s)" % e["host"] if e.get("host") else "",
                                            e["evidence"]) for e in row["evidence"]) or row["reason"]
        lines.append("| %s | %s | %s · %s | %s |"
                     % (row["status"], _md(row["item"]), _md(row["checklist"]), _md(row["section"]), _md(cell)))
    lines += ["", "## What changed", ""]
    for change in r["changes"]:
        lines.append("- %s (%s, %s)" % (_md(change["task"]), change["phase"], change["at"]))
    if not r["changes"]:
        lines.append("Nothing changed.")
    return "\n".join(lines) + "\n"


# -- JUnit --------------------------------------------------------------------

def render_junit(report):
    """One testsuite per phase, one testcase per check record (ledger steps included)."""
    suites = {}
    for record in report["checks"]:
        suites.setdefault(record["phase"], []).append(record)
    out = ['<?xml version="1.0" encoding="UTF-8"?>']
    total = len(report["checks"])
    failures = sum(1 for r in report["checks"] if r["status"] == "fail")
    out.append('<testsuites name="golive %s" tests="%d" failures="%d" time="%s">' % (
        xml_escape(str(report["release"]), {'"': "&quot;"}), total, failures, report["duration"]))
    for phase, records in suites.items():
        out.append('<testsuite name="%s" tests="%d" failures="%d" skipped="%d">' % (
            xml_escape(phase, {'"': "&quot;"}), len(records), sum(1 for r in records if r["status"] == "fail"),
            sum(1 for r in records if r["status"] == "skip")))
        for record in records:
            out.append('<testcase classname="%s" name="%s">' % (
                xml_escape("golive.%s" % phase, {'"': "&quot;"}),
                xml_escape("%s %s" % (record["id"], record.get("title") or ""), {'"': "&quot;"})))
            evidence = xml_escape(_short(record.get("evidence") or {}, 4000))
            if record["status"] == "fail":
                out.append('<failure message="%s">%s</failure>' % (
                    xml_escape(record.get("title") or record["id"], {'"': "&quot;"}), evidence))
            elif record["status"] == "skip":
                out.append("<skipped/>")
            else:
                out.append("<system-out>%s%s</system-out>" % ("WARNING " if record["status"] == "warn" else "",
                                                              evidence))
            out.append("</testcase>")
        out.append("</testsuite>")
    out.append("</testsuites>")
    return "\n".join(out) + "\n"

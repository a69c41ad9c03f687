# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: report
type: aggregate
short_description: Writes the evidence report of a run (HTML, Markdown, JUnit, JSON)
version_added: 1.0.0
description:
  - Records every task of the run (phase, start, end, status), the check records modules return
    in C(checks), the ledger steps they recorded, failure messages and the diffs modules show, and
    writes at the end of the run one folder with C(report.html) (self-contained, no network; a
    verdict banner, an SVG timeline of phases and steps, the checklist table of both seed
    checklists with failures first, what changed, the approval), C(report.md), C(junit.xml) (one
    testcase per check) and C(report.json).
  - The checklist table comes from the collection's C(docs/checklist.md). A check matches a row
    that names its id or whose item the check's C(checklist) field quotes; manual and planned
    items are listed with their reason, automated items without evidence in this run as C(not run).
  - It works next to any stdout callback and next to ARA; it keeps only what modules returned as
    evidence (already masked against their secret options), never task arguments or whole results,
    and nothing at all of a C(no_log) task beyond its status. The user-info of every URL it keeps
    is replaced (C(https://***@host/...)).
  - Before/after of changes appear when the run uses C(--diff).
  - Every run that opened a run in a release's ledger also keeps its evidence with the release,
    C(releases/<environment>/<release>/runs/<run id>.json) under O(directory) (the ledger names
    that file in the run's entry), so C(playbooks/report.yml -e release=<id>) renders one report
    of the release across all its runs (golive.core.release_report).
requirements:
  - enable in C(callbacks_enabled) (the repository's C(ansible.cfg) does)
options:
  directory:
    description:
      - Where the run folders are written; each run gets C(<release>-<UTC time>) and C(latest) points at it.
      - When not set, C(reports) in the job's artifact folder under ansible-runner (AWX / Automation
        Controller set C(AWX_ISOLATED_DATA_DIR) to it), else C(artifacts/reports) in the folder the run starts in.
    type: path
    env:
      - name: GOLIVE_REPORT_DIR
    ini:
      - section: golive_report
        key: directory
  checklist:
    description: The checklist mapping to read (the collection's C(docs/checklist.md) by default).
    type: path
    env:
      - name: GOLIVE_REPORT_CHECKLIST
    ini:
      - section: golive_report
        key: checklist
"""

import datetime
import getpass
import json
import os
import re
import socket
import time

from ansible import constants as C
from ansible.plugins.callback import CallbackBase

from ansible_collections.golive.core.plugins.module_utils.common.checks import strip_userinfo
from ansible_collections.golive.core.plugins.plugin_utils import checklist as cl
from ansible_collections.golive.core.plugins.plugin_utils import report as rp

# The run variables the report names (and nothing else of the run's variables).
VARIABLES = {"release": ("golive_release", "release"), "environment": ("golive_environment",),
             "change_id": ("golive_change_id",), "approved_by": ("golive_approved_by",),
             "rollback_confirm": ("rollback_confirm",)}


def _diffs(value):
    items = value if isinstance(value, list) else [value] if isinstance(value, dict) else []
    out = []
    for item in items:
        if not isinstance(item, dict) or ("before" not in item and "after" not in item):
            continue
        entry = {}
        for side in ("before", "after"):
            text = item.get(side)
            text = text if isinstance(text, str) else json.dumps(text, indent=1, sort_keys=True, default=str)
            entry[side] = text if len(text) <= rp.DIFF_CHARS else text[:rp.DIFF_CHARS] + "\n…"
        out.append(entry)
    return out


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "golive.core.report"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super(CallbackModule, self).__init__(*args, **kwargs)
        self.run = {"tasks": [], "vars": {}, "started": time.time(), "finished": None, "playbook": None,
                    "operator": "%s@%s" % (getpass.getuser(), socket.gethostname()), "ledger_runs": []}
        if os.environ.get("JOB_ID"):  # AWX / Automation Controller
            self.run["operator"] += " (AWX job %s)" % os.environ["JOB_ID"]
        self.play = None
        self.started = {}
        # Once a rollback's tasks ran, what follows in the run that belongs to no phase (the
        # controlled rollback's validate.yml) verifies the rollback, not the go-live.
        self.rolled_back = False

    def v2_playbook_on_start(self, playbook):
        self.run["playbook"] = os.path.relpath(playbook._file_name)

    def v2_playbook_on_play_start(self, play):
        self.play = play.get_name()
        extra = play.get_variable_manager().extra_vars if play.get_variable_manager() else {}
        for key, names in VARIABLES.items():
            for name in names:
                value = extra.get(name)
                if isinstance(value, (str, int, float)) and not self.run["vars"].get(key):
                    self.run["vars"][key] = str(value)

    def v2_playbook_on_task_start(self, task, is_conditional):
        self.started[task._uuid] = time.time()

    v2_playbook_on_handler_task_start = v2_playbook_on_task_start

    def _record(self, result, status):
        task = result._task
        role = task._role.get_name(include_role_fqcn=False) if task._role else None
        data = result._result or {}
        phase = rp.phase_of(role, self.play, task.tags)
        if phase in rp.ROLLBACK_PHASES:
            self.rolled_back = True
        elif self.rolled_back and not re.match(r"^phase[1-5]$", phase):
            phase = "rollback-validation"
        entry = {"name": task.get_name(), "role": role, "phase": phase,
                 "host": result._host.get_name(), "started": self.started.get(task._uuid, time.time()),
                 "ended": time.time(), "status": status, "checks": []}
        if data.get("_ansible_no_log") or task.no_log:
            self.run["tasks"].append(entry)
            return
        items = [data] + [r for r in data.get("results") or [] if isinstance(r, dict)]
        opened = data.get("ledger_run")
        if isinstance(opened, dict) and status in ("ok", "changed") and opened.get("run_id") != "check-mode":
            # A run in a release's ledger starts here: what follows is its evidence.
            self.run["ledger_runs"].append({"run_id": str(opened.get("run_id")), "release": opened.get("release"),
                                            "environment": opened.get("environment"),
                                            "evidence": opened.get("evidence"), "task_index": len(self.run["tasks"])})
        for item in items:
            for holder in (item.get("ledger"), item.get("record")):
                if isinstance(holder, dict) and isinstance(holder.get("environment"), str):
                    self.run["vars"].setdefault("environment", holder["environment"])
            entry["checks"].extend(c for c in item.get("checks") or [] if isinstance(c, dict) and c.get("id"))
            ledger = item.get("ledger")
            if isinstance(ledger, dict) and isinstance(ledger.get("step"), str) and cl.STEP_ID.match(
                    re.sub(r"[^a-z0-9/-]", "-", ledger["step"])):
                entry["step"] = ledger["step"]
                entry["checks"].append({"id": ledger["step"], "title": task.get_name(), "step": True,
                                        "status": "fail" if status in ("failed", "ignored") else "pass",
                                        "evidence": {"decision": ledger.get("decision"),
                                                     "changed": bool(item.get("changed"))}})
        entry["diff"] = _diffs(data.get("diff"))
        if status in ("failed", "ignored", "unreachable"):
            entry["msg"] = str(data.get("msg") or "")[:1000]
        # A second line of defence: no URL's user-info (a password written into it) is kept.
        self.run["tasks"].append(strip_userinfo(entry))

    def v2_runner_on_ok(self, result):
        self._record(result, "changed" if result._result.get("changed") else "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, "ignored" if ignore_errors else "failed")

    def v2_runner_on_skipped(self, result):
        self._record(result, "skipped")

    def v2_runner_on_unreachable(self, result):
        self._record(result, "failed")
        self.run["unreachable"] = True

    def v2_playbook_on_stats(self, stats):
        self.run["finished"] = time.time()
        # The inventory's contacts and escalation matrix, which the playbooks hand over with
        # set_stats (golive_contacts, golive_escalation): the report's header shows them.
        custom = (getattr(stats, "custom", None) or {}).get("_run") or {}
        for key, name in (("contacts", "golive_contacts"), ("escalation", "golive_escalation")):
            if isinstance(custom.get(name), list):
                self.run[key] = custom[name]
        self.run["failed_hosts"] = sorted(h for h in stats.processed if stats.failures.get(h) or stats.dark.get(h))
        try:
            folder = self.write()
        except (OSError, ValueError) as exc:
            self._display.warning("golive.core.report: the report was not written: %s" % exc)
            return
        # Where the report is, for people; a machine-readable stdout (json, jsonl) stays clean.
        stdout_callback = str(C.config.get_config_value("DEFAULT_STDOUT_CALLBACK") or "")
        self._display.display("golive.core.report: %s" % os.path.join(folder, "report.html"),
                              stderr="json" in stdout_callback)

    def write(self):
        rows = cl.load(self.get_option("checklist"))
        report = rp.build(self.run, rows)
        stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        name = re.sub(r"[^A-Za-z0-9._-]", "_", "%s-%s" % (report["release"] or "run", stamp))
        root = os.path.abspath(self.get_option("directory") or rp.default_directory())
        if not os.path.isdir(root):
            os.makedirs(root, mode=0o750, exist_ok=True)
        folder, suffix = os.path.join(root, name), 1
        while True:  # two runs finishing in the same second each get a folder
            try:
                os.mkdir(folder, 0o750)
                break
            except FileExistsError:
                suffix += 1
                folder = os.path.join(root, "%s.%d" % (name, suffix))
        rp.write_files(folder, report)
        latest = os.path.join(root, "latest")
        tmp = "%s.%d.tmp" % (latest, os.getpid())
        if os.path.lexists(tmp):
            os.unlink(tmp)
        os.symlink(os.path.basename(folder), tmp)
        os.replace(tmp, latest)
        self.keep_with_releases(root)
        return folder

    def keep_with_releases(self, root):
        """Each ledger run's share of the run (its tasks and their evidence, nothing else) in
        the file its ledger entry names, for the release's report across runs."""
        for n, run in enumerate(self.run["ledger_runs"]):
            name = run.get("evidence")
            if not isinstance(name, str) or not rp.EVIDENCE_PATH.match(name):
                continue
            end = self.run["ledger_runs"][n + 1]["task_index"] if n + 1 < len(self.run["ledger_runs"]) else None
            first = 0 if n == 0 else run["task_index"]
            share = dict(self.run, tasks=self.run["tasks"][first:end], ledger_run=run["run_id"],
                         vars=dict(self.run["vars"], release=run["release"], environment=run["environment"]))
            share.pop("ledger_runs", None)
            path = os.path.join(root, name)
            os.makedirs(os.path.dirname(path), mode=0o750, exist_ok=True)
            tmp = "%s.%d.tmp" % (path, os.getpid())
            with open(tmp, "w", encoding="utf-8") as handle:
                json.dump(share, handle, sort_keys=True, default=str)
            os.replace(tmp, path)

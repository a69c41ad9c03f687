# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The report of a release across its runs, made on the controller (see the module's docs)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.golive.core.plugins.plugin_utils import checklist as cl
from ansible_collections.golive.core.plugins.plugin_utils import report as rp

ARGUMENTS = dict(
    record=dict(type="dict", required=True),
    directory=dict(type="path"),
    dest=dict(type="path"),
    checklist=dict(type="path"),
)


def load_shares(record, directory):
    """The evidence each run of ``record`` left under ``directory``: ``({run id: share}, [missing])``."""
    shares, missing = {}, []
    for run in record.get("runs") or []:
        name = run.get("evidence")
        if not isinstance(name, str) or not rp.EVIDENCE_PATH.match(name):
            missing.append(run.get("id"))
            continue
        try:
            with open(os.path.join(directory, name), encoding="utf-8") as handle:
                share = json.load(handle)
        except (OSError, ValueError):
            missing.append(run.get("id"))
            continue
        if share.get("ledger_run") == run.get("id"):
            shares[run["id"]] = share
        else:
            missing.append(run.get("id"))
    return shares, missing


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        _valid, args = self.validate_argument_spec(argument_spec=ARGUMENTS)
        record = args["record"]
        if not record.get("release") or not record.get("environment"):
            raise AnsibleActionFail("Failed to make the release report: record is not a release's ledger record "
                                    "(golive.core.ledger operation=read returns it as record)")
        directory = args["directory"] or rp.default_directory()
        try:
            rows = cl.load(args["checklist"])
        except (OSError, ValueError) as exc:
            raise AnsibleActionFail("Failed to read the checklist mapping: %s" % exc)
        shares, missing = load_shares(record, directory)
        report = rp.build_release(record, shares, rows)
        folder = args["dest"] or os.path.join(directory, "releases", record["environment"], record["release"],
                                              "report")
        try:
            paths = rp.write_files(folder, report)
        except OSError as exc:
            raise AnsibleActionFail("Failed to write the release report to %s: %s (set dest to a writable "
                                    "directory)" % (folder, exc))
        result.update(changed=False, report=paths["report.html"], files=sorted(paths.values()),
                      verdict=report["verdict"], counts=report["counts"], runs=report["runs"],
                      phases=sorted(set(t["phase"] for t in report["tasks"])), missing_evidence=missing)
        if missing:
            result["warnings"] = ["The evidence of %d run(s) of release %s is not under %s: %s (made elsewhere, for "
                                  "example by another AWX job; the report shows the runs found)"
                                  % (len(missing), record["release"], directory, ", ".join(map(str, missing)))]
        return result

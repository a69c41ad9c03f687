#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: release_report
short_description: One evidence report of a release across all its runs
version_added: 1.0.0
description:
  - A go-live is many runs (Day -7 to Day 0, re-runs, the rollback, later runs); each run's
    evidence report covers that run. This renders one report of the release from the evidence
    every run kept with it. The report callback writes each ledger run's tasks and check records
    to C(releases/<environment>/<release>/runs/<run id>.json) under the report directory, and the
    run's entry in the release's ledger names that file.
  - Takes the ledger O(record) (from golive.core.ledger V(read)), reads each run's evidence from
    O(directory), and writes the same four files as a run's report (C(report.html), C(report.md),
    C(junit.xml), C(report.json)) to O(dest), with the phases on their days, the rollback and later
    runs on one timeline, a table of the release's runs, and the checklist table where each check
    counts at its newest (a check that failed on Day -7 and passed when the phase ran again is a pass).
  - Runs whose evidence is not under O(directory) (made on another machine or AWX job) are listed
    as such, with a warning; the report shows the runs it found.
  - Runs on the controller.
author:
  - golive.core maintainers (@golive)
extends_documentation_fragment:
  - golive.core.attributes
attributes:
  check_mode:
    support: full
    details: Writes the report files (they are the run's artifacts, not a managed system) and changes nothing else.
  diff_mode:
    support: none
options:
  record:
    description: The release's ledger record, as golive.core.ledger O(golive.core.ledger#module:operation=read) returns it.
    type: dict
    required: true
  directory:
    description: The report directory the runs' evidence is under (the report callback's C(directory)).
      Defaults to E(GOLIVE_REPORT_DIR), else C(artifacts/reports).
    type: path
  dest:
    description: Where to write the report. Defaults to C(<directory>/releases/<environment>/<release>/report).
    type: path
  checklist:
    description: The checklist mapping (the collection's C(docs/checklist.md) by default).
    type: path
seealso:
  - module: golive.core.ledger
    description: The record it reads.
"""

EXAMPLES = r"""
- name: Read the release's ledger
  golive.core.ledger:
    operation: read
    release: 2026.11.3
    environment: production
  register: ledger

- name: One report of the release across all its runs
  golive.core.release_report:
    record: "{{ ledger.record }}"
"""

RETURN = r"""
report:
  description: Path of C(report.html).
  returned: always
  type: str
files:
  description: Paths of the four files.
  returned: always
  type: list
  elements: str
verdict:
  description: The release's verdict (passed, attention, rolled back, failed).
  returned: always
  type: str
counts:
  description: Checks passed, failed, warned, skipped (each check at its newest).
  returned: always
  type: dict
runs:
  description: The release's runs, who ran them, when, their status, and whether their evidence was found.
  returned: always
  type: list
  elements: dict
phases:
  description: The phases the report holds tasks of.
  returned: always
  type: list
  elements: str
missing_evidence:
  description: Run ids whose evidence is not under O(directory).
  returned: always
  type: list
  elements: str
"""

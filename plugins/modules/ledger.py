#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: ledger
short_description: The release ledger and the run lock, kept in the cluster
version_added: 1.0.0
description:
  - Keeps a release's record (what each step of a go-live changed and how to undo it) in
    ConfigMaps of namespace O(namespace), chunked past the object size limit and written
    with resourceVersion preconditions, so two writers never lose each other's steps. A
    copy is written to O(artifact_dir) when set.
  - V(open) reads the release's record and takes the environment's run lock (a
    C(coordination.k8s.io) Lease) for a new run, in one call, and returns its RV(run_id), the
    release's RV(undo_plan) and, with O(plan), the plan of a rollback. The release id and the
    environment are checked first, and O(require_record) and the plan's refusals are answered
    before the lock is touched.
  - A lock held by a live run is never taken. It is refused, naming the holder (user@host,
    pid, AWX job id), since when, when it was last renewed and whether its process runs on
    this host. A holder whose process is gone from this host (killed, or the host restarted)
    is taken over without asking, and its run is marked C(interrupted) in its ledger.
    O(break_lock=true) takes the lock of a holder on another host once its lease expired.
    O(force_break_lock) takes it from the run it names, whatever that run's state. Every
    take-over is recorded as an event naming the old run.
  - V(begin) writes a step's intent (objects, planned undo) before the step acts and answers
    RV(done) when the step already finished with the same O(inputs), so a re-run after an
    interruption skips finished steps and repeats an interrupted one. V(finish) writes the
    outcome (status, before/after, undo, outputs, duration). V(close) ends the run and
    releases the lock. V(read) returns the record, its undo plan and the lock holder.
  - Writing the ledger is bookkeeping, not a change to a managed system; the module reports
    C(changed) only when it broke a lock. RV(recorded) tells whether it wrote.
author:
  - golive.core maintainers (@golive)
extends_documentation_fragment:
  - golive.core.attributes
  - golive.core.k8s
attributes:
  check_mode:
    support: full
    details: Reads the record and answers as a real run would (a held lock is refused); writes nothing.
  diff_mode:
    support: none
options:
  operation:
    description:
      - What to do; see the description.
    type: str
    required: true
    choices: [open, begin, finish, event, close, read]
  release:
    description:
      - The release id the record belongs to.
    type: str
    required: true
  environment:
    description:
      - The environment (one run lock and one record per release in each). Falls back to E(GOLIVE_ENVIRONMENT).
    type: str
    required: true
  namespace:
    description:
      - Namespace of the ledger's ConfigMaps and Lease; created by V(open) when missing.
    type: str
    default: golive-system
  run_id:
    description:
      - The run, as returned by V(open). Required by V(begin), V(finish), V(event) and V(close).
    type: str
  phase:
    description:
      - Phase of the step (V(begin), V(finish)), for example V(phase2).
    type: str
  step:
    description:
      - Name of the step within its phase (V(begin), V(finish)).
    type: str
  steps:
    description:
      - With V(finish), instead of O(phase) and O(step) - the outcomes of several steps, written in one
        update of the record (the checks a phase made, each its own step).
    type: list
    elements: dict
    suboptions:
      phase:
        description: The step's phase.
        type: str
        required: true
      step:
        description: The step's name (C(tls@us-1) for a cluster's).
        type: str
        required: true
      status:
        description: How it ended.
        type: str
        default: done
        choices: [done, failed]
      changed:
        description: Whether it changed something.
        type: bool
      outputs:
        description: What it produced.
        type: raw
      error:
        description: Why it failed.
        type: str
  inputs:
    description:
      - What the step is asked to do (V(begin)); a finished step with other inputs runs again.
    type: raw
  objects:
    description:
      - The objects the step may change (V(begin)), for the rollback and the report.
    type: list
    elements: raw
  undo:
    description:
      - How to undo the step, as planned (V(begin)) or as done (V(finish)). The first attempt's undo is kept.
    type: raw
  before:
    description:
      - The state before the step. The first attempt's is kept.
    type: raw
  after:
    description:
      - The state after the step (V(finish)).
    type: raw
  outputs:
    description:
      - What the step produced that later steps or a rollback need (V(finish)), for example a backup id.
    type: raw
  changed:
    description:
      - Whether the step changed anything (V(finish)).
    type: bool
  error:
    description:
      - Why the step failed (V(finish) with O(status=failed)).
    type: str
  duration:
    description:
      - How long the step took, in seconds (V(finish)).
    type: float
  status:
    description:
      - V(finish) takes V(done) or V(failed); V(close) any word for the run's end (default V(finished)).
    type: str
  always:
    description:
      - With V(begin), run the step even when it finished with the same inputs (checks that
        must gather fresh evidence on every run).
    type: bool
    default: false
  event:
    description:
      - Name of the event (V(event)), for example V(approval).
    type: str
  details:
    description:
      - Details of the event (V(event)). Never put a secret here.
    type: dict
  break_lock:
    description:
      - With V(open), take the run lock of a run on another host whose lease expired (nobody
        renewed it for O(lease_seconds)). Never takes the lock of a run whose process runs on
        this host, nor a lease that is still fresh. Recorded in the ledger with the holder it
        replaced.
    type: bool
    default: false
  force_break_lock:
    description:
      - With V(open), the run id of the holder to take the lock from whatever its state, for
        a run on a host that is down before its lease expired. The refusal names the run id
        to give. Dangerous against a run that is still alive, as both would act.
    type: str
  require_record:
    description:
      - With V(open), refuse a release that has no record in this environment (naming the
        environments that have one) before taking the lock. Rollbacks need it.
    type: bool
    default: false
  plan:
    description:
      - With V(open) or V(read), plan a rollback from the record (pure, table-tested) and return it as
        RV(plan), with every step in order, whether it runs and why not, and what it needs from
        the record. A plan that cannot start is refused before the lock is taken.
    type: str
    choices: [emergency-rollback]
  plan_options:
    description:
      - Settings of O(plan).
    type: dict
    suboptions:
      restore_steps:
        description: Percentages of the saved replica counts to bring back, in order.
        type: list
        elements: int
        default: [50, 100]
      skip_database:
        description: Keep the database as it is (no restore).
        type: bool
        default: false
      clusters:
        description:
          - Of a release run in several clusters (one inventory host per cluster, its steps recorded
            per cluster) - the clusters of the inventory, each with its region. The plan is then
            C(clusters), a plan per cluster the ledger names, with C(named), C(selected),
            C(rolled_back) (by an earlier run), C(kept) (left on the release) and C(not_in_inventory).
        type: dict
      shared:
        description:
          - The cluster whose host acts on the systems the clusters share; its plan restores the
            database, and only when no cluster the ledger names is left on the release.
        type: str
      regions:
        description:
          - Roll back only the clusters of these regions (or these clusters); the others keep the
            release, and so does the shared database. Default all.
        type: list
        elements: str
  lease_seconds:
    description:
      - The Lease's duration. Every write by the holder renews it, and a step that acts for
        long renews it every third of it. A lease older than this is expired (see
        O(break_lock)).
    type: int
    default: 900
  job_id:
    description:
      - The AWX/Automation Controller job id to name in the lock. Falls back to E(JOB_ID).
    type: str
  missing_ok:
    description:
      - With V(read), answer RV(exists=false) instead of failing when the release has no record.
    type: bool
    default: false
  artifact_dir:
    description:
      - Directory to write a copy of the record to after each write, for example the AWX job's
        artifacts. Falls back to E(GOLIVE_ARTIFACT_DIR).
    type: path
  timeout:
    description:
      - Deadline for the whole operation, in seconds.
    type: float
    default: 60
seealso:
  - module: golive.core.release_report
    description: One report of a release across its runs.
  - module: golive.core.k8s_rollout
    description: A module that records itself in the ledger.
"""

EXAMPLES = r"""
- name: Open the run (takes the environment's lock)
  golive.core.ledger:
    operation: open
    release: "{{ golive_release }}"
    environment: production
  register: run

- name: Write the intent of a step
  golive.core.ledger:
    operation: begin
    release: "{{ golive_release }}"
    environment: production
    run_id: "{{ run.run_id }}"
    phase: phase2
    step: predeploy-backup
    inputs: {database: shop}
  register: step

- name: Finish the step with what it produced and how to undo it
  golive.core.ledger:
    operation: finish
    release: "{{ golive_release }}"
    environment: production
    run_id: "{{ run.run_id }}"
    phase: phase2
    step: predeploy-backup
    status: done
    changed: true
    outputs: {backup_id: "pg/shop/20261202T080000Z-pre-deploy-2026.11.3"}
    undo: {module: golive.core.pg_restore, backup_id: "pg/shop/20261202T080000Z-pre-deploy-2026.11.3"}

- name: Record an event of the run (an approval, with the evidence it was given)
  golive.core.ledger:
    operation: event
    release: "{{ golive_release }}"
    environment: production
    run_id: "{{ run.run_id }}"
    event: approval
    details: {change_id: CHG-1234, approved_by: dana}

- name: Close the run (releases the environment's lock; the record keeps every step)
  golive.core.ledger:
    operation: close
    release: "{{ golive_release }}"
    environment: production
    run_id: "{{ run.run_id }}"
    status: failed

- name: Read what the release changed, for a rollback
  golive.core.ledger:
    operation: read
    release: 2026.11.3
    environment: production
  register: record
"""

RETURN = r"""
run_id:
  description: The run (V(open)).
  returned: open
  type: str
ledger_run:
  description:
    - The run as the report callback keeps its evidence (C(run_id), C(release), C(environment)) and where
      (C(evidence), relative to the report directory), also recorded in the run's entry of the ledger.
  returned: open, not in check mode
  type: dict
holder:
  description: Who holds the lock for this run (user, host, pid, job id).
  returned: open
  type: dict
broke_lock_of:
  description: The holder whose lock this run took (taken over, broken or force-broken).
  returned: open
  type: dict
took_lock:
  description: How this run took another run's lock, V(take-over), V(break) or V(force), with the holder and why.
  returned: open, when it took one
  type: dict
plan:
  description:
    - The rollback's plan (O(plan)). C(steps) lists every step in order with C(run) and C(why)
      it does not run; C(run) maps step ids to booleans; C(database), C(redeploy), C(dns) and
      C(previous_version) hold what the steps need from the record.
  returned: open and read, with O(plan) and a record
  type: dict
resumed:
  description: Whether the release already had a record (an earlier run).
  returned: open
  type: bool
steps_done:
  description: Ids of the steps already done for this release.
  returned: open
  type: list
  elements: str
decision:
  description: For V(begin), V(run), V(done), V(resume) (interrupted before) or V(retry).
  returned: begin
  type: str
done:
  description: For V(begin), true when the step is done with these inputs and must be skipped.
  returned: begin
  type: bool
step:
  description: The step as recorded.
  returned: begin, finish
  type: dict
record:
  description: The whole record (V(read)) or its summary (V(open), V(close)).
  returned: open, close, read
  type: dict
undo_plan:
  description: Steps that may have changed the world, newest first, with their undo.
  returned: open, read
  type: list
  elements: dict
clusters:
  description: The clusters the release's steps name (a release run in several, one inventory host each).
  returned: read
  type: list
  elements: str
  sample: [eu-1, us-1, ap-1]
live_clusters:
  description:
    - The clusters whose own records the release cut over and still serves (the cutover done after
      any revert, no rollback begun there).
  returned: read
  type: list
  elements: str
  sample: [us-1]
lock_holder:
  description: The current holder of the environment's run lock, if any.
  returned: read
  type: dict
exists:
  description: Whether the release has a record (V(read)).
  returned: read
  type: bool
elsewhere:
  description: Other environments that hold a record of this release (V(read), when this one has none).
  returned: read, when the release has no record here
  type: list
  elements: str
summary:
  description: Counts of the record's steps by status, its runs and its last update (V(read)).
  returned: read, when the record exists
  type: dict
  sample:
    pass: 3
    fail: 0
    warn: 0
    skip: 0
    total: 3
recorded:
  description: Whether the ledger was written.
  returned: always
  type: bool
copy:
  description: Path of the artifact copy, when O(artifact_dir) is set.
  returned: when written with O(artifact_dir)
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.golive.core.plugins.module_utils.common import module as base
from ansible_collections.golive.core.plugins.module_utils.k8s import client as k8s
from ansible_collections.golive.core.plugins.module_utils.ledger import run as ledger_run
from ansible_collections.golive.core.plugins.module_utils.common.options import env_fallback

OPERATION_FIELDS = ("run_id", "phase", "step", "steps", "inputs", "objects", "undo", "before", "after", "outputs", "changed",
                    "error", "duration", "status", "always", "event", "details", "break_lock", "force_break_lock",
                    "require_record", "plan", "plan_options", "job_id", "missing_ok")


def main():
    spec = dict(
        operation=dict(type="str", required=True, choices=["open", "begin", "finish", "event", "close", "read"]),
        release=dict(type="str", required=True),
        environment=dict(type="str", required=True, fallback=(env_fallback, ["GOLIVE_ENVIRONMENT"])),
        namespace=dict(type="str", default="golive-system"),
        run_id=dict(type="str"), phase=dict(type="str"), step=dict(type="str"),
        steps=dict(type="list", elements="dict", options=dict(
            phase=dict(type="str", required=True), step=dict(type="str", required=True),
            status=dict(type="str", default="done", choices=["done", "failed"]), changed=dict(type="bool"),
            outputs=dict(type="raw"), error=dict(type="str"))),
        inputs=dict(type="raw"), objects=dict(type="list", elements="raw"), undo=dict(type="raw"),
        before=dict(type="raw"), after=dict(type="raw"), outputs=dict(type="raw"), changed=dict(type="bool"),
        error=dict(type="str"), duration=dict(type="float"), status=dict(type="str"),
        always=dict(type="bool", default=False), event=dict(type="str"), details=dict(type="dict"),
        break_lock=dict(type="bool", default=False), force_break_lock=dict(type="str"),
        require_record=dict(type="bool", default=False), plan=dict(type="str", choices=["emergency-rollback"]),
        plan_options=dict(type="dict", options=dict(
            restore_steps=dict(type="list", elements="int", default=[50, 100]),
            skip_database=dict(type="bool", default=False), clusters=dict(type="dict"), shared=dict(type="str"),
            regions=dict(type="list", elements="str"))),
        lease_seconds=dict(type="int", default=900),
        job_id=dict(type="str", fallback=(env_fallback, ["JOB_ID"])), missing_ok=dict(type="bool", default=False),
        artifact_dir=ledger_run.artifact_dir_spec(),
        timeout=dict(type="float", default=60.0),
    )
    spec.update(k8s.argument_spec())
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    base.require_libs(module, [("kubernetes", k8s.KUBERNETES_IMPORT_ERROR)])
    p = module.params

    def service():
        kube = k8s.Kube(k8s.KubeSettings.from_params(p), deadline=p["timeout"])
        try:
            ledger = ledger_run.Ledger(kube, p["environment"], p["release"], p["namespace"], p["artifact_dir"],
                                       lease_seconds=p["lease_seconds"])
            return ledger_run.perform(ledger, p["operation"], dict((k, p[k]) for k in OPERATION_FIELDS),
                                      check_mode=module.check_mode)
        finally:
            kube.close()

    base.run(module, service)


if __name__ == "__main__":
    main()

# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The emergency rollback of a release, planned from its record alone (pure).

``emergency(record, ...)`` answers, in order, every step of the rollback, whether it
runs, and why not when it does not; with the arguments the steps need from the record
(the pre-deploy backup, the templates to redeploy, the DNS records to put back) and the
version that must answer afterwards. What stops a rollback before it starts (a migration
without a recorded backup) is a refusal, raised before anything is locked or changed.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.golive.core.plugins.module_utils.common.errors import Refused
from ansible_collections.golive.core.plugins.module_utils.ledger import record as rec

MIGRATE = "phase2/migrate"
DEPLOY = "phase4/deploy"
CUTOVER = "phase5/dns-cutover"
PHASE = "rollback"

# The image reference's tag: after the last ':' of the last path part, before any digest.
_TAG = re.compile(r"^(?:.*/)?[^/:@]+:([^/:@]+)(?:@.*)?$")


def step_ids(restore_steps):
    """The rollback's step ids, in the order they run."""
    return (["%s/maintenance-on" % PHASE, "%s/scale-down" % PHASE, "%s/db-restore" % PHASE, "%s/redeploy" % PHASE]
            + ["%s/scale-up-%s" % (PHASE, p) for p in restore_steps]
            + ["%s/maintenance-off" % PHASE, "%s/dns-revert" % PHASE])


def tag_of(image):
    """``2026.11.2`` of ``registry/app:2026.11.2@sha256:...``; None without a tag."""
    found = _TAG.match(image or "")
    return found.group(1) if found else None


def previous_version(deploy_undo):
    """The workloads the release deployed with the images they had before, and the one
    version they share (None when they have none or several)."""
    workloads = []
    for w in (deploy_undo or {}).get("workloads") or []:
        workloads.append({"kind": w.get("kind"), "namespace": w.get("namespace"), "name": w.get("name"),
                          "revision": w.get("revision"), "images": w.get("images") or {}})
    tags = sorted(set(t for w in workloads for t in (tag_of(i) for i in w["images"].values()) if t))
    return {"workloads": workloads, "versions": tags, "version": tags[0] if len(tags) == 1 else None}


def emergency(record, restore_steps=(50, 100), skip_database=False):
    """The plan of the emergency rollback of ``record``'s release.

    Returns ``{release, environment, steps: [{id, run, why}], run: {id: bool}, summary,
    done_before, changed_by_the_release, database, redeploy, previous_version, dns}``.
    Raises ``Refused`` when the rollback cannot start as asked.
    """
    release = record.get("release")
    undo = dict((entry["id"], entry) for entry in rec.undo_plan(record))
    done = [s["id"] for s in record.get("steps") or [] if s.get("phase") == PHASE and s.get("status") == rec.DONE]
    migrate = (undo.get(MIGRATE) or {}).get("undo") if MIGRATE in undo else None
    deploy = (undo.get(DEPLOY) or {}).get("undo") or {} if DEPLOY in undo else None
    cutover = (undo.get(CUTOVER) or {}).get("undo") if CUTOVER in undo else None

    if MIGRATE in undo and not skip_database and not (migrate or {}).get("backup_id"):
        raise Refused("roll back", "release %s" % release,
                      "it migrated database %s but its ledger names no pre-deploy backup"
                      % ((migrate or {}).get("database") or "?"),
                      fix="Restore the database by hand, or run the same command with "
                          "-e rollback_emergency_skip_database=true to keep it as it is. Nothing was changed")

    why_not = {}
    if MIGRATE not in undo:
        why_not["db-restore"] = "the release did not migrate the database"
    elif skip_database:
        why_not["db-restore"] = "kept as it is (rollback_emergency_skip_database=true)"
    if not (deploy or {}).get("workloads"):
        why_not["redeploy"] = "the release deployed nothing"
    if CUTOVER not in undo:
        why_not["dns-revert"] = "the release did not cut DNS over"
    elif not (cutover or {}).get("before"):
        why_not["dns-revert"] = "the release's cutover recorded no records to put back"

    steps = []
    for sid in step_ids(restore_steps):
        name = sid.split("/", 1)[1]
        if sid in done:
            steps.append({"id": sid, "run": False, "why": "done by an earlier run of this rollback"})
        elif name in why_not:
            steps.append({"id": sid, "run": False, "why": why_not[name]})
        else:
            steps.append({"id": sid, "run": True, "why": None})

    database = None
    if migrate:
        database = {"database": migrate.get("database"), "backup_id": migrate.get("backup_id"),
                    "environment": migrate.get("environment") or record.get("environment")}
    redeploy = None
    if (deploy or {}).get("workloads"):
        redeploy = {"workloads": [dict((k, w.get(k)) for k in ("kind", "namespace", "name"))
                                  for w in deploy["workloads"]], "undo": deploy}
    dns = None
    if cutover and cutover.get("before"):
        dns = {"provider": cutover.get("provider"), "zone": cutover.get("zone"), "undo": cutover,
               "records": sorted(cutover["before"])}
    return {
        "release": release,
        "environment": record.get("environment"),
        "steps": steps,
        "run": dict((s["id"], s["run"]) for s in steps),
        "summary": ["%s: %s" % (s["id"], "runs" if s["run"] else "skipped, %s" % s["why"]) for s in steps],
        "done_before": done,
        "changed_by_the_release": [e["id"] for e in rec.undo_plan(record) if e.get("phase") != PHASE],
        "database": database,
        "redeploy": redeploy,
        "previous_version": previous_version(deploy),
        "dns": dns,
    }


PLANS = {"emergency-rollback": emergency}

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


def step_ids(restore_steps, cluster=None):
    """The rollback's step ids, in the order they run (a cluster's own, but the database's,
    which the clusters share)."""
    def own(name):
        return "%s/%s" % (PHASE, rec.in_cluster(name, cluster))
    return ([own("maintenance-on"), own("scale-down"), "%s/db-restore" % PHASE, own("redeploy")]
            + [own("scale-up-%s" % p) for p in restore_steps]
            + [own("maintenance-off"), own("dns-revert")])


def _name(sid):
    """``scale-up-50`` of ``rollback/scale-up-50@us-1``."""
    return sid.split("/", 1)[1].split(rec.CLUSTER_MARK, 1)[0]


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


def emergency(record, restore_steps=(50, 100), skip_database=False, cluster=None, restore_database=True,
              database_why=None):
    """The plan of the emergency rollback of ``record``'s release (in ``cluster``, of a release
    run in several; ``restore_database`` False leaves the shared database to another plan, or as it
    is, with ``database_why`` as the reason).

    Returns ``{release, environment, cluster, steps: [{id, run, why}], run: {name: bool}, summary,
    done_before, changed_by_the_release, database, redeploy, previous_version, dns}``; ``run`` is
    keyed by the step's name (``rollback/scale-down``) whatever its cluster.
    Raises ``Refused`` when the rollback cannot start as asked.
    """
    release = record.get("release")
    undo = dict((entry["id"], entry) for entry in rec.undo_plan(record))
    done = [s["id"] for s in record.get("steps") or [] if s.get("phase") == PHASE and s.get("status") == rec.DONE]
    deploy_id, cutover_id = rec.in_cluster(DEPLOY, cluster), rec.in_cluster(CUTOVER, cluster)
    migrate = (undo.get(MIGRATE) or {}).get("undo") if MIGRATE in undo else None
    deploy = (undo.get(deploy_id) or {}).get("undo") or {} if deploy_id in undo else None
    cutover = (undo.get(cutover_id) or {}).get("undo") if cutover_id in undo else None

    if MIGRATE in undo and restore_database and not skip_database and not (migrate or {}).get("backup_id"):
        raise Refused("roll back", "release %s" % release,
                      "it migrated database %s but its ledger names no pre-deploy backup"
                      % ((migrate or {}).get("database") or "?"),
                      fix="Restore the database by hand, or run the same command with "
                          "-e rollback_emergency_skip_database=true to keep it as it is. Nothing was changed")

    why_not = {}
    if MIGRATE not in undo:
        why_not["db-restore"] = "the release did not migrate the database"
    elif not restore_database:
        why_not["db-restore"] = database_why or "the shared database is restored by another cluster's rollback"
    elif skip_database:
        why_not["db-restore"] = "kept as it is (rollback_emergency_skip_database=true)"
    if not (deploy or {}).get("workloads"):
        why_not["redeploy"] = "the release deployed nothing"
    if cutover_id not in undo:
        why_not["dns-revert"] = "the release did not cut DNS over"
    elif not (cutover or {}).get("before"):
        why_not["dns-revert"] = "the release's cutover recorded no records to put back"

    steps = []
    for sid in step_ids(restore_steps, cluster):
        name = _name(sid)
        if sid in done:
            steps.append({"id": sid, "run": False, "why": "done by an earlier run of this rollback"})
        elif name in why_not:
            steps.append({"id": sid, "run": False, "why": why_not[name]})
        else:
            steps.append({"id": sid, "run": True, "why": None})

    database = None
    if migrate and restore_database:
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
        "cluster": cluster,
        "steps": steps,
        "run": dict(("%s/%s" % (PHASE, _name(s["id"])), s["run"]) for s in steps),
        "summary": ["%s: %s" % (s["id"], "runs" if s["run"] else "skipped, %s" % s["why"]) for s in steps],
        "done_before": done,
        "changed_by_the_release": [e["id"] for e in rec.undo_plan(record) if e.get("phase") != PHASE
                                   and rec.cluster_of(e["id"]) in (None, cluster)],
        "database": database,
        "redeploy": redeploy,
        "previous_version": previous_version(deploy),
        "dns": dns,
    }


def rolled_back(record, cluster):
    """Whether an earlier run finished the rollback of ``cluster``: its ``rolled-back`` event,
    written after the previous version was validated (a run killed before it is continued)."""
    return any(e.get("event") == "rolled-back" and e.get("cluster") == cluster for e in record.get("events") or [])


def emergency_plan(record, restore_steps=(50, 100), skip_database=False, clusters=None, shared=None,
                   regions=None):
    """The emergency rollback of a release: one plan (``emergency``) for a single cluster, or,
    with ``clusters`` (the inventory's clusters, ``{cluster: region}``), a plan per cluster.

    Of a release run in several clusters, ``regions`` (None: all) picks the clusters to roll
    back. The shared database (migrated once, by the ``shared`` cluster's host) is restored
    only when no cluster the ledger names is left on the release: rolling one region back
    leaves it as it is, since the others still run the release on it.

    Returns the single plan, or ``{clusters: {cluster: plan}, named, selected (to roll back
    now), rolled_back (by an earlier run), kept, not_in_inventory, partial}``.
    """
    if clusters is None:
        return emergency(record, restore_steps, skip_database)
    clusters = dict(clusters)
    named = rec.clusters(record)
    unknown = sorted(set(regions or ()) - set(clusters.values()) - set(clusters))
    if unknown:
        raise Refused("roll back", "release %s" % record.get("release"),
                      "no cluster of the inventory is in region %s (its regions: %s)"
                      % (", ".join(unknown), ", ".join(sorted(set(clusters.values())))),
                      fix="Name a region of the inventory's hosts (golive_region). Nothing was changed")
    done_before = [c for c in named if rolled_back(record, c)]
    selected = [c for c in clusters if c in named and c not in done_before
                and (not regions or clusters[c] in regions or c in regions)]
    kept = [c for c in named if c not in selected and c not in done_before]
    partial = bool(kept)
    plans = {}
    for cluster in clusters:
        if cluster not in named:
            continue
        restores = cluster == shared and not partial
        why = None
        if cluster != shared:
            why = "the shared database is restored by the rollback of %s" % shared if shared else \
                "no cluster is named to restore the shared database (golive_shared_host)"
        elif partial:
            why = "kept: cluster%s %s still run%s the release on it" % (
                "s" if len(kept) > 1 else "", ", ".join(kept), "" if len(kept) > 1 else "s")
        plans[cluster] = emergency(record, restore_steps, skip_database, cluster=cluster, restore_database=restores,
                                   database_why=why)
    return {"clusters": plans, "named": named, "selected": selected, "rolled_back": done_before, "kept": kept,
            "not_in_inventory": [c for c in named if c not in clusters], "partial": partial}


PLANS = {"emergency-rollback": emergency_plan}

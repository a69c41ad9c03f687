# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Proof that a backup restores: into a scratch database, compared with its manifest,
dropped again, timed against the RTO."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.golive.core.plugins.module_utils.common.checks import check
from ansible_collections.golive.core.plugins.module_utils.common.errors import GoliveError, NotFound
from ansible_collections.golive.core.plugins.module_utils.postgres import backup as pgbackup
from ansible_collections.golive.core.plugins.module_utils.postgres import connection as pg
from ansible_collections.golive.core.plugins.module_utils.postgres import restore


def verify(server, store, identity, backup_id=None, label=None, rto_seconds=None, bindir=None, jobs=2,
           scratch_prefix="golive_verify", check_mode=False):
    """Restore a backup of ``identity`` into a scratch database, compare, drop it; report
    against the RTO."""
    try:
        manifest = store.find(identity, backup_id=backup_id, label=label)
    except NotFound:
        if not check_mode:
            raise
        # A check run before the first backup: the backup taken before this step is verified.
        return {"changed": False, "backup_id": None, "label": label, "identity": identity.as_dict(), "checks": [],
                "steps": ["find the newest complete backup (none yet: the run takes one first)",
                          "restore it into a scratch database, compare it with its manifest, drop it"]}
    summary = pgbackup.summarize_manifest(manifest)
    dbname = restore.scratch_name(scratch_prefix, manifest["id"])
    result = {"changed": False, "backup_id": manifest["id"], "label": manifest["label"], "backup": summary,
              "identity": identity.as_dict(), "scratch_database": dbname}
    if check_mode:
        result["steps"] = ["create scratch database %s" % dbname,
                           "restore %s into it from %s" % (manifest["id"], summary["key"]),
                           "compare sha256, size, schema hash and %d table figures" % summary["tables"],
                           "drop scratch database %s" % dbname]
        result["checks"] = []
        return result
    try:
        outcome = restore.restore_into(server, store, manifest, dbname, bindir=bindir, jobs=jobs)
    except GoliveError as exc:
        exc.result.update(scratch_database=dbname, label=manifest["label"])
        raise
    finally:
        admin = pg.connect(server, autocommit=True, application_name="golive.core/restore")
        try:
            restore.drop_database(admin, dbname)
        except pg.psycopg2.Error as exc:
            raise pg.classify(exc, server, verb="drop scratch database %s on" % dbname)
        finally:
            admin.close()
    seconds = outcome["restore_seconds"]
    result["restore_seconds"] = seconds
    result["rto_seconds"] = rto_seconds
    result["checks"] = [check(
        "pg.backup_restore", "The newest backup restores and matches its manifest within the RTO",
        rto_seconds is None or seconds <= rto_seconds,
        {"backup_id": manifest["id"], "label": manifest["label"], "database": identity.source,
         "environment": identity.environment, "size": summary["size"],
         "tables": summary["tables"], "rows": summary["rows"], "restore_seconds": seconds,
         "rto_seconds": rto_seconds, "sha256_match": True, "figures_match": True},
        "Test backup restoration")]
    return result

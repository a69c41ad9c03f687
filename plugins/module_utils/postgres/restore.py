# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rollback restore: a labelled backup replaces a database, and nothing is lost.

The backup is restored into a new database and verified against its manifest while
the application keeps running. Only then are connections blocked and terminated
(PgBouncer's clients of that database are dropped and held with ``KILL``/``RESUME``
when its admin console is configured), and in one transaction the current database
is renamed to ``<name>_before_<UTC time>`` and the restored one takes its name.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.golive.core.plugins.module_utils.common.errors import (
    Conflict,
    GoliveError,
    Refused,
)
from ansible_collections.golive.core.plugins.module_utils.common.retry import Deadline, retry
from ansible_collections.golive.core.plugins.module_utils.postgres import backup as pgbackup
from ansible_collections.golive.core.plugins.module_utils.postgres import connection as pg
from ansible_collections.golive.core.plugins.module_utils.storage import s3


def names(target, now):
    """Pure: the new database's name and the name the current one is kept under."""
    stamp = now.strftime("%Y%m%d%H%M%S")
    stem = target[:pgbackup.MAX_IDENT - len(stamp) - len("_restoring_")]
    return "%s_restoring_%s" % (stem, stamp), "%s_before_%s" % (stem, stamp)


def plan(target, manifest, now, target_exists=True, pgbouncer=False):
    """Pure: the steps of a restore, each with a one-line description."""
    new, kept = names(target, now)
    summary = pgbackup.summarize_manifest(manifest)
    steps = [
        ("create", "create database %s" % new),
        ("restore", "restore backup %s (%s, %d bytes) into %s" % (
            manifest["id"], manifest["label"], summary["size"], new)),
        ("verify", "compare %s with the manifest (sha256, size, schema hash, %d tables, %d rows)" % (
            new, summary["tables"], summary["rows"])),
    ]
    if target_exists:
        steps.append(("block", "refuse new connections to %s" % target))
        if pgbouncer:
            steps.append(("pgbouncer_kill", "drop and hold PgBouncer clients of %s (KILL)" % target))
        steps.append(("terminate", "terminate the sessions connected to %s" % target))
        steps.append(("swap", "rename %s to %s and %s to %s in one transaction" % (target, kept, new, target)))
        steps.append(("unblock", "allow connections to %s (kept)" % kept))
    else:
        steps.append(("swap", "rename %s to %s" % (new, target)))
    if pgbouncer and target_exists:
        steps.append(("pgbouncer_resume", "resume PgBouncer clients of %s (RESUME)" % target))
    return {"new": new, "kept": kept if target_exists else None,
            "steps": [{"step": key, "description": text} for key, text in steps]}


def _bouncer(options):
    params = pg.pgbouncer_params(options)
    return pg.connect(params, autocommit=True, application_name="golive.core/restore"), params


def _bouncer_command(conn, params, command, database):
    """KILL/RESUME one database. Returns False when PgBouncer does not know the database
    (or, for RESUME, when it is not paused), True when the command was applied."""
    try:
        pg.query(conn, "%s %s" % (command, pg.quote_ident(database)))
        return True
    except pg.psycopg2.Error as exc:
        text = str(exc).lower()
        if "not paused" in text or "no such database" in text or "does not exist" in text:
            return False
        raise pg.classify(exc, params, verb="%s %s on PgBouncer" % (command, database))


def _swap(admin, target, new, kept, deadline):
    """Terminate the sessions of ``target`` and rename both databases in one transaction."""

    def attempt():
        pg.query(admin, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = %s AND pid <> pg_backend_pid()", (target,))
        time.sleep(0.1)
        try:
            admin.autocommit = False
            with admin.cursor() as cur:
                cur.execute("ALTER DATABASE %s RENAME TO %s" % (pg.quote_ident(target), pg.quote_ident(kept)))
                cur.execute("ALTER DATABASE %s RENAME TO %s" % (pg.quote_ident(new), pg.quote_ident(target)))
            admin.commit()
        except pg.psycopg2.Error as exc:
            admin.rollback()
            if "being accessed by other users" in str(exc):
                raise Conflict("rename", "database %s" % target, pg.describe_exception(exc))
            raise
        finally:
            admin.autocommit = True

    retry(attempt, deadline, what="swap databases %s and %s" % (target, new))


def restore(params, store, target, release, label=None, backup_id=None, pgbouncer=None, bindir=None,
            jobs=2, timeout=1800, check_mode=False):
    if not release:
        raise Refused("restore", "database %s" % target, "no release id given",
                      fix="Pass the release id whose pre-deploy backup is to be restored")
    label = label or "pre-deploy-%s" % release
    manifest = store.find(backup_id=backup_id, label=label, kind=pgbackup.KIND)
    if manifest.get("release") != release:
        raise Refused("restore", "database %s" % target,
                      "backup %s belongs to release %s, not %s" % (manifest["id"], manifest.get("release"), release),
                      fix="Check the release id")
    admin_params = dict(params, login_db=params.get("login_db") if params.get("login_db") != target else "postgres")
    admin = pg.connect(admin_params, autocommit=True, application_name="golive.core/restore")
    deadline = Deadline(timeout)
    now = s3.utcnow()
    applied = []
    try:
        found = pg.query(admin, "SELECT pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = %s",
                         (target,))
        steps = plan(target, manifest, now, bool(found), bool(pgbouncer and pgbouncer.get("host")))
        result = {"changed": True, "backup_id": manifest["id"], "label": manifest["label"], "release": release,
                  "database": target, "restored_from": pgbackup.summarize_manifest(manifest),
                  "steps": steps["steps"], "previous_database": steps["kept"], "applied": applied,
                  "diff": {"before": {"database": target, "content": "current" if found else None},
                           "after": {"database": target, "content": "backup %s" % manifest["id"],
                                     "previous_kept_as": steps["kept"]}}}
        if check_mode:
            return result
        owner = found[0]["owner"] if found else None
        try:
            pgbackup.restore_into(admin_params, store, manifest, steps["new"], bindir=bindir, jobs=jobs, owner=owner)
        except GoliveError:
            pgbackup.drop_database(admin, steps["new"])
            raise
        applied.extend(["create", "restore", "verify"])
        if not found:
            pg.query(admin, "ALTER DATABASE %s RENAME TO %s" % (pg.quote_ident(steps["new"]), pg.quote_ident(target)))
            applied.append("swap")
            result["undo"] = {"action": "drop", "database": target}
            return result
        bouncer = None
        paused = False
        try:
            pg.query(admin, "ALTER DATABASE %s WITH ALLOW_CONNECTIONS false" % pg.quote_ident(target))
            applied.append("block")
            if pgbouncer and pgbouncer.get("host"):
                bouncer, bouncer_params = _bouncer(pgbouncer)
                paused = True
                _bouncer_command(bouncer, bouncer_params, "KILL", target)
                applied.append("pgbouncer_kill")
            applied.append("terminate")
            _swap(admin, target, steps["new"], steps["kept"], deadline.child(60))
            applied.append("swap")
        except pg.psycopg2.Error as exc:
            raise pg.classify(exc, admin_params, verb="swap databases on")
        finally:
            # Whichever name it has now, the old database accepts connections again.
            still = target if "swap" not in applied else steps["kept"]
            pg.query(admin, "ALTER DATABASE %s WITH ALLOW_CONNECTIONS true" % pg.quote_ident(still))
            applied.append("unblock")
            if bouncer is not None:
                if paused:
                    _bouncer_command(bouncer, bouncer_params, "RESUME", target)
                    applied.append("pgbouncer_resume")
                bouncer.close()
        result["undo"] = {"action": "swap back", "database": target, "previous_database": steps["kept"]}
        return result
    except pg.psycopg2.Error as exc:
        raise pg.classify(exc, admin_params, verb="restore database %s on" % target)
    finally:
        admin.close()

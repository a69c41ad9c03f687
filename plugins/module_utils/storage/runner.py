# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one backup flow, shared by every system that backs up into the store.

A system plugs in an *engine*, an object with:

- ``kind``: the backup kind (``postgres``, ``redis-rdb``);
- ``describe()``: what a run would do, for check mode (may connect to look);
- ``produce(upload, backup_id)``: take the backup, sending each data object through
  ``upload(name, reader, part_size)`` (which returns the object's record), and return
  ``{"objects": {name: record}, "extra": {manifest fields}, "checks": [...] or None}``;
  raising fails the backup, and every object it uploaded is deleted again;
- ``summarize(manifest)``: the summary a result shows.

The flow owns what must be the same for all: the label rule, reuse of a backup of the
same identity and label, id allocation, the manifest written last (with identity,
release and duration), the result's shape and retention of that identity only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.golive.core.plugins.module_utils.common import clock
from ansible_collections.golive.core.plugins.module_utils.storage import catalog
from ansible_collections.golive.core.plugins.module_utils.storage import s3


def result(store, identity, engine, manifest, changed, reused=False):
    """The result of a backup task (taken, reused or verified)."""
    summary = engine.summarize(manifest)
    after = {"backup_id": manifest["id"], "label": manifest["label"]}
    return {
        "changed": changed,
        "backup_id": manifest["id"],
        "label": manifest["label"],
        "reused": reused,
        "identity": identity.as_dict(),
        "backup": summary,
        "location": store.url(manifest["manifest_key"]),
        "diff": {"before": {}, "after": after} if changed else {"before": {}, "after": {}},
        "undo": {"action": "restore", "backup_id": manifest["id"], "label": manifest["label"],
                 "release": manifest.get("release"), "kind": identity.kind, "source": identity.source,
                 "environment": identity.environment},
    }


def recorded_backup(journal, module_name, objects, store, identity, engine, label, **options):
    """``backup`` as a ledger step: its outputs name the backup (``outputs_of(module)``
    finds it: what a later step, or a rollback, restores)."""
    inputs = {"identity": identity.as_dict(), "label": label, "release": options.get("release")}
    with journal.step(inputs, objects=objects) as outcome:
        out = backup(store, identity, engine, label, **options)
        outcome.update(changed=out["changed"], outputs={
            "module": module_name, "backup_id": out.get("backup_id"), "label": out.get("label"),
            "release": options.get("release"), "source": identity.source, "environment": identity.environment})
    return out


def backup(store, identity, engine, label, release=None, if_exists="new", retention=None, check_mode=False):
    """Take a backup of ``identity`` with ``engine`` (or reuse one); see the module doc."""
    catalog.validate_label(label)
    if if_exists == "reuse":
        existing = store.manifests(identity, label=label)
        if existing:
            return result(store, identity, engine, existing[0], False, reused=True)
    if check_mode:
        return {"changed": True, "backup_id": None, "label": label, "identity": identity.as_dict(),
                "msg": "would %s; the backup goes to %s" % (engine.describe(),
                                                            store.url(store.identity_folder(identity))),
                "diff": {"before": {}, "after": {"label": label, "identity": identity.as_dict()}}}
    started = time.monotonic()
    created = clock.utcnow()
    backup_id = catalog.new_backup_id(label, created)
    uploaded = []

    def upload(name, reader, part_size=s3.DEFAULT_PART_SIZE):
        record = store.upload(identity, backup_id, name, reader, part_size)
        uploaded.append(record["key"])
        return record

    try:
        produced = engine.produce(upload, backup_id)
    except BaseException:
        # Nothing half-made stays behind (a kill -9 is left to retention's orphan rule).
        try:
            s3.delete_keys(store.client, store.bucket, uploaded)
        except Exception:  # noqa: BLE001 - the original failure is the one to report
            pass
        raise
    extra = dict(produced.get("extra") or {})
    extra.update(release=release, duration_seconds=round(time.monotonic() - started, 3))
    manifest = store.write_manifest(identity, backup_id, label, produced["objects"], created, extra)
    out = result(store, identity, engine, manifest, True)
    if produced.get("checks") is not None:
        out["checks"] = produced["checks"]
    if retention:
        out["retention"] = store.retain(identity, retention, protect=(manifest["id"],))
    return out

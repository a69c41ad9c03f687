# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which backups exist, whose they are, and which of them retention deletes.

A backup has an identity: its kind (``postgres``, ``redis-rdb``), its source (the
database name, the Redis master's name) and, where the inventory declares one, its
environment. The identity is written into the manifest and into the object layout::

    <prefix>/[<environment>/]<kind>/<source>/<backup id>/<data object(s)>
    <prefix>/[<environment>/]<kind>/<source>/<backup id>/manifest.json   (written last)

Every lookup (newest, by label, by id, reuse, RPO, retention) is made for one identity,
so two databases under one prefix never see each other's backups. Backups written
before identities existed sit at ``<prefix>/<backup id>/``; they are still read, their
identity taken from the fields their manifest already had (the PostgreSQL database, the
Redis master), and retention counts them with their source's backups.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fnmatch
import re
import uuid

from urllib.parse import quote

from ansible_collections.golive.core.plugins.module_utils.common import clock
from ansible_collections.golive.core.plugins.module_utils.common.errors import (
    InvalidInput,
    NotFound,
    Refused,
)
from ansible_collections.golive.core.plugins.module_utils.aws import session as aws
from ansible_collections.golive.core.plugins.module_utils.storage import s3
from ansible_collections.golive.core.plugins.module_utils.common.options import env_fallback

MANIFEST_NAME = "manifest.json"
MANIFEST_FORMAT = "golive.backup/1"
_LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_BACKUP_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")
# Ids this collection allocates (new_backup_id): how a folder of the old layout is told
# apart from an identity folder.
_ALLOCATED_ID = re.compile(r"^\d{8}T\d{6}Z-")


def validate_label(label):
    if not label or not _LABEL.match(label):
        raise InvalidInput("validate", "backup label %r" % (label,),
                           "use letters, digits, '.', '_' and '-' (at most 100, starting with a letter or digit)")
    return label


def validate_backup_id(backup_id):
    """A user-given id becomes part of an object key: only the characters ids are made of."""
    if not backup_id or not _BACKUP_ID.match(backup_id) or ".." in backup_id:
        shown = backup_id if len(backup_id or "") <= 80 else backup_id[:77] + "..."
        raise InvalidInput("validate", "backup id %r" % (shown,),
                           "a backup id has only letters, digits, '.', '_' and '-' (no '/' and no '..')",
                           fix="Use the backup_id a backup task returned")
    return backup_id


def new_backup_id(label, now=None):
    """``<UTC time>-<label>-<random>``: sorts by time, names the label, never collides."""
    now = now or clock.utcnow()
    return "%s-%s-%s" % (now.strftime("%Y%m%dT%H%M%SZ"), validate_label(label), uuid.uuid4().hex[:8])


def _segment(text):
    """One path segment for any name (database names may hold '/', spaces, ...)."""
    out = quote(text, safe="._-")
    return out.replace(".", "%2E") if out in (".", "..") else out


class Identity:
    """Kind, source and (optional) environment of a backup."""

    def __init__(self, kind, source, environment=None):
        if not source:
            raise InvalidInput("validate", "the backup's source", "no %s source given" % kind)
        self.kind = kind
        self.source = str(source)
        self.environment = environment or None

    def as_dict(self):
        return {"kind": self.kind, "source": self.source, "environment": self.environment}

    def path(self):
        parts = [self.kind, self.source]
        if self.environment:
            parts.insert(0, self.environment)
        return "/".join(_segment(p) for p in parts)

    def describe(self):
        text = "%s backups of %s" % (self.kind, self.source)
        return text + (" (environment %s)" % self.environment if self.environment else "")

    def __eq__(self, other):
        return isinstance(other, Identity) and self.as_dict() == other.as_dict()

    def __ne__(self, other):
        return not self == other

    def __hash__(self):
        return hash((self.kind, self.source, self.environment))

    def __repr__(self):
        return "Identity(%r, %r, %r)" % (self.kind, self.source, self.environment)


def manifest_identity(manifest):
    """Pure: the identity of a manifest, also of one written before identities existed
    (PostgreSQL: ``source.database``; Redis: ``source.identity``, the master's name or
    ``host:port``). ``None`` when it cannot be told."""
    recorded = manifest.get("identity")
    if isinstance(recorded, dict) and recorded.get("kind") and recorded.get("source"):
        return Identity(recorded["kind"], recorded["source"], recorded.get("environment"))
    source = manifest.get("source") or {}
    kind = manifest.get("kind")
    name = None
    if kind == "postgres":
        name = source.get("database")
    elif kind == "redis-rdb":
        legacy = source.get("identity") or {}
        name = legacy.get("master_name") or (
            "%s:%s" % (legacy["host"], legacy["port"]) if legacy.get("host") else None)
    return Identity(kind, name) if kind and name else None


def same_source(manifest_id, wanted, strict_environment=True):
    """Pure: whether a manifest's identity is ``wanted``. A manifest that records no
    environment (written before environments existed) matches any environment when
    ``strict_environment`` is false: used for backups named by id."""
    if manifest_id is None:
        return False
    if (manifest_id.kind, manifest_id.source) != (wanted.kind, wanted.source):
        return False
    if manifest_id.environment == wanted.environment:
        return True
    return not strict_environment and manifest_id.environment is None


def plan_retention(manifests, keep_last=None, max_age_days=None, now=None, protect=(), labels="*"):
    """Pure: the ids of complete backups that retention deletes.

    ``manifests`` are those of one identity. Among those whose label matches the glob
    ``labels``, the newest ``keep_last`` are kept and those older than ``max_age_days``
    are deleted; with both set a backup goes when either rule says so, yet the newest
    one always stays. Ids in ``protect`` are never deleted.
    """
    now = now or clock.utcnow()
    scoped = sorted((m for m in manifests if fnmatch.fnmatchcase(m.get("label", ""), labels or "*")),
                    key=sort_key, reverse=True)
    doomed = []
    for index, manifest in enumerate(scoped):
        if index == 0 or manifest["id"] in protect:
            continue
        too_many = keep_last is not None and index >= keep_last
        age = (now - clock.parse_time(manifest["created_at"])).total_seconds()
        too_old = max_age_days is not None and age > max_age_days * 86400.0
        if too_many or too_old:
            doomed.append(manifest["id"])
    return doomed


def sort_key(manifest):
    return (manifest.get("created_at", ""), manifest.get("id", ""))


class BackupStore:
    """Backups in a bucket under ``prefix``, one folder per backup, grouped by identity.

    A backup exists only once its manifest does: listing, "newest" and lookups see
    manifests only, so an interrupted upload is never chosen. Deleting removes the
    manifest first. Manifests returned carry ``manifest_key``, where they were read.
    """

    def __init__(self, client, bucket, prefix):
        self.client = client
        self.bucket = bucket
        self.prefix = (prefix or "").strip("/")

    # -- layout ------------------------------------------------------------------
    def _root(self):
        return "%s/" % self.prefix if self.prefix else ""

    def identity_folder(self, identity):
        return "%s%s/" % (self._root(), identity.path())

    def folder(self, identity, backup_id):
        return "%s%s/" % (self.identity_folder(identity), backup_id)

    def legacy_folder(self, backup_id):
        return "%s%s/" % (self._root(), backup_id)

    def url(self, key):
        return "s3://%s/%s" % (self.bucket, key)

    # -- writing -----------------------------------------------------------------
    def upload(self, identity, backup_id, name, reader, part_size=s3.DEFAULT_PART_SIZE):
        """Stream one data object of a backup; returns its ``{key, size, sha256, ...}``."""
        return s3.upload_stream(self.client, self.bucket, self.folder(identity, backup_id) + name, reader,
                                part_size)

    def download(self, manifest, name, writer, chunk_size=4 * s3.MIB):
        return s3.download_stream(self.client, self.bucket, manifest["objects"][name]["key"], writer, chunk_size)

    def write_manifest(self, identity, backup_id, label, objects, created_at, extra=None):
        """Write the manifest (the last step of a backup) and return it."""
        manifest = dict(extra or {})
        manifest.update({
            "format": MANIFEST_FORMAT,
            "id": backup_id,
            "label": label,
            "kind": identity.kind,
            "identity": identity.as_dict(),
            "created_at": clock.format_time(created_at),
            "completed_at": clock.format_time(clock.utcnow()),
            "objects": objects,
        })
        key = self.folder(identity, backup_id) + MANIFEST_NAME
        s3.put_json(self.client, self.bucket, key, manifest)
        return dict(manifest, manifest_key=key)

    # -- reading -----------------------------------------------------------------
    def _read(self, key):
        """The manifest at ``key``, or ``None`` when there is none (or it is not ours)."""
        try:
            manifest = s3.get_json(self.client, self.bucket, key)
        except NotFound:
            return None
        if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
            return None
        manifest["manifest_key"] = key
        return manifest

    def _legacy_ids(self):
        """Ids of backup folders in the old layout (``<prefix>/<id>/``), one LIST."""
        root = self._root()
        ids = []
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=root, Delimiter="/")
            for page in pages:
                for common in page.get("CommonPrefixes", []):
                    name = common["Prefix"][len(root):].rstrip("/")
                    if _ALLOCATED_ID.match(name):
                        ids.append(name)
        except s3.aws_errors() as exc:
            raise s3.classify(exc, "list", self.url(root))
        return ids

    def manifests(self, identity, label=None):
        """Complete backups of ``identity``, newest first (optionally with a label glob)."""
        folder = self.identity_folder(identity)
        keys = [item["key"] for item in s3.list_keys(self.client, self.bucket, folder)
                if item["key"][len(folder):].count("/") == 1 and item["key"].endswith("/" + MANIFEST_NAME)]
        keys.extend(self.legacy_folder(backup_id) + MANIFEST_NAME for backup_id in self._legacy_ids())
        found = []
        for key in keys:
            manifest = self._read(key)
            if manifest is None or not same_source(manifest_identity(manifest), identity):
                continue
            if label and not fnmatch.fnmatchcase(manifest.get("label", ""), label):
                continue
            found.append(manifest)
        return sorted(found, key=sort_key, reverse=True)

    def _by_id(self, backup_id):
        """A backup's manifest wherever it is (its identity is not known yet)."""
        manifest = self._read(self.legacy_folder(backup_id) + MANIFEST_NAME)
        if manifest is not None:
            return manifest
        suffix = "/%s/%s" % (backup_id, MANIFEST_NAME)
        for item in s3.list_keys(self.client, self.bucket, self._root()):
            if item["key"].endswith(suffix):
                manifest = self._read(item["key"])
                if manifest is not None:
                    return manifest
        return None

    def find(self, identity, backup_id=None, label=None):
        """The manifest of one backup of ``identity``: by id, else the newest with
        ``label`` (a glob), else the newest. A backup named by id that belongs to
        another source is refused, naming both. Raises ``NotFound`` or ``Refused``."""
        if backup_id:
            validate_backup_id(backup_id)
            manifest = self._read(self.folder(identity, backup_id) + MANIFEST_NAME) or self._by_id(backup_id)
            if manifest is None:
                raise NotFound("find", "backup %s in %s" % (backup_id, self.url(self._root())),
                               "it has no manifest (it does not exist, or its upload never completed)")
            owner = manifest_identity(manifest)
            if not same_source(owner, identity, strict_environment=False):
                raise Refused("use", "backup %s" % backup_id,
                              "it holds %s, not %s" % (
                                  owner.describe() if owner else "an unknown source", identity.describe()),
                              fix="Name a backup of %s, or the source it was taken from" % identity.source)
            if label and not fnmatch.fnmatchcase(manifest.get("label", ""), label):
                raise NotFound("find", "backup %s" % backup_id,
                               "its label is %s, not %s" % (manifest.get("label"), label))
            return manifest
        found = self.manifests(identity, label=label)
        if not found:
            raise NotFound("find", "a complete backup%s among the %s in %s" % (
                " labelled %s" % label if label else "", identity.describe(),
                self.url(self.identity_folder(identity))), "no manifest found", fix="Run a backup first")
        return found[0]

    def incomplete(self, identity, older_than_seconds=3600, now=None):
        """Folders of ``identity`` without a manifest whose newest object is older than the grace."""
        now = now or clock.utcnow()
        root = self.identity_folder(identity)
        folders = {}
        for item in s3.list_keys(self.client, self.bucket, root):
            rest = item["key"][len(root):]
            if rest.count("/") != 1:
                continue
            folder = rest.split("/", 1)[0]
            entry = folders.setdefault(folder, {"keys": [], "manifest": False, "newest": None})
            entry["keys"].append(item["key"])
            entry["manifest"] = entry["manifest"] or rest.endswith("/" + MANIFEST_NAME)
            modified = item["last_modified"]
            entry["newest"] = modified if entry["newest"] is None else max(entry["newest"], modified)
        return dict((folder, entry["keys"]) for folder, entry in folders.items()
                    if not entry["manifest"] and (now - entry["newest"]).total_seconds() > older_than_seconds)

    def delete(self, manifest):
        """Delete one backup: the manifest first (it stops being a backup), then its data."""
        s3.delete_keys(self.client, self.bucket, [manifest["manifest_key"]])
        s3.delete_keys(self.client, self.bucket, [o["key"] for o in manifest.get("objects", {}).values()])

    def retain(self, identity, options, protect=(), check_mode=False):
        """Retention for ``identity`` from the module's ``retention`` option
        (:func:`retention_argument_spec`): delete what :func:`plan_retention` names and,
        with ``orphan_grace_seconds``, this identity's incomplete folders older than that.
        Returns ``{deleted, orphans}``."""
        options = options or {}
        keep_last, max_age_days = options.get("keep_last"), options.get("max_age_days")
        grace = options.get("orphan_grace_seconds")
        if keep_last is None and max_age_days is None:
            return {"deleted": [], "orphans": []}
        manifests = self.manifests(identity)
        doomed = set(plan_retention(manifests, keep_last, max_age_days, protect=protect,
                                    labels=options.get("labels") or "*"))
        orphans = self.incomplete(identity, grace) if grace is not None else {}
        if not check_mode:
            for manifest in manifests:
                if manifest["id"] in doomed:
                    self.delete(manifest)
            for keys in orphans.values():
                s3.delete_keys(self.client, self.bucket, keys)
        return {"deleted": [m["id"] for m in manifests if m["id"] in doomed], "orphans": sorted(orphans)}


def store_from_params(params, default_prefix):
    """The backup store named by a module's ``bucket``/``prefix`` and ``aws_*`` options."""
    return BackupStore(aws.session_client("s3", aws.AwsSettings.from_params(params)), params["bucket"],
                       params.get("prefix") or default_prefix)


def identity_argument_spec():
    """The ``environment`` option of every backup module (doc fragment ``backup_identity``)."""
    return dict(environment=dict(type="str", fallback=(env_fallback, ["GOLIVE_ENVIRONMENT"])))


def retention_argument_spec():
    """The ``retention`` option of every backup module (doc fragment ``backup_retention``)."""
    return dict(type="dict", options=dict(
        keep_last=dict(type="int", no_log=False), max_age_days=dict(type="float"),
        labels=dict(type="str", default="*"), orphan_grace_seconds=dict(type="int")))

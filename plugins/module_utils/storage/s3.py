# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The S3 object store (boto3): clients, error mapping, streaming transfers and backups.

- ``upload_stream`` / ``download_stream``: multipart, hashed on the way, never a full
  local copy; a failed upload is aborted and leaves no object.
- ``BackupStore``: one folder per backup with a manifest written last; listing,
  "newest" and retention work from manifests only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import fnmatch
import hashlib
import json
import queue
import re
import threading
import uuid

from ansible.module_utils.basic import env_fallback

from ansible_collections.golive.core.plugins.module_utils.common.errors import (
    AuthenticationFailed,
    BackendError,
    ConnectionFailed,
    InvalidInput,
    NotFound,
    PermissionDenied,
    describe_exception,
)

try:
    import boto3
    import botocore.config
    import botocore.exceptions
    HAS_BOTO3 = True
    BOTO3_IMPORT_ERROR = None
except ImportError:  # pragma: no cover - reported by the module entry point
    import traceback
    HAS_BOTO3 = False
    BOTO3_IMPORT_ERROR = traceback.format_exc()

_AUTH_CODES = ("InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidClientTokenId",
               "UnrecognizedClientException", "ExpiredToken")
_NOT_FOUND_CODES = ("NoSuchBucket", "NoSuchKey", "404", "NotFound", "NoSuchHostedZone")


def session_client(service, params, max_attempts=5):
    """A boto3 client for ``service`` from the collection's ``aws_*`` options.

    Unset options fall back to boto3's own chain (environment, profile, instance role).
    """
    kwargs = {}
    if params.get("aws_access_key"):
        kwargs["aws_access_key_id"] = params["aws_access_key"]
    if params.get("aws_secret_key"):
        kwargs["aws_secret_access_key"] = params["aws_secret_key"]
    if params.get("aws_session_token"):
        kwargs["aws_session_token"] = params["aws_session_token"]
    config = botocore.config.Config(
        retries={"max_attempts": max_attempts, "mode": "standard"},
        connect_timeout=float(params.get("aws_timeout") or 10),
        read_timeout=float(params.get("aws_timeout") or 60),
    )
    return boto3.session.Session(region_name=params.get("aws_region") or "us-east-1").client(
        service, endpoint_url=params.get("aws_endpoint_url") or None, config=config, **kwargs)


def classify(exc, verb, obj):
    """Map a botocore error to a GoliveError."""
    if isinstance(exc, botocore.exceptions.ClientError):
        code = str(exc.response.get("Error", {}).get("Code", ""))
        text = exc.response.get("Error", {}).get("Message") or code
        cause = "%s (%s)" % (text, code) if code and code not in text else text
        if code in _AUTH_CODES:
            return AuthenticationFailed(verb, obj, cause, fix="Check aws_access_key/aws_secret_key")
        if code in ("AccessDenied", "403", "Forbidden"):
            return PermissionDenied(verb, obj, cause, fix="Grant the identity access to it")
        if code in _NOT_FOUND_CODES:
            return NotFound(verb, obj, cause)
        if code in ("SlowDown", "ServiceUnavailable", "RequestTimeout", "Throttling", "500", "503"):
            return BackendError(verb, obj, cause, retryable=True)
        return BackendError(verb, obj, cause)
    if isinstance(exc, (botocore.exceptions.EndpointConnectionError,
                        botocore.exceptions.ConnectTimeoutError,
                        botocore.exceptions.ReadTimeoutError,
                        botocore.exceptions.ConnectionClosedError)):
        return ConnectionFailed(verb, obj, describe_exception(exc), fix="Check aws_endpoint_url and the network")
    if isinstance(exc, botocore.exceptions.NoCredentialsError):
        return AuthenticationFailed(verb, obj, "no credentials found",
                                    fix="Set aws_access_key/aws_secret_key or AWS_* environment variables")
    return BackendError(verb, obj, describe_exception(exc))


def aws_errors():
    """The exception types ``classify`` understands (for ``except`` clauses)."""
    return (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError)


def argument_spec():
    """Connection options shared by every AWS-API module (see doc fragment ``aws``)."""
    return dict(
        aws_endpoint_url=dict(type="str", aliases=["endpoint_url"], fallback=(env_fallback, ["AWS_ENDPOINT_URL"])),
        aws_access_key=dict(type="str", no_log=True, fallback=(env_fallback, ["AWS_ACCESS_KEY_ID"])),
        aws_secret_key=dict(type="str", no_log=True, fallback=(env_fallback, ["AWS_SECRET_ACCESS_KEY"])),
        aws_session_token=dict(type="str", no_log=True, fallback=(env_fallback, ["AWS_SESSION_TOKEN"])),
        aws_region=dict(type="str", default="us-east-1", fallback=(env_fallback, ["AWS_REGION", "AWS_DEFAULT_REGION"])),
        aws_timeout=dict(type="float", default=60.0),
    )


# ---------------------------------------------------------------------------
# Streaming transfers
# ---------------------------------------------------------------------------

MIB = 1024 * 1024
DEFAULT_PART_SIZE = 32 * MIB
MIN_PART_SIZE = 5 * MIB
MAX_PARTS = 10000


def _read_exactly(reader, size):
    """Read up to ``size`` bytes, looping over short reads; ``b""`` at the end."""
    chunks = []
    missing = size
    while missing > 0:
        chunk = reader.read(missing)
        if not chunk:
            break
        chunks.append(chunk)
        missing -= len(chunk)
    return b"".join(chunks)


def upload_stream(client, bucket, key, reader, part_size=DEFAULT_PART_SIZE, content_type=None,
                  metadata=None, parts_in_flight=2):
    """Stream ``reader`` (anything with ``read(n)``) to ``s3://bucket/key``.

    The data is never held in full: it goes up in parts of ``part_size`` bytes (a
    multipart upload; a single PUT when it fits in one part), hashed on the way. Parts
    are sent by a background thread while the next ones are read, with at most
    ``parts_in_flight`` parts queued, so a producer (pg_dump) is not held up by the
    upload. On any error the multipart upload is aborted, so a failed or interrupted
    upload leaves no object behind. Returns ``{key, size, sha256, parts, part_size}``.
    """
    part_size = max(int(part_size), MIN_PART_SIZE)
    obj = "s3://%s/%s" % (bucket, key)
    digest = hashlib.sha256()
    extra = {}
    if content_type:
        extra["ContentType"] = content_type
    if metadata:
        extra["Metadata"] = dict(metadata)
    first = _read_exactly(reader, part_size)
    digest.update(first)
    size = len(first)
    nxt = _read_exactly(reader, part_size) if len(first) == part_size else b""
    if not nxt:
        try:
            client.put_object(Bucket=bucket, Key=key, Body=first, **extra)
        except aws_errors() as exc:
            raise classify(exc, "upload", obj)
        return {"key": key, "size": size, "sha256": digest.hexdigest(), "parts": 1, "part_size": part_size}
    try:
        upload_id = client.create_multipart_upload(Bucket=bucket, Key=key, **extra)["UploadId"]
    except aws_errors() as exc:
        raise classify(exc, "start the upload of", obj)
    sender = _PartSender(client, bucket, key, upload_id, max(1, int(parts_in_flight)))
    try:
        chunk, number = first, 0
        while chunk:
            number += 1
            if number > MAX_PARTS:
                raise BackendError("upload", obj, "more than %d parts" % MAX_PARTS, fix="Use a larger part size")
            sender.send(number, chunk)
            chunk, nxt = nxt, (_read_exactly(reader, part_size) if nxt else b"")
            digest.update(chunk)
            size += len(chunk)
        parts = sender.finish()
        client.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id,
                                         MultipartUpload={"Parts": parts})
    except BaseException as exc:
        sender.stop()
        try:
            client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
        except Exception:  # noqa: BLE001 - the original error is the one to report
            pass
        if isinstance(exc, aws_errors()):
            raise classify(exc, "upload", obj)
        raise
    return {"key": key, "size": size, "sha256": digest.hexdigest(), "parts": len(parts),
            "part_size": part_size}


class _PartSender:
    """Uploads the parts of one multipart upload from a bounded queue, in a thread."""

    def __init__(self, client, bucket, key, upload_id, depth):
        self.client = client
        self.args = {"Bucket": bucket, "Key": key, "UploadId": upload_id}
        self.queue = queue.Queue(maxsize=depth)
        self.parts = []
        self.error = None
        self.thread = threading.Thread(target=self._run)
        self.thread.daemon = True
        self.thread.start()

    def _run(self):
        while True:
            item = self.queue.get()
            if item is None:
                return
            if self.error is not None:
                continue  # drain until told to stop
            number, body = item
            try:
                etag = self.client.upload_part(PartNumber=number, Body=body, **self.args)["ETag"]
                self.parts.append({"PartNumber": number, "ETag": etag})
            except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
                self.error = exc

    def _check(self):
        if self.error is not None:
            raise self.error

    def send(self, number, body):
        self._check()
        self.queue.put((number, body))

    def finish(self):
        self.queue.put(None)
        self.thread.join()
        self._check()
        return sorted(self.parts, key=lambda part: part["PartNumber"])

    def stop(self):
        if self.thread.is_alive():
            self.error = self.error or RuntimeError("stopped")
            self.queue.put(None)
            self.thread.join()


def download_stream(client, bucket, key, writer, chunk_size=4 * MIB):
    """Stream ``s3://bucket/key`` into ``writer`` (anything with ``write(b)``).

    Returns ``{key, size, sha256}`` of what was read, so the caller can compare it
    with a manifest. Errors of ``writer`` (a consumer that exits early) propagate.
    """
    obj = "s3://%s/%s" % (bucket, key)
    digest = hashlib.sha256()
    size = 0
    try:
        body = client.get_object(Bucket=bucket, Key=key)["Body"]
        while True:
            chunk = body.read(chunk_size)
            if not chunk:
                break
            digest.update(chunk)
            size += len(chunk)
            writer.write(chunk)
    except aws_errors() as exc:
        raise classify(exc, "download", obj)
    return {"key": key, "size": size, "sha256": digest.hexdigest()}


def put_json(client, bucket, key, data):
    obj = "s3://%s/%s" % (bucket, key)
    body = json.dumps(data, sort_keys=True, indent=1).encode("utf-8")
    try:
        client.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json")
    except aws_errors() as exc:
        raise classify(exc, "write", obj)


def get_json(client, bucket, key):
    obj = "s3://%s/%s" % (bucket, key)
    try:
        body = client.get_object(Bucket=bucket, Key=key)["Body"].read()
    except aws_errors() as exc:
        raise classify(exc, "read", obj)
    try:
        return json.loads(body.decode("utf-8"))
    except ValueError as exc:
        raise BackendError("read", obj, "not valid JSON: %s" % describe_exception(exc))


def list_keys(client, bucket, prefix):
    """Every object under ``prefix``: ``[{key, size, last_modified}]``."""
    out = []
    try:
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                out.append({"key": item["Key"], "size": item["Size"], "last_modified": item["LastModified"]})
    except aws_errors() as exc:
        raise classify(exc, "list", "s3://%s/%s" % (bucket, prefix))
    return out


def delete_keys(client, bucket, keys):
    for key in keys:
        try:
            client.delete_object(Bucket=bucket, Key=key)
        except aws_errors() as exc:
            raise classify(exc, "delete", "s3://%s/%s" % (bucket, key))


# ---------------------------------------------------------------------------
# Backups: data objects plus a manifest written last
# ---------------------------------------------------------------------------

MANIFEST_NAME = "manifest.json"
MANIFEST_FORMAT = "golive.backup/1"
_LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


def format_time(value):
    return value.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text):
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)


def validate_label(label):
    if not label or not _LABEL.match(label):
        raise InvalidInput("validate", "backup label %r" % (label,),
                           "use letters, digits, '.', '_' and '-' (at most 100, starting with a letter or digit)")
    return label


def new_backup_id(label, now=None):
    """``<UTC time>-<label>-<random>``: sorts by time, names the label, never collides."""
    now = now or utcnow()
    return "%s-%s-%s" % (now.strftime("%Y%m%dT%H%M%SZ"), validate_label(label), uuid.uuid4().hex[:8])


def plan_retention(manifests, keep_last=None, max_age_days=None, now=None, protect=(), labels="*"):
    """Pure: the ids of complete backups that retention deletes.

    Among the backups whose label matches the glob ``labels``, the newest
    ``keep_last`` are kept and those older than ``max_age_days`` are deleted; with both
    set a backup goes when either rule says so, yet the newest one always stays.
    Ids in ``protect`` are never deleted.
    """
    now = now or utcnow()
    scoped = sorted((m for m in manifests if fnmatch.fnmatchcase(m.get("label", ""), labels or "*")),
                    key=_sort_key, reverse=True)
    doomed = []
    for index, manifest in enumerate(scoped):
        if index == 0 or manifest["id"] in protect:
            continue
        too_many = keep_last is not None and index >= keep_last
        age = (now - parse_time(manifest["created_at"])).total_seconds()
        too_old = max_age_days is not None and age > max_age_days * 86400.0
        if too_many or too_old:
            doomed.append(manifest["id"])
    return doomed


def _sort_key(manifest):
    return (manifest.get("created_at", ""), manifest.get("id", ""))


class BackupStore:
    """Backups in a bucket under ``prefix``, one folder per backup::

        <prefix>/<backup id>/<data object(s)>
        <prefix>/<backup id>/manifest.json      written last

    A backup exists only once its manifest does: listing, "newest" and lookups by
    label see manifests only, so an interrupted upload is never chosen. Retention
    deletes the manifest first, then the data.

    The manifest is ``{format, id, label, kind, created_at, completed_at, objects:
    {name: {key, size, sha256, ...}}, ...}`` plus whatever the caller adds (``extra``).
    """

    def __init__(self, client, bucket, prefix):
        self.client = client
        self.bucket = bucket
        self.prefix = (prefix or "").strip("/")

    def _folder(self, backup_id):
        return "%s/%s/" % (self.prefix, backup_id) if self.prefix else "%s/" % backup_id

    def key(self, backup_id, name):
        return self._folder(backup_id) + name

    def url(self, key):
        return "s3://%s/%s" % (self.bucket, key)

    def upload(self, backup_id, name, reader, part_size=DEFAULT_PART_SIZE):
        """Stream one data object of a backup; returns its ``{key, size, sha256, ...}``."""
        return upload_stream(self.client, self.bucket, self.key(backup_id, name), reader, part_size)

    def download(self, manifest, name, writer, chunk_size=4 * MIB):
        return download_stream(self.client, self.bucket, manifest["objects"][name]["key"], writer, chunk_size)

    def write_manifest(self, backup_id, label, kind, objects, created_at, extra=None):
        """Write the manifest (the last step of a backup) and return it."""
        manifest = dict(extra or {})
        manifest.update({
            "format": MANIFEST_FORMAT,
            "id": backup_id,
            "label": label,
            "kind": kind,
            "created_at": format_time(created_at),
            "completed_at": format_time(utcnow()),
            "objects": objects,
        })
        put_json(self.client, self.bucket, self.key(backup_id, MANIFEST_NAME), manifest)
        return manifest

    def manifests(self, kind=None, label=None):
        """Complete backups, newest first (optionally of one kind, with a label glob)."""
        prefix = "%s/" % self.prefix if self.prefix else ""
        found = []
        for item in list_keys(self.client, self.bucket, prefix):
            rest = item["key"][len(prefix):]
            if rest.count("/") != 1 or not rest.endswith("/" + MANIFEST_NAME):
                continue
            try:
                manifest = get_json(self.client, self.bucket, item["key"])
            except NotFound:
                continue  # deleted between list and read
            if manifest.get("format") != MANIFEST_FORMAT:
                continue
            if kind and manifest.get("kind") != kind:
                continue
            if label and not fnmatch.fnmatchcase(manifest.get("label", ""), label):
                continue
            found.append(manifest)
        return sorted(found, key=_sort_key, reverse=True)

    def find(self, backup_id=None, label=None, kind=None):
        """The manifest of one backup: by id, else the newest with ``label`` (a glob),
        else the newest. Raises ``NotFound``."""
        if backup_id:
            try:
                manifest = get_json(self.client, self.bucket, self.key(backup_id, MANIFEST_NAME))
            except NotFound:
                raise NotFound("find", "backup %s in %s" % (backup_id, self.url(self._folder(backup_id))),
                               "it has no manifest (it does not exist, or its upload never completed)")
            if label and not fnmatch.fnmatchcase(manifest.get("label", ""), label):
                raise NotFound("find", "backup %s" % backup_id,
                               "its label is %s, not %s" % (manifest.get("label"), label))
            return manifest
        found = self.manifests(kind=kind, label=label)
        if not found:
            raise NotFound("find", "a complete backup%s in %s" % (
                " labelled %s" % label if label else "", self.url(self._folder("").rstrip("/") + "/")),
                "no manifest found", fix="Run a backup first")
        return found[0]

    def incomplete(self, older_than_seconds=3600, now=None):
        """Backup folders without a manifest whose newest object is older than the grace."""
        now = now or utcnow()
        prefix = "%s/" % self.prefix if self.prefix else ""
        folders = {}
        for item in list_keys(self.client, self.bucket, prefix):
            rest = item["key"][len(prefix):]
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
        delete_keys(self.client, self.bucket, [self.key(manifest["id"], MANIFEST_NAME)])
        delete_keys(self.client, self.bucket, [o["key"] for o in manifest.get("objects", {}).values()])

    def retain(self, options, kind, protect=()):
        """:meth:`apply_retention` with the module's ``retention`` option
        (:func:`retention_argument_spec`)."""
        return self.apply_retention(
            keep_last=options.get("keep_last"), max_age_days=options.get("max_age_days"),
            labels=options.get("labels") or "*", kind=kind, protect=protect,
            orphan_grace_seconds=options.get("orphan_grace_seconds"))

    def apply_retention(self, keep_last=None, max_age_days=None, labels="*", kind=None, protect=(),
                        check_mode=False, orphan_grace_seconds=None):
        """Delete what :func:`plan_retention` names (and, with ``orphan_grace_seconds``,
        folders of incomplete uploads older than that). Returns ``{deleted, orphans}``."""
        if keep_last is None and max_age_days is None:
            return {"deleted": [], "orphans": []}
        manifests = self.manifests(kind=kind)
        doomed = set(plan_retention(manifests, keep_last, max_age_days, protect=protect, labels=labels))
        deleted = [m["id"] for m in manifests if m["id"] in doomed]
        orphans = []
        if orphan_grace_seconds is not None:
            orphans = sorted(self.incomplete(orphan_grace_seconds))
        if not check_mode:
            for manifest in manifests:
                if manifest["id"] in doomed:
                    self.delete(manifest)
            if orphans:
                for keys in self.incomplete(orphan_grace_seconds).values():
                    delete_keys(self.client, self.bucket, keys)
        return {"deleted": deleted, "orphans": orphans}


def retention_argument_spec():
    """The ``retention`` option of every backup module (doc fragment ``backup_retention``)."""
    return dict(type="dict", options=dict(
        keep_last=dict(type="int", no_log=False), max_age_days=dict(type="float"),
        labels=dict(type="str", default="*"), orphan_grace_seconds=dict(type="int")))

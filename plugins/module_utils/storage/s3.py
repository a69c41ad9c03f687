# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The S3 object store (boto3): clients, error mapping and streaming transfers.

``upload_stream`` / ``download_stream``: multipart, hashed on the way, never a full
local copy; a failed upload is aborted and leaves no object. Backups built on these
live in ``catalog.py`` (which backups exist) and ``runner.py`` (how one is taken).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import queue
import threading


from ansible_collections.golive.core.plugins.module_utils.common.errors import BackendError, describe_exception

# The client and the error mapping come from ``aws.session`` (Route53 uses them too).
from ansible_collections.golive.core.plugins.module_utils.aws.session import aws_errors, classify


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

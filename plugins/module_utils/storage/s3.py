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
import os
import queue
import threading


from ansible_collections.golive.core.plugins.module_utils.common.errors import (
    AuthenticationFailed,
    BackendError,
    ConnectionFailed,
    InvalidInput,
    NotFound,
    PermissionDenied,
    describe_exception,
)
from ansible_collections.golive.core.plugins.module_utils.common.options import env_fallback

try:
    import boto3
    import botocore.config
    import botocore.exceptions
    import botocore.parsers
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
    endpoint = params.get("aws_endpoint_url")
    if endpoint and not str(endpoint).lower().startswith(("http://", "https://")):
        raise InvalidInput("use", "aws_endpoint_url %r" % endpoint, "it needs its scheme",
                           fix="Write it as http://%s or https://%s" % (endpoint, endpoint))
    config = botocore.config.Config(
        retries={"max_attempts": max_attempts, "mode": "standard"},
        connect_timeout=float(params.get("aws_timeout") or 10),
        read_timeout=float(params.get("aws_timeout") or 60),
    )
    if params.get("aws_ca_bundle"):
        kwargs["verify"] = params["aws_ca_bundle"]
    # boto3 reads AWS_* variables itself: an empty one (an AWX credential's field left empty)
    # is no setting, not a profile named "".
    for name in [n for n, v in os.environ.items() if n.startswith(("AWS_", "BOTO_")) and not v.strip()]:
        del os.environ[name]
    try:
        session = boto3.session.Session(region_name=params.get("aws_region") or "us-east-1",
                                        profile_name=params.get("aws_profile") or None)
        return session.client(service, endpoint_url=params.get("aws_endpoint_url") or None, config=config, **kwargs)
    except botocore.exceptions.BotoCoreError as exc:
        raise InvalidInput("set up", "the %s client" % service, describe_exception(exc),
                           fix="Check aws_profile, aws_region and aws_endpoint_url")


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
    if isinstance(exc, botocore.parsers.ResponseParserError):
        return BackendError(verb, obj, "the endpoint's answer is not an S3 API's (%s)" % describe_exception(exc),
                            fix="Check aws_endpoint_url", retryable=False)
    if isinstance(exc, botocore.exceptions.ParamValidationError):
        return InvalidInput(verb, obj, " ".join(str(exc).split()))  # botocore's message spans several lines
    return BackendError(verb, obj, describe_exception(exc))


def aws_errors():
    """The exception types ``classify`` understands (for ``except`` clauses)."""
    return (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError, botocore.parsers.ResponseParserError)


def argument_spec():
    """Connection options shared by every AWS-API module (see doc fragment ``aws``)."""
    return dict(
        # amazon.aws's names (and environment variables) are accepted as they are.
        aws_endpoint_url=dict(type="str", aliases=["endpoint_url", "ec2_url", "s3_url"],
                              fallback=(env_fallback, ["AWS_ENDPOINT_URL", "AWS_URL", "EC2_URL"])),
        aws_access_key=dict(type="str", no_log=True, aliases=["access_key", "aws_access_key_id", "ec2_access_key"],
                            fallback=(env_fallback, ["AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY", "EC2_ACCESS_KEY"])),
        aws_secret_key=dict(type="str", no_log=True, aliases=["secret_key", "aws_secret_access_key", "ec2_secret_key"],
                            fallback=(env_fallback, ["AWS_SECRET_ACCESS_KEY", "AWS_SECRET_KEY", "EC2_SECRET_KEY"])),
        aws_session_token=dict(type="str", no_log=True, aliases=["session_token", "security_token", "aws_security_token"],
                               fallback=(env_fallback, ["AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"])),
        aws_region=dict(type="str", default="us-east-1", aliases=["region", "ec2_region"],
                        fallback=(env_fallback, ["AWS_REGION", "AWS_DEFAULT_REGION", "EC2_REGION"])),
        aws_profile=dict(type="str", aliases=["profile"], fallback=(env_fallback, ["AWS_PROFILE", "AWS_DEFAULT_PROFILE"])),
        aws_ca_bundle=dict(type="path", fallback=(env_fallback, ["AWS_CA_BUNDLE"])),
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

# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""An S3 (or S3-compatible) bucket as the go-live needs it: gather -> evaluate (pure).

Observed: the bucket, its versioning, default encryption, public-access block and lifecycle
rules, and a put/get/delete round trip of a canary object (every version of it removed
afterwards, so a versioned bucket keeps nothing).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import re
import time
import uuid

from ansible_collections.golive.core.plugins.module_utils.common.checks import check, make_check
from ansible_collections.golive.core.plugins.module_utils.common.errors import BackendError, InvalidInput
from ansible_collections.golive.core.plugins.module_utils.common.retry import Deadline, bounded
from ansible_collections.golive.core.plugins.module_utils.storage import s3

CHECKLIST = "File Storage - AWS S3/MinIO configured for file uploads"
BLOCKS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")


_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


def _code(exc):
    return str(((getattr(exc, "response", None) or {}).get("Error") or {}).get("Code", ""))


def check_bucket_name(bucket):
    """S3's naming rules, before any request (botocore's own message is cut to a line)."""
    if not _BUCKET.match(bucket or "") or ".." in bucket or re.match(r"^\d+\.\d+\.\d+\.\d+$", bucket):
        raise InvalidInput("use", "bucket %r" % bucket, "an S3 bucket name is 3 to 63 lower-case letters, digits, '.' "
                                                        "and '-', starting and ending with a letter or digit, and not "
                                                        "an IP address")


def _optional(call, missing_codes):
    """``call()``, or None when the bucket has no such configuration."""
    try:
        return call()
    except s3.aws_errors() as exc:
        if _code(exc) in missing_codes:
            return None
        raise s3.classify(exc, "read", "the bucket's configuration")


def gather(client, bucket, prefix, round_trip, check_mode=False, clock=time.monotonic):
    what = "bucket %s" % bucket
    try:
        head = client.head_bucket(Bucket=bucket)
    except s3.aws_errors() as exc:
        error = s3.classify(exc, "find", what)
        if _code(exc) in ("404", "NoSuchBucket", "NotFound"):
            return {"bucket": bucket, "exists": False}
        raise error
    headers = (head.get("ResponseMetadata") or {}).get("HTTPHeaders") or {}
    if not any(str(name).lower().startswith("x-amz") for name in headers):
        # A web server answers HEAD with 200 too: an S3 API says so in its x-amz- headers.
        raise BackendError("find", what, "the endpoint answered without any x-amz- header: it is not an S3 API "
                                         "(server %s)" % (headers.get("server") or "unknown"),
                           fix="Check aws_endpoint_url", retryable=False)
    observed = {"bucket": bucket, "exists": True}
    observed["versioning"] = client.get_bucket_versioning(Bucket=bucket).get("Status") or "Disabled"
    encryption = _optional(lambda: client.get_bucket_encryption(Bucket=bucket),
                           ("ServerSideEncryptionConfigurationNotFoundError",))
    rules = ((encryption or {}).get("ServerSideEncryptionConfiguration") or {}).get("Rules") or []
    observed["encryption"] = sorted(set(r.get("ApplyServerSideEncryptionByDefault", {}).get("SSEAlgorithm")
                                        for r in rules if r.get("ApplyServerSideEncryptionByDefault")))
    block = _optional(lambda: client.get_public_access_block(Bucket=bucket), ("NoSuchPublicAccessBlockConfiguration",))
    observed["public_access_block"] = dict((k, bool(((block or {}).get("PublicAccessBlockConfiguration") or {}).get(k)))
                                           for k in BLOCKS)
    lifecycle = _optional(lambda: client.get_bucket_lifecycle_configuration(Bucket=bucket),
                          ("NoSuchLifecycleConfiguration",))
    observed["lifecycle"] = [{"id": r.get("ID"), "enabled": r.get("Status") == "Enabled",
                              "prefix": (r.get("Filter") or {}).get("Prefix", r.get("Prefix", "")) or "",
                              "abort_multipart_days": (r.get("AbortIncompleteMultipartUpload") or {}).get(
                                  "DaysAfterInitiation")} for r in (lifecycle or {}).get("Rules") or []]
    if round_trip and not check_mode:
        observed["round_trip"] = canary(client, bucket, prefix, clock)
    return observed


def canary(client, bucket, prefix, clock=time.monotonic):
    key = "%s%s" % (prefix, uuid.uuid4().hex)
    body = ("golive canary %s" % uuid.uuid4().hex).encode("utf-8")
    started = clock()
    try:
        client.put_object(Bucket=bucket, Key=key, Body=body)
        got = client.get_object(Bucket=bucket, Key=key)["Body"].read()
        client.delete_object(Bucket=bucket, Key=key)
        left = client.list_object_versions(Bucket=bucket, Prefix=key)
        for item in (left.get("Versions") or []) + (left.get("DeleteMarkers") or []):
            if item["Key"] == key:
                client.delete_object(Bucket=bucket, Key=key, VersionId=item["VersionId"])
        gone = client.list_objects_v2(Bucket=bucket, Prefix=key).get("KeyCount", 0) == 0
    except s3.aws_errors() as exc:
        raise s3.classify(exc, "write and read back", "a canary object in bucket %s" % bucket)
    return {"key": key, "same": hashlib.sha256(got).hexdigest() == hashlib.sha256(body).hexdigest(),
            "deleted": gone, "ms": round((clock() - started) * 1000, 1)}


def evaluate(observed, want, checklist=CHECKLIST):
    """The checks for the declared posture ``want`` (pure)."""
    bucket = observed["bucket"]
    out = [check("s3.bucket", "Bucket %s exists" % bucket, observed["exists"], {"bucket": bucket}, checklist)]
    if not observed["exists"]:
        return out
    if want.get("versioning") is not None:
        wanted = "Enabled" if want["versioning"] else "Disabled"
        out.append(check("s3.versioning", "Versioning is %s" % wanted.lower(),
                         (observed["versioning"] == "Enabled") == bool(want["versioning"]),
                         {"versioning": observed["versioning"], "wanted": wanted}, checklist))
    if want.get("encryption"):
        algorithms = observed["encryption"]
        ok = bool(algorithms) if want["encryption"] == "any" else want["encryption"] in algorithms
        out.append(check("s3.encryption", "Default encryption is %s" % want["encryption"], ok,
                         {"algorithms": algorithms, "wanted": want["encryption"]}, checklist))
    if want.get("public_access_block"):
        open_ = [k for k, v in observed["public_access_block"].items() if not v]
        out.append(check("s3.public_access_block", "Every public-access block is on", not open_,
                         {"settings": observed["public_access_block"], "off": open_}, checklist))
    days = want.get("abort_multipart_days")
    if days is not None:
        rules = [r for r in observed["lifecycle"] if r["enabled"] and r["abort_multipart_days"] is not None
                 and r["abort_multipart_days"] <= days and want.get("prefix", "").startswith(r["prefix"])]
        out.append(check("s3.lifecycle.abort_multipart",
                         "A lifecycle rule aborts incomplete multipart uploads within %d days" % days, bool(rules),
                         {"rules": observed["lifecycle"], "matching": [r["id"] for r in rules],
                          "prefix": want.get("prefix", "")}, checklist))
    if want.get("round_trip", True):
        trip = observed.get("round_trip")
        if trip is None:
            out.append(make_check("s3.round_trip", "Put, get and delete a canary object", "skip",
                                  {"reason": "check mode writes nothing"}, checklist))
        else:
            out.append(check("s3.round_trip", "Put, get and delete a canary object", trip["same"] and trip["deleted"],
                             trip, checklist))
    return out


# The options that declare a bucket's posture (what ``evaluate`` reads).
POSTURE_KEYS = ("bucket", "prefix", "versioning", "encryption", "public_access_block", "abort_multipart_days",
                "round_trip")


def run(client, want, timeout=60, check_mode=False, checklist=None):
    """Observe the bucket ``want["bucket"]`` within ``timeout`` seconds and judge it against
    the declared posture ``want`` (a dict of ``POSTURE_KEYS``)."""
    bucket = want["bucket"]
    check_bucket_name(bucket)
    # The whole check within the timeout, botocore's own retries included.
    deadline = Deadline(float(timeout or 60))
    try:
        observed = bounded(lambda: gather(client, bucket, want.get("prefix") or "", want.get("round_trip", True),
                                          check_mode), deadline, "check", "bucket %s" % bucket)
    except s3.aws_errors() as exc:
        raise s3.classify(exc, "check", "bucket %s" % bucket)
    return {"changed": False, "checks": evaluate(observed, want, checklist or CHECKLIST)}

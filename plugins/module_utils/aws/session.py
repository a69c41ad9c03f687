# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The boto3 session of every AWS-API module (S3, Route53) from the collection's ``aws_*``
options (amazon.aws's names and environment variables accepted), and botocore's errors
mapped to the collection's."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import importlib
import importlib.util
import os
import sys

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
from ansible_collections.golive.core.plugins.module_utils.common.settings import Settings

# boto3 is imported when a client is made or an error is classified, not when a module that
# only may use S3 (pg_health without a bucket) starts: its import is a third of such a start.
try:
    HAS_BOTO3 = importlib.util.find_spec("boto3") is not None and importlib.util.find_spec("botocore") is not None
except (ImportError, ValueError):  # pragma: no cover - a broken installation
    HAS_BOTO3 = False
BOTO3_IMPORT_ERROR = None if HAS_BOTO3 else "ImportError: No module named 'boto3' (or 'botocore')"


def _boto():
    """boto3 and botocore's modules this file uses, imported on first use."""
    boto3 = importlib.import_module("boto3")
    importlib.import_module("boto3.session")
    for name in ("botocore.config", "botocore.exceptions", "botocore.parsers"):
        importlib.import_module(name)
    return boto3, sys.modules["botocore"]


_AUTH_CODES = ("InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidClientTokenId",
               "UnrecognizedClientException", "ExpiredToken")
_NOT_FOUND_CODES = ("NoSuchBucket", "NoSuchKey", "404", "NotFound", "NoSuchHostedZone")


class AwsSettings(Settings):
    """How to reach an AWS API (or one that speaks it), from the ``aws_*`` options."""

    FIELDS = (("endpoint_url", "aws_endpoint_url", None), ("access_key", "aws_access_key", None),
              ("secret_key", "aws_secret_key", None), ("session_token", "aws_session_token", None),
              ("region", "aws_region", "us-east-1"), ("profile", "aws_profile", None),
              ("ca_bundle", "aws_ca_bundle", None), ("timeout", "aws_timeout", 60.0))
    SECRETS = ("access_key", "secret_key", "session_token")


def session_client(service, settings, max_attempts=5):
    """A boto3 client for ``service`` from :class:`AwsSettings`.

    Unset settings fall back to boto3's own chain (environment, profile, instance role).
    """
    kwargs = {}
    for name, keyword in (("access_key", "aws_access_key_id"), ("secret_key", "aws_secret_access_key"),
                          ("session_token", "aws_session_token")):
        if getattr(settings, name):
            kwargs[keyword] = getattr(settings, name)
    endpoint = settings.endpoint_url
    if endpoint and not str(endpoint).lower().startswith(("http://", "https://")):
        raise InvalidInput("use", "aws_endpoint_url %r" % endpoint, "it needs its scheme",
                           fix="Write it as http://%s or https://%s" % (endpoint, endpoint))
    boto3, botocore = _boto()
    config = botocore.config.Config(
        retries={"max_attempts": max_attempts, "mode": "standard"},
        connect_timeout=float(settings.timeout or 10),
        read_timeout=float(settings.timeout or 60),
    )
    if settings.ca_bundle:
        kwargs["verify"] = settings.ca_bundle
    # boto3 reads AWS_* variables itself: an empty one (an AWX credential's field left empty)
    # is no setting, not a profile named "".
    for name in [n for n, v in os.environ.items() if n.startswith(("AWS_", "BOTO_")) and not v.strip()]:
        del os.environ[name]
    try:
        session = boto3.session.Session(region_name=settings.region or "us-east-1",
                                        profile_name=settings.profile or None)
        return session.client(service, endpoint_url=endpoint or None, config=config, **kwargs)
    except botocore.exceptions.BotoCoreError as exc:
        raise InvalidInput("set up", "the %s client" % service, describe_exception(exc),
                           fix="Check aws_profile, aws_region and aws_endpoint_url")


def classify(exc, verb, obj):
    """Map a botocore error to a GoliveError."""
    botocore = _boto()[1]
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
    botocore = _boto()[1]
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

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: s3_health
short_description: An S3 or S3-compatible bucket as the go-live needs it
version_added: 1.0.0
description:
  - "Checks a bucket through the S3 API (AWS S3, MinIO, any S3-compatible store): C(s3.bucket) (it
    exists), C(s3.versioning), C(s3.encryption) (default encryption), C(s3.public_access_block) (all
    four blocks on), C(s3.lifecycle.abort_multipart) (an enabled lifecycle rule that covers O(prefix)
    aborts incomplete multipart uploads within O(abort_multipart_days); the collection's backups rely on
    it to clean up a killed upload) and C(s3.round_trip): a canary object is put, read back, compared and
    deleted with every version of it."
  - Only what is declared is checked; wrong credentials or an unreachable endpoint fail the task with a
    clear message. So do a bucket name S3 refuses, an endpoint without its scheme, and an endpoint that
    answers but is not an S3 API (a web server answers HEAD too; an S3 API sends C(x-amz-) headers).
  - The whole check, the SDK's own retries included, ends within O(aws_timeout).
author:
  - golive.core maintainers (@golive)
extends_documentation_fragment:
  - golive.core.attributes
  - golive.core.aws
  - golive.core.checks
attributes:
  check_mode:
    support: full
    details: Reads only; the round trip is skipped.
  diff_mode:
    support: none
options:
  bucket:
    description: The bucket.
    type: str
    required: true
  prefix:
    description: Where the canary object goes, and the prefix the lifecycle rule must cover.
    type: str
    default: golive-canary/
  versioning:
    description: Whether versioning must be enabled (V(true)) or off (V(false)); not checked when unset.
    type: bool
  encryption:
    description: The default encryption the bucket must have (V(any) accepts any); not checked when unset.
    type: str
    choices: [AES256, "aws:kms", "aws:kms:dsse", any]
  public_access_block:
    description: Require every public-access block setting on.
    type: bool
    default: false
  abort_multipart_days:
    description: Require a lifecycle rule aborting incomplete multipart uploads within this many days.
    type: int
  round_trip:
    description: Put, get and delete a canary object.
    type: bool
    default: true
  checklist:
    description: The checklist item the checks give evidence for.
    type: str
seealso:
  - module: golive.core.pg_backup
    description: Backups stored in the bucket.
  - module: amazon.aws.s3_bucket_info
    description: Facts about buckets.
"""

EXAMPLES = r"""
- name: Day -7 - file storage
  golive.core.s3_health:
    bucket: shop-uploads
    versioning: true
    encryption: aws:kms
    public_access_block: true
    abort_multipart_days: 7
"""

RETURN = r"""
checks:
  description: The check records (shared check model).
  returned: always
  type: list
  elements: dict
  sample:
    - id: s3.round_trip
      title: An object is written, read back and deleted
      status: pass
      evidence:
        bucket: example-prod-backups
      checklist: null
summary:
  description: Counts of the checks by status.
  returned: always
  type: dict
  sample:
    pass: 3
    fail: 0
    warn: 0
    skip: 0
    total: 3
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.golive.core.plugins.module_utils.common import module as base
from ansible_collections.golive.core.plugins.module_utils.aws import session as aws
from ansible_collections.golive.core.plugins.module_utils.storage import posture


def main():
    spec = dict(
        bucket=dict(type="str", required=True),
        prefix=dict(type="str", default="golive-canary/"),
        versioning=dict(type="bool"),
        encryption=dict(type="str", choices=["AES256", "aws:kms", "aws:kms:dsse", "any"]),
        public_access_block=dict(type="bool", default=False),
        abort_multipart_days=dict(type="int"),
        round_trip=dict(type="bool", default=True),
        checklist=dict(type="str"),
    )
    spec.update(aws.argument_spec())
    spec.update(base.CHECKS_ARGUMENT_SPEC)
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    base.require_libs(module, [("boto3", aws.BOTO3_IMPORT_ERROR)])
    p = module.params

    def service():
        want = dict((name, p[name]) for name in posture.POSTURE_KEYS)
        result = posture.run(aws.session_client("s3", aws.AwsSettings.from_params(p)), want, p["aws_timeout"],
                             module.check_mode, p["checklist"])
        return base.finish_checks(result, p["fail_on_failed_checks"], "storage checks")

    base.run(module, service)


if __name__ == "__main__":
    main()

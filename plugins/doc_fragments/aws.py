# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    DOCUMENTATION = r"""
options:
  aws_endpoint_url:
    description:
      - URL of an S3-compatible (or Route53-compatible) endpoint, for MinIO, Ceph or a
        local test endpoint. Unset for AWS itself. Falls back to E(AWS_ENDPOINT_URL).
    type: str
    aliases: [endpoint_url]
  aws_access_key:
    description:
      - Access key id. Falls back to E(AWS_ACCESS_KEY_ID), then to boto3's own chain
        (profile, instance role).
    type: str
  aws_secret_key:
    description:
      - Secret access key. Falls back to E(AWS_SECRET_ACCESS_KEY). Never logged nor returned.
    type: str
  aws_session_token:
    description:
      - Session token of temporary credentials. Falls back to E(AWS_SESSION_TOKEN).
    type: str
  aws_region:
    description:
      - Region. Falls back to E(AWS_REGION) or E(AWS_DEFAULT_REGION).
    type: str
    default: us-east-1
  aws_timeout:
    description:
      - Read timeout of one API call, in seconds.
    type: float
    default: 60.0
requirements:
  - boto3
notes:
  - Options can be set once with C(module_defaults) and the action group C(group/golive.core.s3).
"""

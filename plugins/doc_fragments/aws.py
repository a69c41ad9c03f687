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
        local test endpoint. Unset for AWS itself. Falls back to E(AWS_ENDPOINT_URL), E(AWS_URL)
        or E(EC2_URL).
    type: str
    aliases: [endpoint_url, ec2_url, s3_url]
  aws_access_key:
    description:
      - Access key id. Falls back to E(AWS_ACCESS_KEY_ID), E(AWS_ACCESS_KEY) or E(EC2_ACCESS_KEY),
        then to boto3's own chain (profile, instance role).
    type: str
    aliases: [access_key, aws_access_key_id, ec2_access_key]
  aws_secret_key:
    description:
      - Secret access key. Falls back to E(AWS_SECRET_ACCESS_KEY), E(AWS_SECRET_KEY) or
        E(EC2_SECRET_KEY). Never logged nor returned.
    type: str
    aliases: [secret_key, aws_secret_access_key, ec2_secret_key]
  aws_session_token:
    description:
      - Session token of temporary credentials. Falls back to E(AWS_SESSION_TOKEN) or E(AWS_SECURITY_TOKEN).
    type: str
    aliases: [session_token, security_token, aws_security_token]
  aws_region:
    description:
      - Region. Falls back to E(AWS_REGION), E(AWS_DEFAULT_REGION) or E(EC2_REGION).
    type: str
    default: us-east-1
    aliases: [region, ec2_region]
  aws_profile:
    description:
      - A named profile of the AWS configuration files. Falls back to E(AWS_PROFILE) or E(AWS_DEFAULT_PROFILE).
    type: str
    aliases: [profile]
  aws_ca_bundle:
    description:
      - CA bundle to verify the endpoint's certificate with. Falls back to E(AWS_CA_BUNDLE).
    type: path
  aws_timeout:
    description:
      - Read timeout of one API call, in seconds.
    type: float
    default: 60.0
requirements:
  - boto3
notes:
  - Options can be set once with C(module_defaults) and the action group C(group/golive.core.s3).
  - amazon.aws's option names (C(access_key), C(secret_key), C(session_token), C(region), C(profile),
    C(endpoint_url), C(aws_ca_bundle)) and environment variables are accepted, so a C(module_defaults)
    block or an AWX credential written for amazon.aws works unchanged.
"""

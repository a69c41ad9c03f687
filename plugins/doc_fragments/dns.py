# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    DOCUMENTATION = r"""
options:
  dns_server:
    description:
      - Address of the authoritative server that takes RFC 2136 updates (the primary).
    type: str
  dns_port:
    description:
      - Port of O(dns_server).
    type: int
    default: 53
  dns_zone:
    description:
      - The zone, for example V(example.com.).
    type: str
  tsig_key_name:
    description:
      - Name of the TSIG key that signs updates.
    type: str
  tsig_key_secret:
    description:
      - Base64 secret of the TSIG key. Falls back to E(GOLIVE_TSIG_SECRET). Never logged nor returned.
    type: str
  tsig_key_algorithm:
    description:
      - Algorithm of the TSIG key.
    type: str
    default: hmac-sha256
    choices: [hmac-md5, hmac-sha1, hmac-sha224, hmac-sha256, hmac-sha384, hmac-sha512]
requirements:
  - dnspython
notes:
  - Options can be set once with C(module_defaults) and the action group C(group/golive.core.dns).
"""

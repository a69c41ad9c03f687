# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    DOCUMENTATION = r"""
options:
  redis_host:
    description:
      - Host of the Redis server, when it is addressed directly.
      - Ignored when O(redis_sentinels) is set. Falls back to E(REDIS_HOST).
    type: str
  redis_port:
    description:
      - Port of the Redis server. Falls back to E(REDIS_PORT).
    type: int
    default: 6379
  redis_username:
    description:
      - ACL user name (Redis 6+). Leave unset for the default user.
    type: str
  redis_password:
    description:
      - Password of the Redis server (C(requirepass) or the ACL user's).
      - Falls back to E(REDIS_PASSWORD). Never logged nor returned.
    type: str
  redis_db:
    description:
      - Logical database number.
    type: int
    default: 0
  redis_sentinels:
    description:
      - Sentinels to discover the current master from. When set, the master named
        O(redis_master_name) is used instead of O(redis_host).
    type: list
    elements: dict
    suboptions:
      host:
        description: Host of the Sentinel.
        type: str
        required: true
      port:
        description: Port of the Sentinel.
        type: int
        default: 26379
  redis_master_name:
    description:
      - Name under which the Sentinels monitor the master.
    type: str
    default: mymaster
  redis_sentinel_password:
    description:
      - Password of the Sentinels, when they require one. Falls back to E(REDIS_SENTINEL_PASSWORD).
    type: str
  redis_tls:
    description:
      - Connect with TLS.
    type: bool
    default: false
  redis_ca_cert:
    description:
      - CA certificate file to verify the server with, when O(redis_tls=true).
    type: path
  redis_timeout:
    description:
      - Socket connect and read timeout, in seconds.
    type: float
    default: 5.0
requirements:
  - redis (redis-py)
notes:
  - Connection options can be set once with C(module_defaults) and the action group
    C(group/golive.core.redis).
"""

# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    DOCUMENTATION = r"""
options:
  login_host:
    description:
      - Host of the PostgreSQL server (or of PgBouncer in front of it).
      - Falls back to the E(PGHOST) environment variable.
    type: str
    default: localhost
  login_port:
    description:
      - TCP port of the server. Falls back to E(PGPORT).
    type: int
    default: 5432
  login_user:
    description:
      - Role to connect as. Falls back to E(PGUSER).
    type: str
    default: postgres
  login_password:
    description:
      - Password of O(login_user). Falls back to E(PGPASSWORD).
      - Never logged nor returned.
    type: str
  login_db:
    description:
      - Database to connect to. Falls back to E(PGDATABASE).
    type: str
    default: postgres
  ssl_mode:
    description:
      - libpq C(sslmode) of the connection.
    type: str
    default: prefer
    choices: [disable, allow, prefer, require, verify-ca, verify-full]
  ca_cert:
    description:
      - CA certificate file to verify the server with (C(sslrootcert)).
    type: path
  connect_timeout:
    description:
      - Seconds to wait for the connection to be established.
    type: int
    default: 10
requirements:
  - psycopg2 (or psycopg2-binary)
notes:
  - Connection options can be set once for every module of the collection that talks to
    PostgreSQL with C(module_defaults) and the action group C(group/golive.core.postgres).
"""

# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PostgreSQL connections (psycopg2) with errors mapped onto the collection's tree."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re


from ansible_collections.golive.core.plugins.module_utils.common.errors import (
    AuthenticationFailed,
    BackendError,
    ConnectionFailed,
    NotFound,
    describe_exception,
)
from ansible_collections.golive.core.plugins.module_utils.common.options import env_fallback

try:
    import psycopg2
    import psycopg2.extensions
    HAS_PSYCOPG2 = True
    PSYCOPG2_IMPORT_ERROR = None
except ImportError:  # pragma: no cover - reported by the module entry point
    import traceback
    HAS_PSYCOPG2 = False
    PSYCOPG2_IMPORT_ERROR = traceback.format_exc()


CONNECTION_KEYS = ("login_host", "login_port", "login_user", "login_password", "login_db",
                   "ssl_mode", "ca_cert", "connect_timeout")


def describe_target(params):
    return "PostgreSQL at %s:%s (database %s, user %s)" % (
        params.get("login_host") or "localhost", params.get("login_port") or 5432,
        params.get("login_db") or "postgres", params.get("login_user") or "postgres")


_LIBPQ_PREFIX = re.compile(r'^(connection to server (at|on) .*? failed:\s*)?((FATAL|ERROR):\s+)?')


def classify(exc, params, verb="connect to"):
    """Turn a psycopg2 error into a GoliveError naming the cause and the fix."""
    text = _LIBPQ_PREFIX.sub("", describe_exception(exc)) or describe_exception(exc)
    target = describe_target(params)
    lowered = text.lower()
    if "password authentication failed" in lowered or "no password supplied" in lowered \
            or "authentication failed" in lowered:
        return AuthenticationFailed(
            verb, target, text,
            fix="Check login_user and login_password (or PGUSER/PGPASSWORD)")
    if "does not exist" in lowered and "database" in lowered:
        return NotFound(verb, target, text, fix="Check login_db")
    if any(marker in lowered for marker in (
            "could not connect", "connection refused", "timeout expired", "could not translate host",
            "server closed the connection", "no route to host", "the database system is starting up",
            "the database system is shutting down", "terminating connection")):
        return ConnectionFailed(verb, target, text,
                                fix="Check login_host/login_port and that the server is running")
    return BackendError(verb, target, text)


def libpq_settings(params, dbname=None):
    """libpq's connection keywords from the collection's ``login_*`` options: the one
    mapping behind :func:`connect` (psycopg2) and the ``PG*`` environment of the tools."""
    settings = {
        "host": str(params.get("login_host") or "localhost"),
        "port": int(params.get("login_port") or 5432),
        "user": str(params.get("login_user") or "postgres"),
        "dbname": str(dbname or params.get("login_db") or "postgres"),
        "connect_timeout": int(params.get("connect_timeout") or 10),
    }
    for option, keyword in (("login_password", "password"), ("ssl_mode", "sslmode"), ("ca_cert", "sslrootcert")):
        if params.get(option):
            settings[keyword] = params[option]
    return settings


def connect(params, autocommit=True, application_name="golive.core"):
    """Open a connection from the collection's ``login_*`` options."""
    try:
        conn = psycopg2.connect(application_name=application_name, **libpq_settings(params))
    except psycopg2.Error as exc:
        raise classify(exc, params)
    conn.autocommit = autocommit
    return conn


def pgbouncer_params(options):
    """``login_*`` options for PgBouncer's admin console from a module's ``pgbouncer`` option."""
    return {"login_host": options.get("host"), "login_port": options.get("port") or 6432,
            "login_user": options.get("user"), "login_password": options.get("password"),
            "login_db": "pgbouncer", "ssl_mode": options.get("ssl_mode") or "disable",
            "connect_timeout": options.get("connect_timeout") or 5}


def query(conn, sql, args=None):
    """Run one statement and return its rows as dicts (``[]`` when it returns none)."""
    with conn.cursor() as cur:
        cur.execute(sql, args)
        if cur.description is None:
            return []
        names = [col.name for col in cur.description]
        return [dict(zip(names, row)) for row in cur.fetchall()]


def quote_ident(name):
    """Quote an identifier (database, schema, table or column name) for SQL text."""
    return '"%s"' % str(name).replace('"', '""')


def quote_qualified(name):
    """Quote ``schema.table`` (or ``table``) given as one string; ``"a.b".c`` is not split."""
    if '"' in name:
        return name
    return ".".join(quote_ident(part) for part in name.split("."))


def argument_spec():
    """Connection options shared by every PostgreSQL module (see doc fragment ``postgres``)."""
    return dict(
        login_host=dict(type="str", default="localhost", fallback=(env_fallback, ["PGHOST"])),
        login_port=dict(type="int", default=5432, fallback=(env_fallback, ["PGPORT"])),
        login_user=dict(type="str", default="postgres", fallback=(env_fallback, ["PGUSER"])),
        login_password=dict(type="str", no_log=True, fallback=(env_fallback, ["PGPASSWORD"])),
        login_db=dict(type="str", default="postgres", fallback=(env_fallback, ["PGDATABASE"])),
        ssl_mode=dict(type="str", default="prefer",
                      choices=["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]),
        ca_cert=dict(type="path"),
        connect_timeout=dict(type="int", default=10),
    )


def pgbouncer_argument_spec(**extra):
    """The ``pgbouncer`` option (PgBouncer's admin console) of the modules that use it,
    with any options of their own added."""
    options = dict(host=dict(type="str"), port=dict(type="int", default=6432), user=dict(type="str"),
                   password=dict(type="str", no_log=True))
    options.update(extra)
    return dict(type="dict", options=options)

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
from ansible_collections.golive.core.plugins.module_utils.common.settings import Settings

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


class PgServer(Settings):
    """Where and as whom to connect to PostgreSQL, from the collection's ``login_*`` options."""

    FIELDS = (("host", "login_host", "localhost"), ("port", "login_port", 5432),
              ("user", "login_user", "postgres"), ("password", "login_password", None),
              ("dbname", "login_db", "postgres"), ("ssl_mode", "ssl_mode", None),
              ("ca_cert", "ca_cert", None), ("connect_timeout", "connect_timeout", 10))
    SECRETS = ("password",)

    def on(self, dbname):
        """The same server and role, connected to database ``dbname``."""
        return self.replace(dbname=dbname)

    def describe(self):
        return "PostgreSQL at %s:%s (database %s, user %s)" % (self.host, self.port, self.dbname, self.user)

    def libpq(self, dbname=None):
        """libpq's connection keywords: the one mapping behind :func:`connect` (psycopg2)
        and the ``PG*`` environment of the tools."""
        settings = {"host": str(self.host), "port": int(self.port), "user": str(self.user),
                    "dbname": str(dbname or self.dbname), "connect_timeout": int(self.connect_timeout)}
        for name, keyword in (("password", "password"), ("ssl_mode", "sslmode"), ("ca_cert", "sslrootcert")):
            if getattr(self, name):
                settings[keyword] = getattr(self, name)
        return settings

    @classmethod
    def pgbouncer(cls, options):
        """PgBouncer's admin console from a module's ``pgbouncer`` option."""
        return cls(host=options.get("host"), port=options.get("port") or 6432, user=options.get("user"),
                   password=options.get("password"), dbname="pgbouncer",
                   ssl_mode=options.get("ssl_mode") or "disable",
                   connect_timeout=options.get("connect_timeout") or 5)


_LIBPQ_PREFIX = re.compile(r'^(connection to server (at|on) .*? failed:\s*)?((FATAL|ERROR):\s+)?')


def classify(exc, target, verb="connect to"):
    """Turn a psycopg2 error on ``target`` (a :class:`PgServer`) into a GoliveError naming
    the cause and the fix."""
    text = _LIBPQ_PREFIX.sub("", describe_exception(exc)) or describe_exception(exc)
    target = target.describe()
    lowered = text.lower()
    if "password authentication failed" in lowered or "no password supplied" in lowered \
            or "authentication failed" in lowered:
        return AuthenticationFailed(
            verb, target, text,
            fix="Check login_user and login_password (or PGUSER/PGPASSWORD)")
    if "pg_hba.conf" in lowered and "no encryption" in lowered or "ssl required" in lowered:
        return AuthenticationFailed(
            verb, target, text,
            fix="The server refuses this role without TLS: set ssl_mode to require, verify-ca or verify-full "
                "(verify-* with ca_cert)")
    if "login rejected" in lowered:  # PgBouncer's HBA rules (auth_type = hba)
        return AuthenticationFailed(
            verb, target, text,
            fix="PgBouncer's HBA rules refuse this login: a role allowed only over TLS (hostssl) needs ssl_mode "
                "require, verify-ca or verify-full (verify-* with ca_cert); otherwise check login_user and the "
                "address it connects from")
    if "server does not support ssl" in lowered:
        return AuthenticationFailed(
            verb, target, text,
            fix="The server does not offer TLS: enable it on the server, or set ssl_mode to prefer or disable")
    if "certificate verify failed" in lowered or "root certificate file" in lowered:
        return AuthenticationFailed(
            verb, target, text,
            fix="Check ca_cert: the CA that signed the server's certificate (ssl_mode verify-ca or verify-full)")
    if "does not exist" in lowered and "database" in lowered:
        return NotFound(verb, target, text, fix="Check login_db")
    if any(marker in lowered for marker in (
            "could not connect", "connection refused", "timeout expired", "could not translate host",
            "server closed the connection", "no route to host", "the database system is starting up",
            "the database system is shutting down", "terminating connection")):
        return ConnectionFailed(verb, target, text,
                                fix="Check login_host/login_port and that the server is running")
    return BackendError(verb, target, text)


def connect(target, autocommit=True, application_name="golive.core"):
    """Open a connection to ``target`` (a :class:`PgServer`)."""
    try:
        conn = psycopg2.connect(application_name=application_name, **target.libpq())
    except psycopg2.Error as exc:
        raise classify(exc, target)
    conn.autocommit = autocommit
    return conn


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

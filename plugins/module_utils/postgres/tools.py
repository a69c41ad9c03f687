# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PostgreSQL's client tools (pg_dump, pg_restore): where they are, the environment they
get (the password in it, never on a command line), and their output as a reader."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil

from ansible_collections.golive.core.plugins.module_utils.common.errors import BackendError, InvalidInput


_LIBPQ_ENV = {"host": "PGHOST", "port": "PGPORT", "user": "PGUSER", "dbname": "PGDATABASE",
              "connect_timeout": "PGCONNECT_TIMEOUT", "password": "PGPASSWORD", "sslmode": "PGSSLMODE",
              "sslrootcert": "PGSSLROOTCERT"}


def libpq_env(server, dbname=None):
    """Environment for libpq tools: the password goes here, never on a command line."""
    env = dict((k, v) for k, v in os.environ.items() if not k.startswith("PG"))
    env.update((_LIBPQ_ENV[key], str(value)) for key, value in server.libpq(dbname).items())
    env["PGAPPNAME"] = "golive.core"
    return env


def find_tool(name, bindir=None, server_major=None):
    """Path of a PostgreSQL client tool: ``bindir``, the server's major version, or PATH."""
    candidates = []
    if bindir:
        candidates.append(os.path.join(bindir, name))
    if server_major:
        candidates.append("/usr/lib/postgresql/%s/bin/%s" % (server_major, name))
    for path in candidates:
        if os.access(path, os.X_OK):
            return path
    if bindir:
        raise InvalidInput("find", name, "%s is not an executable" % candidates[0],
                           fix="Set bindir to the directory of the PostgreSQL client tools")
    found = shutil.which(name)
    if not found:
        raise InvalidInput("find", name, "not in PATH",
                           fix="Install the PostgreSQL client tools or set bindir")
    return found


def _tail(path, limit=600):
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - limit))
            text = handle.read().decode("utf-8", "replace")
    except OSError:
        return ""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return "; ".join(lines[-3:])


class ProcessReader:
    """A process's stdout as a reader that raises at EOF when the process failed,
    so an upload fed by it is aborted instead of completed with a truncated dump."""

    def __init__(self, proc, what, stderr_path):
        self.proc = proc
        self.what = what
        self.stderr_path = stderr_path

    def read(self, size):
        # Unbuffered reads straight from the pipe: whatever is there, up to 1 MiB.
        data = os.read(self.proc.stdout.fileno(), min(size, 1 << 20))
        if not data:
            code = self.proc.wait()
            if code != 0:
                raise BackendError("run", self.what, "exited with code %s: %s" % (
                    code, _tail(self.stderr_path) or "no message"))
        return data

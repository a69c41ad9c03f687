# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A throw-away ``redis-server`` on 127.0.0.1 and a free port, in its own directory.

Used to prove that a snapshot loads: put the RDB file in place, start the server with
persistence off, read ``INFO keyspace``, stop it and delete the directory, also when
something fails on the way. A snapshot that does not load makes the server exit; that
is reported as :class:`ScratchLoadFailed` with the end of the server's log.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from ansible_collections.golive.core.plugins.module_utils.common.errors import BackendError, describe_exception

try:
    import redis
except ImportError:  # pragma: no cover - reported by the module entry point
    redis = None


class ScratchLoadFailed(Exception):
    """The scratch server exited or never became ready; ``log`` holds its last lines."""

    def __init__(self, cause, log):
        self.cause = cause
        self.log = log
        super(ScratchLoadFailed, self).__init__(cause)


def free_port(host="127.0.0.1"):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind((host, 0))
        return sock.getsockname()[1]
    finally:
        sock.close()


def find_server(binary="redis-server"):
    path = binary if os.path.sep in binary else shutil.which(binary)
    if not path or not os.access(path, os.X_OK):
        raise BackendError("find", "the %s program" % binary, "it is not installed on this node",
                           fix="Install redis-server where the task runs, or set redis_server_path")
    return path


def parse_keyspace(info):
    """``{"db0": {"keys": n, "expires": m}}`` from a parsed ``INFO keyspace``."""
    out = {}
    for name, value in (info or {}).items():
        if name.startswith("db") and isinstance(value, dict):
            out[name] = {"keys": int(value.get("keys", 0)), "expires": int(value.get("expires", 0))}
    return out


class ScratchServer:
    """``with ScratchServer(rdb_path) as server: server.client().info("keyspace")``.

    ``password`` defaults to a random one written to a config file (mode 0600), never
    to the command line; ``password=""`` starts a server without one. ``settings``
    adds configuration lines (for example ``{"appendonly": "no"}``).
    """

    def __init__(self, rdb_path=None, binary="redis-server", password=None, settings=None,
                 workdir=None, timeout=60.0):
        self.binary = find_server(binary)
        self.rdb_path = rdb_path
        self.password = os.urandom(16).hex() if password is None else password
        self.settings = dict(settings or {})
        self.timeout = timeout
        self.dir = tempfile.mkdtemp(prefix="golive-redis-scratch-", dir=workdir)
        self.port = None
        self.proc = None
        self.log_path = os.path.join(self.dir, "redis.log")

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.cleanup()
            raise
        return self

    def __exit__(self, *exc_info):
        self.cleanup()

    def log_tail(self, lines=6):
        try:
            with open(self.log_path, "rb") as handle:
                text = handle.read()[-4000:].decode("utf-8", "replace")
        except OSError:
            return ""
        kept = [line.strip() for line in text.splitlines() if line.strip() and "overcommit" not in line]
        return "\n".join(kept[-lines:])

    def _config(self):
        lines = ["logfile %s" % self.log_path, "daemonize no", "protected-mode yes"]
        if self.password:
            lines.append("requirepass %s" % self.password)
        for name, value in sorted(self.settings.items()):
            lines.append("%s %s" % (name, value if value != "" else '""'))
        path = os.path.join(self.dir, "scratch.conf")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write("\n".join(lines) + "\n")
        return path

    def start(self):
        if self.rdb_path and os.path.abspath(self.rdb_path) != os.path.join(self.dir, "dump.rdb"):
            shutil.copyfile(self.rdb_path, os.path.join(self.dir, "dump.rdb"))
        conf = self._config()
        for _attempt in range(3):
            self.port = free_port()
            argv = [self.binary, conf, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.dir,
                    "--dbfilename", "dump.rdb"]
            if "appendonly" not in self.settings:
                argv += ["--appendonly", "no"]
            if "save" not in self.settings:
                argv += ["--save", ""]
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.STDOUT, close_fds=True, cwd=self.dir)
            try:
                self._wait_ready()
                return self
            except ScratchLoadFailed:
                if "Address already in use" not in self.log_tail(20):
                    raise
                self._stop_process()
        raise ScratchLoadFailed("no free port", self.log_tail())

    def client(self):
        return redis.Redis(host="127.0.0.1", port=self.port, password=self.password or None,
                           socket_timeout=10, socket_connect_timeout=5, decode_responses=True)

    def _wait_ready(self):
        until = time.monotonic() + self.timeout
        last = None
        while time.monotonic() < until:
            code = self.proc.poll()
            if code is not None:
                raise ScratchLoadFailed("redis-server exited with code %d" % code, self.log_tail())
            try:
                if str(self.client().info("persistence").get("loading")) == "0":
                    return
            except redis.RedisError as exc:
                last = describe_exception(exc)
            time.sleep(0.05)
        raise ScratchLoadFailed("redis-server was not ready after %.0fs (%s)" % (self.timeout, last),
                                self.log_tail())

    def keyspace(self):
        return parse_keyspace(self.client().info("keyspace"))

    def _stop_process(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            self.client().shutdown(nosave=True)
        except redis.RedisError:
            pass
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(5)

    def cleanup(self):
        try:
            self._stop_process()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

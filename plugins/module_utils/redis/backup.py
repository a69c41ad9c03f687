# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Redis backups: save, copy the snapshot over the replication protocol, store, verify.

1. ``BGSAVE`` and wait for it by polling ``INFO persistence`` (the server never blocks).
2. Copy a snapshot off the server over the protocol, as a replica's first sync does:
   authenticate, ``REPLCONF rdb-only 1``, ``SYNC``, then read the ``$<length>`` bulk
   payload (or the ``$EOF:<mark>`` form of a diskless sync). No access to the Redis
   host's file system is needed.
3. Stream it to the bucket (``storage/s3.py``), hashing it and counting keys per
   database on the way (``rdb.KeyCounter``).
4. Verify: download it, check size and sha256, load it into a scratch ``redis-server``
   and compare its key counts with the counts taken from the stream.
5. Only then write the manifest, so an unverified snapshot is never "the latest backup".

Steps 1-4 are this system's engine for the shared backup runner (``storage/runner.py``),
which owns labels, reuse, ids, the manifest and retention.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import socket
import ssl
import time

from ansible_collections.golive.core.plugins.module_utils.common import clock
from ansible_collections.golive.core.plugins.module_utils.common.checks import check
from ansible_collections.golive.core.plugins.module_utils.common.errors import (
    AuthenticationFailed,
    BackendError,
    ConnectionFailed,
    NotFound,
    PreconditionFailed,
    VerificationFailed,
    describe_exception,
)
from ansible_collections.golive.core.plugins.module_utils.common.journal import NoJournal
from ansible_collections.golive.core.plugins.module_utils.common.retry import Deadline, wait_until
from ansible_collections.golive.core.plugins.module_utils.redis import connection as rds
from ansible_collections.golive.core.plugins.module_utils.redis import rdb
from ansible_collections.golive.core.plugins.module_utils.redis import scratch
from ansible_collections.golive.core.plugins.module_utils.storage import catalog
from ansible_collections.golive.core.plugins.module_utils.storage import runner
from ansible_collections.golive.core.plugins.module_utils.storage import s3

KIND = "redis-rdb"
DEFAULT_PREFIX = "redis"
DUMP_NAME = "dump.rdb"
CHECKLIST_BACKUP = "Backup strategy validated"
CHECKLIST_PROCEDURE = "Validate backup procedures"
EOF_MARK_LENGTH = 40


# ---------------------------------------------------------------------------
# The snapshot, over the replication protocol
# ---------------------------------------------------------------------------

def _command(*args):
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = arg if isinstance(arg, bytes) else str(arg).encode("utf-8")
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


class SnapshotStream:
    """A file-like ``read(n)`` over the RDB payload a server sends after ``SYNC``.

    ``counter`` (a ``rdb.KeyCounter``) sees every byte. ``complete`` is true once the
    whole payload arrived; a connection that ends before raises ``ConnectionFailed``.
    """

    def __init__(self, sock, target, counter=None, chunk_size=1 << 20):
        self.sock = sock
        self.target = target
        self.counter = counter
        self.chunk_size = chunk_size
        self.remaining = None
        self.eof_mark = None
        self.complete = False
        self.size = 0
        self._inbuf = b""
        self._pending = b""

    # -- raw socket helpers ----------------------------------------------------------
    def _recv(self):
        try:
            data = self.sock.recv(self.chunk_size)
        except (OSError, socket.timeout) as exc:
            raise ConnectionFailed("read", "the snapshot from %s" % self.target, describe_exception(exc),
                                   retryable=False)
        if not data:
            raise ConnectionFailed("read", "the snapshot from %s" % self.target,
                                   "the server closed the connection after %d bytes" % self.size,
                                   retryable=False)
        return data

    def readline(self):
        while b"\n" not in self._inbuf:
            self._inbuf += self._recv()
        line, self._inbuf = self._inbuf.split(b"\n", 1)
        return line.rstrip(b"\r")

    def start(self, timeout_deadline=None):
        """Read the payload header, skipping the newlines a master sends while it saves."""
        while True:
            if timeout_deadline is not None and timeout_deadline.expired():
                raise ConnectionFailed("read", "the snapshot from %s" % self.target,
                                       "no payload header before the deadline", retryable=False)
            line = self.readline()
            if not line:
                continue
            if line.startswith(b"-"):
                raise BackendError("copy", "the snapshot from %s" % self.target,
                                   line[1:].decode("utf-8", "replace"))
            if line.startswith(b"$EOF:"):
                self.eof_mark = line[5:]
                if len(self.eof_mark) != EOF_MARK_LENGTH:
                    raise BackendError("copy", "the snapshot from %s" % self.target, "malformed EOF marker")
                return self
            if line.startswith(b"$"):
                self.remaining = int(line[1:])
                self.complete = self.remaining == 0
                return self
            if line.startswith(b"+"):
                continue  # e.g. +FULLRESYNC from PSYNC
            raise BackendError("copy", "the snapshot from %s" % self.target,
                               "unexpected reply %r" % line[:60])

    def read(self, size=-1):
        if self.complete:
            return b""
        size = self.chunk_size if size is None or size < 0 else size
        if self.eof_mark is None:
            if not self._inbuf:
                self._inbuf = self._recv()
            take = min(size, self.remaining, len(self._inbuf))
            data, self._inbuf = self._inbuf[:take], self._inbuf[take:]
            self.remaining -= take
            self.complete = self.remaining == 0
        else:
            data = self._read_until_mark(size)
        self.size += len(data)
        if self.counter is not None:
            self.counter.feed(data)
        if self.complete and self.counter is not None and not self.counter.done and not self.counter.error:
            raise BackendError("copy", "the snapshot from %s" % self.target,
                               "the payload ended before the RDB end marker (%d bytes)" % self.size)
        return data

    def _read_until_mark(self, size):
        # Hold back the last EOF_MARK_LENGTH bytes until we know they are not the mark.
        while True:
            buf = self._pending + self._inbuf
            self._inbuf = b""
            if buf.endswith(self.eof_mark):
                self._pending = b""
                self.complete = True
                return buf[:-EOF_MARK_LENGTH]
            if len(buf) > EOF_MARK_LENGTH:
                give = min(size, len(buf) - EOF_MARK_LENGTH)
                self._pending = buf[give:]
                return buf[:give]
            self._pending = buf
            self._inbuf = self._recv()


def open_snapshot(server, address, counter, deadline):
    """Connect to ``address``, authenticate and ask for a snapshot; return a started stream."""
    host, port = address.rsplit(":", 1)
    timeout = float(server.timeout or 5)
    target = "Redis at %s" % address
    try:
        sock = socket.create_connection((host, int(port)), timeout=timeout)
        if server.tls:
            context = ssl.create_default_context(cafile=server.ca_cert or None)
            sock = context.wrap_socket(sock, server_hostname=host)
    except (OSError, socket.timeout) as exc:
        raise ConnectionFailed("connect to", target, describe_exception(exc),
                               fix="Check the host/port and that the server is running")
    stream = SnapshotStream(sock, target, counter)
    try:
        if server.password:
            args = ["AUTH"] + ([server.username] if server.username else [])
            sock.sendall(_command(*(args + [server.password])))
            answer = stream.readline()
            if not answer.startswith(b"+"):
                raise AuthenticationFailed("authenticate to", target, answer[1:].decode("utf-8", "replace"),
                                           fix="Check redis_password (or REDIS_PASSWORD)")
        sock.sendall(_command("REPLCONF", "rdb-only", "1"))
        stream.readline()  # +OK, or -ERR on servers before 7.0: a plain SYNC then still works
        sock.sendall(_command("SYNC"))
        # Saving may take longer than one read timeout; the server sends newlines meanwhile.
        sock.settimeout(max(timeout, 30.0))
        return stream.start(deadline)
    except BaseException:
        sock.close()
        raise


# ---------------------------------------------------------------------------
# Save
# ---------------------------------------------------------------------------

def trigger_save(client, deadline):
    """``BGSAVE`` (scheduled when a rewrite runs) and wait until it finished; return evidence."""
    started = int(time.time())
    before = client.info("persistence")
    try:
        answer = client.bgsave()
    except rds.redis.ResponseError as exc:
        text = describe_exception(exc)
        if "already in progress" in text:
            answer = "a save was already running"
        elif "rewriting in progress" in text or "rewrite" in text:
            answer = client.bgsave(schedule=True)
        else:
            raise
    answer = answer if isinstance(answer, str) else "Background saving started"

    def finished():
        info = client.info("persistence")
        done = int(info.get("rdb_bgsave_in_progress", 0)) == 0 and \
            int(info.get("rdb_last_save_time", 0)) >= started
        return done, {"rdb_bgsave_in_progress": info.get("rdb_bgsave_in_progress"),
                      "rdb_last_save_time": info.get("rdb_last_save_time"),
                      "rdb_last_bgsave_status": info.get("rdb_last_bgsave_status")}

    observed = wait_until(finished, deadline, "the background save to finish", interval=0.1, maximum=1.0)
    if observed.get("rdb_last_bgsave_status") != "ok":
        raise BackendError("save", "a snapshot", "rdb_last_bgsave_status is %s"
                           % observed.get("rdb_last_bgsave_status"), fix="Check the server's log and disk")
    return {"answer": answer, "previous_save_time": before.get("rdb_last_save_time"),
            "last_save_time": observed.get("rdb_last_save_time")}


# ---------------------------------------------------------------------------
# Verification
# ---------------------------------------------------------------------------

def compare_keyspace(expected, observed):
    """Differences between manifest counts and a loaded server's counts (pure).

    Keys with a TTL may expire between the snapshot and the load, so a database with
    ``expires`` may hold up to that many keys fewer; anything else must match exactly.
    """
    problems = []
    for db in sorted(set(expected) | set(observed)):
        want = expected.get(db, {"keys": 0, "expires": 0})
        got = observed.get(db, {"keys": 0, "expires": 0})
        low = want["keys"] - want.get("expires", 0)
        if not low <= got["keys"] <= want["keys"]:
            problems.append("%s holds %d keys, expected %d" % (db, got["keys"], want["keys"]))
    return problems


def verify_object(store, backup_id, obj, keyspace, server_binary="redis-server", workdir=None):
    """Download one snapshot, check it and load it into a scratch server; return checks.

    The snapshot is downloaded straight into the scratch server's directory, which is
    deleted afterwards, also when something fails.
    """
    server = scratch.ScratchServer(binary=server_binary, workdir=workdir)
    checks = []
    try:
        with open(os.path.join(server.dir, DUMP_NAME), "wb") as handle:
            got = s3.download_stream(store.client, store.bucket, obj["key"], handle)
        same = got["size"] == obj["size"] and got["sha256"] == obj["sha256"]
        checks.append(check("redis.backup.integrity", "The stored snapshot has the manifest's size and sha256",
                            same, {"backup_id": backup_id, "key": obj["key"], "size": got["size"],
                                   "expected_size": obj["size"], "sha256": got["sha256"],
                                   "expected_sha256": obj["sha256"]}, CHECKLIST_BACKUP))
        started = time.monotonic()
        try:
            server.start()
        except scratch.ScratchLoadFailed as exc:
            checks.append(check("redis.backup.load", "The snapshot loads into a scratch redis-server", False,
                                {"backup_id": backup_id, "cause": exc.cause, "log": exc.log}, CHECKLIST_PROCEDURE))
            return checks
        loaded = server.keyspace()
        checks.append(check("redis.backup.load", "The snapshot loads into a scratch redis-server", True,
                            {"backup_id": backup_id, "port": server.port,
                             "load_seconds": round(time.monotonic() - started, 3)}, CHECKLIST_PROCEDURE))
        problems = compare_keyspace(keyspace, loaded)
        checks.append(check("redis.backup.keys", "The restored key counts match the manifest", not problems,
                            {"backup_id": backup_id, "expected": keyspace, "restored": loaded,
                             "differences": problems}, CHECKLIST_PROCEDURE))
        return checks
    except rds.redis.RedisError as exc:
        raise BackendError("read", "the key counts of the scratch server loaded from backup %s" % backup_id,
                           describe_exception(exc))
    finally:
        server.cleanup()


def _raise_if_failed(checks, backup_id, result):
    bad = [c for c in checks if c["status"] == "fail"]
    if bad:
        causes = []
        for item in bad:
            ev = item["evidence"]
            if item["id"] == "redis.backup.integrity":
                causes.append("stored object is %s bytes with sha256 %s, the manifest says %s bytes with %s" % (
                    ev["size"], ev["sha256"][:12], ev["expected_size"], ev["expected_sha256"][:12]))
            elif item["id"] == "redis.backup.load":
                last = (ev.get("log") or "").splitlines()[-1:] or [""]
                causes.append("redis-server refused to load it (%s: %s)" % (ev["cause"], last[0]))
            else:
                causes.append("; ".join(ev.get("differences", [])))
        raise VerificationFailed("verify", "Redis backup %s" % backup_id, "; ".join(causes),
                                 fix="Do not rely on this backup; take a new one", result=dict(result, checks=checks))


# ---------------------------------------------------------------------------
# Services
# ---------------------------------------------------------------------------

def _source_address(client, address, source):
    if source == "master":
        return address
    for replica in rds.replica_entries(client.info("replication")):
        if replica["state"] == "online":
            return replica["address"]
    raise PreconditionFailed("choose", "a replica to copy the snapshot from",
                             "the master %s has no online replica" % address, fix="Use source=master")


def summarize_manifest(manifest):
    dump = manifest["objects"][DUMP_NAME]
    return {"id": manifest["id"], "label": manifest["label"], "release": manifest.get("release"),
            "created_at": manifest["created_at"], "completed_at": manifest.get("completed_at"),
            "key": dump["key"], "size": dump["size"], "sha256": dump["sha256"],
            "redis_version": manifest.get("redis_version"), "keyspace": manifest.get("keyspace"),
            "source": manifest.get("source")}


def identity(server, environment=None):
    """The identity of a Redis master's backups: its Sentinel name, else ``host:port``."""
    if server.sentinels:
        source = server.master_name
    else:
        source = "%s:%s" % (server.host or "localhost", int(server.port or 6379))
    return catalog.Identity(KIND, source, environment)


class SnapshotEngine:
    """``BGSAVE``, the snapshot copied over the protocol and streamed up, verified in a
    scratch server before the runner writes the manifest."""

    kind = KIND
    summarize = staticmethod(summarize_manifest)

    def __init__(self, server, store, source="master", verify=True, server_binary="redis-server",
                 timeout=3600, part_size=s3.DEFAULT_PART_SIZE):
        self.server = server
        self.store = store
        self.source = source
        self.verify = verify
        self.server_binary = server_binary
        self.timeout = timeout
        self.part_size = part_size

    def _locate(self):
        client, address = rds.connect(self.server)
        return client, address, _source_address(client, address, self.source)

    def describe(self):
        _client, address, snapshot_from = self._locate()
        return "save %s, copy its snapshot from %s and verify it" % (address, snapshot_from)

    def produce(self, upload, backup_id):
        deadline = Deadline(self.timeout)
        client, address, snapshot_from = self._locate()
        try:
            saved = trigger_save(rds.node(self.server, snapshot_from), deadline)
            server = client.info("server")
            info_keyspace = scratch.parse_keyspace(client.info("keyspace"))
        except rds.redis.RedisError as exc:
            raise rds.classify(exc, self.server, verb="save")
        counter = rdb.KeyCounter()
        stream = open_snapshot(self.server, snapshot_from, counter, deadline)
        try:
            obj = upload(DUMP_NAME, stream, self.part_size)
        finally:
            stream.sock.close()
        obj["format"] = "rdb"
        obj["rdb_version"] = counter.version
        keyspace = counter.keyspace if counter.done and not counter.error else info_keyspace
        extra = {
            "source": {"master": address, "snapshot_from": snapshot_from},
            "redis_version": server.get("redis_version"),
            "rdb_redis_version": counter.aux.get("redis-ver"),
            "keyspace": keyspace,
            "keyspace_source": "rdb" if keyspace is counter.keyspace else "info",
            "keyspace_note": counter.error,
            "save": saved,
        }
        checks = None
        if self.verify:
            checks = verify_object(self.store, backup_id, obj, keyspace, self.server_binary)
            _raise_if_failed(checks, backup_id, {"backup_id": backup_id, "checks": checks})
            extra["verification"] = {"verified_at": clock.format_time(clock.utcnow()),
                                     "checks": dict((c["id"], c["status"]) for c in checks)}
        return {"objects": {DUMP_NAME: obj}, "extra": extra, "checks": checks}


def verify(store, identity, backup_id=None, label=None, server_binary="redis-server"):
    """Verify a stored backup of ``identity`` (by id, else the newest with ``label``)."""
    manifest = store.find(identity, backup_id=backup_id, label=label)
    if DUMP_NAME not in manifest.get("objects", {}):
        raise NotFound("find", "the snapshot of backup %s" % manifest["id"], "its manifest lists no %s" % DUMP_NAME)
    result = runner.result(store, identity, SnapshotEngine, manifest, False)
    checks = verify_object(store, manifest["id"], manifest["objects"][DUMP_NAME], manifest.get("keyspace") or {},
                           server_binary)
    result["checks"] = checks
    _raise_if_failed(checks, manifest["id"], result)
    return result


def ensure(state, store, identity, engine, label=None, release=None, backup_id=None, if_exists="new",
           retention=None, check_mode=False, recorder=None):
    """``state=present``: take a backup (or reuse one), a ledger step with a ``recorder``;
    ``state=verified``: verify one."""
    if state == "verified":
        return verify(store, identity, backup_id, label, engine.server_binary)
    return runner.recorded_backup(recorder or NoJournal(), "golive.core.redis_backup", ["redis %s" % identity.source],
                                  store, identity, engine, label, release=release, if_exists=if_exists,
                                  retention=retention, check_mode=check_mode)


def store_from_params(params):
    """The backup store from the module's ``bucket``/``prefix``/identity options (the edge's settings)."""
    return catalog.store_from_params(params, DEFAULT_PREFIX)

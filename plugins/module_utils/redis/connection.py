# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Redis connections (redis-py): direct, or the current master found through Sentinel."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


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
    import redis
    import redis.backoff
    import redis.retry
    import redis.sentinel
    HAS_REDIS = True
    REDIS_IMPORT_ERROR = None
except ImportError:  # pragma: no cover - reported by the module entry point
    import traceback
    HAS_REDIS = False
    REDIS_IMPORT_ERROR = traceback.format_exc()


class RedisServer(Settings):
    """A Redis server (or the master a set of Sentinels names), from the ``redis_*`` options."""

    FIELDS = (("host", "redis_host", "localhost"), ("port", "redis_port", 6379),
              ("username", "redis_username", None), ("password", "redis_password", None),
              ("db", "redis_db", 0), ("sentinels", "redis_sentinels", ()),
              ("master_name", "redis_master_name", "mymaster"),
              ("sentinel_password", "redis_sentinel_password", None),
              ("tls", "redis_tls", False), ("ca_cert", "redis_ca_cert", None), ("timeout", "redis_timeout", 5.0))
    SECRETS = ("password", "sentinel_password")

    def __init__(self, **values):
        sentinels = values.get("sentinels") or ()
        values["sentinels"] = tuple((str(s["host"]), int(s.get("port") or 26379)) if isinstance(s, dict)
                                    else (str(s[0]), int(s[1])) for s in sentinels)
        super(RedisServer, self).__init__(**values)

    def describe(self):
        if self.sentinels:
            return "Redis master %r via Sentinels %s" % (
                self.master_name, ", ".join("%s:%s" % sentinel for sentinel in self.sentinels))
        return "Redis at %s:%s" % (self.host, self.port)


def classify(exc, server, verb="connect to"):
    """Turn a redis-py error on ``server`` (a :class:`RedisServer`) into a GoliveError."""
    text = describe_exception(exc)
    target = server.describe()
    lowered = text.lower()
    if isinstance(exc, redis.AuthenticationError) or "wrongpass" in lowered or "noauth" in lowered \
            or "invalid password" in lowered or "authentication required" in lowered:
        return AuthenticationFailed(verb, target, text,
                                    fix="Check redis_password (or REDIS_PASSWORD)")
    if isinstance(exc, redis.sentinel.MasterNotFoundError):
        return NotFound(verb, target, text,
                        fix="Check redis_master_name and that the Sentinels monitor it")
    if isinstance(exc, (redis.ConnectionError, redis.TimeoutError)):
        return ConnectionFailed(verb, target, text,
                                fix="Check the host/port and that the server is running")
    return BackendError(verb, target, text)


def _retry(probe):
    """A probe (is this node up, does it refuse strangers) asks once: a refusal is its
    answer, and redis-py's default policy (3 retries, backoff up to 10 s) would sit on it
    for seconds. Other connections retry twice within half a second."""
    if probe:
        return redis.retry.Retry(redis.backoff.NoBackoff(), 0)
    return redis.retry.Retry(redis.backoff.ExponentialBackoff(cap=0.5, base=0.05), 2)


def _socket_kwargs(server, password=None, probe=False):
    """Timeouts, TLS, retries and a password: what a connection to a server or a Sentinel needs."""
    kwargs = {
        "retry": _retry(probe),
        "socket_timeout": float(server.timeout or 5),
        "socket_connect_timeout": float(server.timeout or 5),
        "decode_responses": True,
    }
    if password:
        kwargs["password"] = password
    if server.tls:
        # Verified: the chain against redis_ca_cert (or the system's CAs) and the name.
        kwargs.update(ssl=True, ssl_cert_reqs="required", ssl_check_hostname=True)
        if server.ca_cert:
            kwargs["ssl_ca_certs"] = server.ca_cert
    return kwargs


def _client_kwargs(server):
    kwargs = _socket_kwargs(server, server.password)
    kwargs["db"] = int(server.db or 0)
    if server.username:
        kwargs["username"] = server.username
    return kwargs


def ask_sentinels(server, name=None):
    """What each configured Sentinel says of master ``name`` (default: redis_master_name):
    ``[{address, reachable, master ("host:port" or None), error}]``, one attempt each."""
    name = name or server.master_name
    answers = []
    for address, client in sentinel_nodes(server):
        answer = {"address": address, "reachable": False, "master": None, "error": None}
        try:
            found = client.sentinel_get_master_addr_by_name(name)
            answer["reachable"] = True
            answer["master"] = "%s:%s" % tuple(found) if found else None
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            answer["error"] = brief(exc)
            answer["reachable"] = isinstance(exc, redis.AuthenticationError)
        except redis.RedisError as exc:
            answer["reachable"] = True
            answer["error"] = brief(exc)
        answers.append(answer)
    return answers


def discovery_problem(answers, name):
    """Pure: why no master can be discovered from the Sentinels' ``answers`` (one line),
    or ``None`` when one can. Unreachable Sentinels and an unknown name read differently."""
    if any(a["master"] for a in answers):
        return None
    unreachable = [a for a in answers if not a["reachable"]]
    if len(unreachable) == len(answers):
        return ("no Sentinel answered (%s)" % "; ".join("%s: %s" % (a["address"], a["error"]) for a in answers),
                "Check redis_sentinels (hosts and ports) and that the Sentinels are running")
    refused = [a for a in answers if a["reachable"] and a["error"]]
    if refused:
        return ("the Sentinels refused the question (%s)" % "; ".join(
            "%s: %s" % (a["address"], a["error"]) for a in refused),
            "Check redis_sentinel_password (or REDIS_SENTINEL_PASSWORD)")
    asked = ", ".join(a["address"] for a in answers if a["reachable"])
    return ("no Sentinel monitors a master named %r (asked %s%s)" % (
        name, asked, "; unreachable: %s" % ", ".join(a["address"] for a in unreachable) if unreachable else ""),
        "Check redis_master_name")


def brief(exc):
    """One short line for a redis-py error (its text can embed whole connection objects)."""
    text = describe_exception(exc)
    return text if len(text) <= 160 else text[:157] + "..."


def connect(server):
    """A client for the master: via Sentinel discovery when Sentinels are given.

    Returns ``(client, address)``; the connection is checked with PING.
    """
    try:
        if server.sentinels:
            answers = ask_sentinels(server)
            problem = discovery_problem(answers, server.master_name)
            if problem:
                error = ConnectionFailed if all(not a["reachable"] for a in answers) else NotFound
                raise error("discover", server.describe(), problem[0], fix=problem[1])
            masters = [a["master"] for a in answers if a["master"]]
            host, port = max(set(masters), key=masters.count).rsplit(":", 1)
            client = redis.Redis(host=host, port=int(port), **_client_kwargs(server))
        else:
            host, port = server.host, int(server.port)
            client = redis.Redis(host=host, port=port, **_client_kwargs(server))
        client.ping()
    except redis.RedisError as exc:
        raise classify(exc, server)
    return client, "%s:%s" % (host, port)


def node(server, address):
    """A client for one node given as ``host:port`` (same credentials and TLS)."""
    host, port = address.rsplit(":", 1)
    return redis.Redis(host=host, port=int(port), **_client_kwargs(server))


def anonymous_node(server, address):
    """A client for one node that sends no credentials (to prove they are required)."""
    kwargs = _client_kwargs(server)
    kwargs["retry"] = _retry(probe=True)
    kwargs.pop("password", None)
    kwargs.pop("username", None)
    kwargs["protocol"] = 2  # a plain PING, so the refusal is the server's NOAUTH
    host, port = address.rsplit(":", 1)
    return redis.Redis(host=host, port=int(port), **kwargs)


def sentinel_nodes(server):
    """One client per configured Sentinel, as ``[(address, client)]``."""
    kwargs = _socket_kwargs(server, server.sentinel_password, probe=True)
    return [("%s:%s" % (host, port), redis.Redis(host=host, port=port, **kwargs))
            for host, port in server.sentinels]


def replica_entries(replication_info):
    """The replicas a master's ``INFO replication`` lists: ``[{address, state, offset, lag}]``.

    Connections that only copy a snapshot (``redis-cli --rdb``, backups) show up there
    with port 0 while they transfer; they are not replicas and are left out.
    """
    found = []
    index = 0
    while "slave%d" % index in replication_info:
        entry = replication_info["slave%d" % index]
        index += 1
        if not isinstance(entry, dict) or str(entry.get("port")) in ("0", "None"):
            continue
        found.append({"address": "%s:%s" % (entry.get("ip"), entry.get("port")), "state": entry.get("state"),
                      "offset": int(entry.get("offset", 0) or 0), "lag": entry.get("lag")})
    return found


def snapshot_transfers(replication_info):
    """How many snapshot-only connections (port 0) a master lists."""
    return sum(1 for key, entry in replication_info.items()
               if key.startswith("slave") and key[5:].isdigit() and isinstance(entry, dict)
               and str(entry.get("port")) == "0")


def replica_addresses(replication_info):
    """``host:port`` of each replica listed in a master's ``INFO replication``."""
    return [entry["address"] for entry in replica_entries(replication_info)]


def argument_spec():
    """Connection options shared by every Redis module (see doc fragment ``redis``)."""
    return dict(
        redis_host=dict(type="str", fallback=(env_fallback, ["REDIS_HOST"])),
        redis_port=dict(type="int", default=6379, fallback=(env_fallback, ["REDIS_PORT"])),
        redis_username=dict(type="str"),
        redis_password=dict(type="str", no_log=True, fallback=(env_fallback, ["REDIS_PASSWORD"])),
        redis_db=dict(type="int", default=0),
        redis_sentinels=dict(type="list", elements="dict", options=dict(
            host=dict(type="str", required=True),
            port=dict(type="int", default=26379),
        )),
        redis_master_name=dict(type="str", default="mymaster"),
        redis_sentinel_password=dict(type="str", no_log=True, fallback=(env_fallback, ["REDIS_SENTINEL_PASSWORD"])),
        redis_tls=dict(type="bool", default=False),
        redis_ca_cert=dict(type="path"),
        redis_timeout=dict(type="float", default=5.0),
    )

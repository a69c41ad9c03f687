# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Encryption in transit of Redis (the ``redis.tls`` check).

For each node (the master and the replicas it lists): its ``tls-port`` and ``port`` from
``CONFIG GET``, then a TLS handshake with that port verifying the certificate against
``redis_ca_cert`` (or the system's CAs) and the node's address, and an authenticated PING
over it. When the collection's own connection is already TLS (``redis_tls``), that
connection is the evidence for the node it reached.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import socket
import ssl

from ansible_collections.golive.core.plugins.module_utils.common.checks import FAIL, PASS, make_check
from ansible_collections.golive.core.plugins.module_utils.common.errors import describe_exception
from ansible_collections.golive.core.plugins.module_utils.redis import connection as rds

CHECKLIST = "Data Encryption - Database encryption at rest and in transit"
TITLE = "Redis serves TLS with a certificate that verifies, on every node"


def _handshake(host, port, ca_cert, timeout):
    context = ssl.create_default_context(cafile=ca_cert or None)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    with socket.create_connection((host, port), timeout=timeout) as raw:
        with context.wrap_socket(raw, server_hostname=host) as tls:
            return {"protocol": tls.version(), "cipher": tls.cipher()[0]}


def _config(client):
    config = {}
    for name in ("tls-port", "port", "tls-auth-clients"):
        config.update(client.config_get(name))
    return config


def observe_node(server, address, client=None):
    """``{address, tls_port, port, tls_auth_clients, handshake|error, ping}`` of one node;
    ``client`` is the collection's own connection to it (the master's)."""
    host = address.rsplit(":", 1)[0]
    seen = {"address": address}
    try:
        try:
            config = _config(client or rds.node(server.replace(timeout=min(float(server.timeout or 5), 2.0)),
                                                address))
        except (rds.redis.ConnectionError, rds.redis.TimeoutError):
            if client is not None or not server.tls:
                raise
            # A replica the master lists at its plain port (TLS on a port of its own, as
            # replication announces it): its settings are read there, its TLS port is then tried.
            config = _config(rds.node(server.replace(tls=False), address))
            seen["announced"] = "plain port"
        seen["tls_port"] = int(config.get("tls-port") or 0)
        seen["port"] = int(config.get("port") or 0)
        seen["tls_auth_clients"] = config.get("tls-auth-clients")
    except rds.redis.RedisError as exc:
        seen["config_error"] = rds.brief(exc)
    if server.tls and client is not None:  # the collection's own connection to this node is TLS
        seen["connection"] = "tls"
        if "tls_port" not in seen:
            seen["tls_port"] = int(address.rsplit(":", 1)[1])
    if not seen.get("tls_port"):
        return seen
    try:
        seen["handshake"] = _handshake(host, seen["tls_port"], server.ca_cert, float(server.timeout or 5))
    except (OSError, ssl.SSLError) as exc:
        seen["error"] = describe_exception(exc)
        return seen
    tls_server = server.replace(tls=True)
    try:
        seen["ping"] = bool(rds.node(tls_server, "%s:%s" % (host, seen["tls_port"])).ping())
    except rds.redis.RedisError as exc:
        seen["error"] = rds.brief(exc)
    return seen


def observe(server, client, address, replicas):
    nodes = [observe_node(server, address, client)]
    nodes += [observe_node(server, replica) for replica in replicas]
    return nodes


def judge(nodes):
    """Pure: one ``redis.tls`` check over the nodes observed."""
    problems = []
    for node in nodes:
        name = node["address"]
        if node.get("config_error") and not node.get("tls_port"):
            problems.append("%s: its TLS port cannot be read (%s); connect with redis_tls to prove TLS"
                            % (name, node["config_error"]))
        elif not node.get("tls_port"):
            problems.append("%s does not serve TLS (tls-port 0)" % name)
        elif node.get("error"):
            problems.append("%s: TLS on port %s fails: %s" % (name, node["tls_port"], node["error"]))
        elif not node.get("ping"):
            problems.append("%s: no answer to PING over TLS on port %s" % (name, node["tls_port"]))
    evidence = {"nodes": nodes}
    if problems:
        evidence["problems"] = problems
    return make_check("redis.tls", TITLE, FAIL if problems else PASS, evidence, CHECKLIST)

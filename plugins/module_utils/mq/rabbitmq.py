# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""RabbitMQ health through the management plugin's HTTP API: plan -> gather -> evaluate.

Gathering reads the overview, the vhost and its queues; the round trip declares a canary
queue (with ``x-expires``, so a check killed midway leaves nothing behind for long),
publishes one message through the default exchange, gets it back and deletes the queue.
Evaluation is pure. The API reports queue counters from its statistics, which the broker
refreshes every ``collect_statistics_interval`` (5 s by default).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import json
import time
import uuid

from ansible_collections.golive.core.plugins.module_utils.common.checks import check, make_check
from ansible_collections.golive.core.plugins.module_utils.common.errors import (
    AuthenticationFailed,
    BackendError,
    NotFound,
    PermissionDenied,
    Timeout,
)
from ansible_collections.golive.core.plugins.module_utils.common.retry import Deadline
from ansible_collections.golive.core.plugins.module_utils.common.settings import Settings
from ansible_collections.golive.core.plugins.module_utils.http import transport

try:
    from urllib.parse import quote
except ImportError:  # pragma: no cover - Python 2
    from urllib import quote

CHECKLIST = "Message Queue - RabbitMQ/Kafka configured for async processing"


class Api:
    def __init__(self, url, username, password, ca_file=None, validate_certs=True, timeout=10.0, deadline=None):
        self.url = url.rstrip("/")
        token = base64.b64encode(("%s:%s" % (username, password)).encode("utf-8")).decode("ascii")
        self.headers = {"Authorization": "Basic " + token, "Content-Type": "application/json"}
        self.username = username
        self.context = transport.tls_context(ca_file, validate_certs) if self.url.startswith("https") else None
        self.timeout = timeout
        self.deadline = deadline

    def call(self, method, path, body=None, missing_ok=False):
        data = json.dumps(body).encode("utf-8") if body is not None else None
        timeout = self.timeout
        if self.deadline is not None:
            if self.deadline.expired():
                raise Timeout("complete", "the checks of %s" % self.url,
                              "the task's %gs ran out before %s %s" % (self.deadline.seconds, method, path))
            timeout = max(0.1, min(timeout, self.deadline.remaining()))
        answer = transport.send(method, self.url + path, self.headers, data, context=self.context, timeout=timeout)
        status, raw = answer[0], answer[2]
        what = "the RabbitMQ management API at %s" % self.url
        if status == 401:
            raise AuthenticationFailed("authenticate to", what, "user %s was refused (401)" % self.username,
                                       fix="check the user and password", retryable=False)
        if status == 403:
            raise PermissionDenied("use", what, "user %s may not %s %s (403)" % (self.username, method, path),
                                   retryable=False)
        if status == 404 and missing_ok:
            return None
        if status == 404:
            raise NotFound("find", "%s%s" % (self.url, path), "404", retryable=False)
        if status >= 300:
            raise BackendError("%s" % method.lower(), "%s%s" % (what, path), "HTTP %s" % status)
        return transport.api_answer(raw, what, "Check url: the management API's base URL, for example http://rabbit:15672",
                                    kinds=(dict, list))


def vpath(vhost):
    return quote(vhost, safe="")


def gather(api, vhost, round_trip, check_mode=False, clock=time.monotonic):
    overview = api.call("GET", "/api/overview")
    observed = {"version": overview.get("rabbitmq_version"), "cluster": overview.get("cluster_name"),
                "node": overview.get("node"), "vhost": vhost}
    observed["vhost_exists"] = api.call("GET", "/api/vhosts/%s" % vpath(vhost), missing_ok=True) is not None
    observed["queues"] = {}
    if observed["vhost_exists"]:
        for queue in api.call("GET", "/api/queues/%s" % vpath(vhost)) or []:
            observed["queues"][queue["name"]] = {
                "consumers": queue.get("consumers", 0), "ready": queue.get("messages_ready", 0),
                "unacked": queue.get("messages_unacknowledged", 0), "state": queue.get("state")}
    if round_trip and observed["vhost_exists"] and not check_mode:
        observed["round_trip"] = canary(api, vhost, clock)
    return observed


def canary(api, vhost, clock=time.monotonic):
    """Publish one message to a fresh queue, get it back, delete the queue."""
    name = "golive.canary.%s" % uuid.uuid4().hex[:12]
    payload = "golive canary %s" % uuid.uuid4().hex
    path = "/api/queues/%s/%s" % (vpath(vhost), quote(name, safe=""))
    started = clock()
    api.call("PUT", path, {"durable": False, "auto_delete": False, "arguments": {"x-expires": 60000}})
    try:
        routed = api.call("POST", "/api/exchanges/%s/amq.default/publish" % vpath(vhost),
                          {"properties": {}, "routing_key": name, "payload": payload, "payload_encoding": "string"})
        got = api.call("POST", path + "/get", {"count": 1, "ackmode": "ack_requeue_false", "encoding": "auto"})
    finally:
        api.call("DELETE", path, missing_ok=True)
    received = [m.get("payload") for m in got or []]
    return {"queue": name, "routed": bool((routed or {}).get("routed")), "received": received == [payload],
            "ms": round((clock() - started) * 1000, 1)}


def evaluate(observed, queues, max_depth=None, max_unacked=None, round_trip=True, checklist=CHECKLIST):
    """The checks, from what was observed (pure)."""
    out = [check("mq.connection", "RabbitMQ management API answers with these credentials", True,
                 dict((k, observed.get(k)) for k in ("version", "cluster", "node")), checklist)]
    out.append(check("mq.vhost", "Vhost %s exists" % observed["vhost"], observed["vhost_exists"],
                     {"vhost": observed["vhost"]}, checklist))
    if not observed["vhost_exists"]:
        return out
    live = observed["queues"]
    for want in queues:
        name = want["name"]
        found = live.get(name)
        problems = []
        if found is None:
            problems.append("queue %s does not exist" % name)
        else:
            if found["consumers"] < want.get("min_consumers", 1):
                problems.append("%d consumers, at least %d wanted" % (found["consumers"], want.get("min_consumers", 1)))
            depth = want.get("max_depth") if want.get("max_depth") is not None else max_depth
            if depth is not None and found["ready"] > depth:
                problems.append("%d messages ready, at most %d allowed" % (found["ready"], depth))
            unacked = want.get("max_unacked") if want.get("max_unacked") is not None else max_unacked
            if unacked is not None and found["unacked"] > unacked:
                problems.append("%d messages unacknowledged, at most %d allowed" % (found["unacked"], unacked))
        evidence = dict(found or {}, problems=problems)
        out.append(check("mq.queue.%s" % name, "Queue %s is declared, consumed and not backed up" % name,
                         not problems, evidence, checklist))
    if max_depth is not None or max_unacked is not None:
        over = dict((n, q["ready"]) for n, q in sorted(live.items()) if max_depth is not None and q["ready"] > max_depth)
        stuck = dict((n, q["unacked"]) for n, q in sorted(live.items())
                     if max_unacked is not None and q["unacked"] > max_unacked)
        out.append(check("mq.depth", "No queue of vhost %s over its depth or unacknowledged limit" % observed["vhost"],
                         not over and not stuck, {"queues": len(live), "over_depth": over, "over_unacked": stuck,
                                                  "max_depth": max_depth, "max_unacked": max_unacked}, checklist))
    if round_trip:
        trip = observed.get("round_trip")
        if trip is None:
            out.append(make_check("mq.round_trip", "Publish and consume a canary message", "skip",
                                  {"reason": "check mode sends nothing"}, checklist))
        else:
            out.append(check("mq.round_trip", "Publish and consume a canary message",
                             trip["routed"] and trip["received"], trip, checklist))
    return out


class RabbitMqApi(Settings):
    """The RabbitMQ management API and a login to it, from mq_health's options."""

    FIELDS = (("url", "url", None), ("username", "username", None), ("password", "password", None),
              ("ca_cert", "ca_cert", None), ("validate_certs", "validate_certs", True), ("timeout", "timeout", 10.0))
    SECRETS = ("password",)


def run(server, vhost="/", queues=(), round_trip=True, max_depth=None, max_unacked=None, check_mode=False,
        checklist=None):
    """Observe vhost ``vhost`` through ``server`` (a :class:`RabbitMqApi`) and judge it."""
    # One deadline for the whole check: every request waits only for what is left of it.
    api = Api(server.url, server.username, server.password, server.ca_cert, server.validate_certs, server.timeout,
              deadline=Deadline(server.timeout))
    observed = gather(api, vhost, round_trip, check_mode)
    checks = evaluate(observed, queues, max_depth, max_unacked, round_trip, checklist or CHECKLIST)
    return {"changed": False, "checks": checks, "version": observed["version"]}

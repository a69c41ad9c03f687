# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Service discovery: each declared Service selects ready Pods, its Endpoints list exactly
those Pods, and every endpoint answers on the Service's port.

gather (the Service, its Pods, its Endpoints; then a probe of each endpoint, directly or
through a URL) -> evaluate (pure). Directly means TCP (or HTTP with a path) to the Pod's
address, which works where Pod addresses are reachable (in the cluster's network, or the
lab); elsewhere give a URL through the ingress.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import socket

from ansible_collections.golive.core.plugins.module_utils.common.checks import make_check
from ansible_collections.golive.core.plugins.module_utils.common.errors import GoliveError, InvalidInput, describe_exception
from ansible_collections.golive.core.plugins.module_utils.http import transport
from ansible_collections.golive.core.plugins.module_utils.common.paths import resource_path
from ansible_collections.golive.core.plugins.module_utils.k8s.diagnose import unready_pod, warning_events

CHECKLIST = "Validate service discovery"


def pod_ready(pod):
    if pod["metadata"].get("deletionTimestamp"):
        return False
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions") or [])


def endpoint_port(endpoints, service, wanted=None):
    """The port number the Endpoints give for the Service port ``wanted`` (name or number)."""
    ports = (service.get("spec") or {}).get("ports") or []
    chosen = None
    for port in ports:
        if wanted is None or str(wanted) in (str(port.get("name")), str(port.get("port"))):
            chosen = port
            break
    if chosen is None:
        return None, None
    for subset in (endpoints or {}).get("subsets") or []:
        for port in subset.get("ports") or []:
            if port.get("name") == chosen.get("name") or len(subset.get("ports") or []) == 1:
                return chosen, port.get("port")
    return chosen, None


def gather(kube, item):
    namespace, name = item["namespace"], item["name"]
    observed = {"service": None, "pods": [], "endpoints": None}
    observed["service"] = kube.get(resource_path("v1", "services", namespace, name), missing_ok=True)
    if observed["service"] is None:
        return observed
    selector = (observed["service"].get("spec") or {}).get("selector") or {}
    if selector:
        observed["pods"] = kube.list(resource_path("v1", "pods", namespace),
                                     label_selector=",".join("%s=%s" % kv for kv in sorted(selector.items())))
    observed["endpoints"] = kube.get(resource_path("v1", "endpoints", namespace, name), missing_ok=True)
    # Why Pods are not ready: their state, and their Warning Events (one LIST, only then).
    observed["unready"] = [unready_pod(p) or {"pod": p["metadata"]["name"], "phase": (p.get("status") or {}).get("phase"),
                                              "waiting": [], "restarts": 0}
                           for p in observed["pods"] if not pod_ready(p) and not p["metadata"].get("deletionTimestamp")]
    if observed["unready"]:
        observed["events"] = warning_events(kube, namespace, set(p["pod"] for p in observed["unready"]))
    return observed


def probe(address, port, path=None, timeout=3.0):
    """None when ``address:port`` answers (any HTTP status below 500 for a path), else why not."""
    try:
        if path:
            status = transport.send("GET", "http://%s:%d%s" % (address, port, path), timeout=timeout,
                                    use_proxy=False)[0]  # a Pod's own address, never through a proxy
            return None if status < 500 else "HTTP %d" % status
        with socket.create_connection((address, port), timeout):
            return None
    except GoliveError as exc:
        return exc.cause
    except OSError as exc:
        return describe_exception(exc)


def evaluate(item, observed, answers, checklist=CHECKLIST):
    """One check for one Service. ``answers`` maps endpoint address -> None or the failure."""
    namespace, name = item["namespace"], item["name"]
    evidence = {"service": "%s/%s" % (namespace, name)}
    problems = []
    service = observed.get("service")
    if service is None:
        problems.append("the Service does not exist")
    else:
        selector = (service.get("spec") or {}).get("selector") or {}
        evidence["selector"] = selector
        ready = sorted((p.get("status") or {}).get("podIP") for p in observed["pods"] if pod_ready(p))
        evidence["pods"] = len(observed["pods"])
        evidence["ready_pods"] = len(ready)
        if observed.get("unready"):
            evidence["unready_pods"] = observed["unready"][:5]
            evidence["events"] = observed.get("events") or []
        listed = sorted(a.get("ip") for s in (observed.get("endpoints") or {}).get("subsets") or []
                        for a in s.get("addresses") or [])
        evidence["endpoints"] = listed
        minimum = int(item.get("min_ready") or 1)
        if not selector:
            problems.append("the Service has no selector")
        if len(ready) < minimum:
            problems.append("%d ready Pods, %d required" % (len(ready), minimum))
        if observed.get("endpoints") is None:
            problems.append("no Endpoints object")
        elif listed != ready:
            problems.append("Endpoints list %s, ready Pods are %s" % (", ".join(listed) or "nothing",
                                                                      ", ".join(ready) or "none"))
        if answers is not None:
            evidence["answered"] = sorted(a for a, why in answers.items() if why is None)
            failed = dict((a, why) for a, why in answers.items() if why is not None)
            if failed:
                evidence["not_answering"] = failed
                problems.append("%d endpoint(s) do not answer: %s" % (len(failed), "; ".join(
                    "%s: %s" % kv for kv in sorted(failed.items()))))
    if problems:
        evidence["problems"] = problems
    return make_check("svc.%s.%s" % (namespace, name), "Service %s/%s discovers ready endpoints that answer"
                      % (namespace, name), "fail" if problems else "pass", evidence, item.get("checklist") or checklist)


def run(kube, services, timeout=3.0, checklist=CHECKLIST):
    if not services:
        raise InvalidInput("check", "service discovery", "services is empty: there is nothing to look at",
                           fix="Declare the Services to check; a check of nothing would pass having checked nothing")
    for item in services:
        path = item.get("path")
        if path is not None and (not str(path).startswith("/") or re.search(r"\s", str(path))):
            raise InvalidInput("use", "path %r of Service %s/%s" % (path, item.get("namespace"), item.get("name")),
                               "a probe path starts with / and holds no whitespace (for example /healthz)")
    checks = []
    for item in services:
        observed = gather(kube, item)
        answers = None
        if observed["service"] is not None and item.get("probe", "direct") == "direct":
            port_spec, number = endpoint_port(observed["endpoints"], observed["service"], item.get("port"))
            answers = {}
            for subset in (observed["endpoints"] or {}).get("subsets") or []:
                for address in subset.get("addresses") or []:
                    answers[address["ip"]] = probe(address["ip"], number, item.get("path"), timeout) if number \
                        else "no port %s on the Service" % (item.get("port") or "")
        checks.append(evaluate(item, observed, answers, checklist))
    return {"checks": checks}

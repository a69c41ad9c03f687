# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Resource utilisation against what a workload declares (pure).

For each container of a workload's Pod template, the usage Prometheus has from the kubelet
(cAdvisor's ``container_cpu_usage_seconds_total`` and ``container_memory_working_set_bytes``)
divided by the container's request or limit: the value of a ``resources`` objective is the
highest such ratio across the workload's Pods and containers ("utilisation < 80 %").
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.golive.core.plugins.module_utils.common.errors import InvalidInput

SUFFIXES = {"": 1, "m": 0.001, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18,
            "Ki": 2 ** 10, "Mi": 2 ** 20, "Gi": 2 ** 30, "Ti": 2 ** 40, "Pi": 2 ** 50, "Ei": 2 ** 60}
_QUANTITY = re.compile(r"^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$")
KINDS = {"Deployment": ("apps/v1", "deployments", "%s-[a-z0-9]+-[a-z0-9]+"),
         "StatefulSet": ("apps/v1", "statefulsets", "%s-[0-9]+"),
         "DaemonSet": ("apps/v1", "daemonsets", "%s-[a-z0-9]+")}
USAGE = {"memory": "max(container_memory_working_set_bytes{%s})",
         "cpu": "max(rate(container_cpu_usage_seconds_total{%s}[%s]))"}


def quantity(text):
    """A Kubernetes quantity (``500m``, ``1``, ``128Mi``, ``1e3``) as a number."""
    found = _QUANTITY.match(str(text).strip())
    if not found:
        raise InvalidInput("read", "quantity %r" % text, "it is not a Kubernetes quantity")
    return float(found.group(1)) * SUFFIXES[found.group(2) or ""]


def declared(workload, resource, against):
    """``{container name: amount or None}`` from the workload's Pod template."""
    containers = (((workload.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers") or []
    found = {}
    for container in containers:
        amount = ((container.get("resources") or {}).get(against) or {}).get(resource)
        found[container["name"]] = quantity(amount) if amount is not None else None
    return found


def _label(value):
    return str(value).replace("\\", "\\\\").replace('"', '\\"')


def usage_query(kind, namespace, name, container, resource, window="2m"):
    """The PromQL of a container's highest usage across the workload's Pods."""
    if kind not in KINDS:
        raise InvalidInput("use", "workload kind %s" % kind, "choose one of %s" % ", ".join(sorted(KINDS)))
    selector = 'namespace="%s",pod=~"%s",container="%s"' % (
        _label(namespace), _label(KINDS[kind][2] % re.escape(name)), _label(container))
    if resource == "cpu":
        return USAGE["cpu"] % (selector, window)
    return USAGE["memory"] % selector


def utilisation(amounts, usage):
    """The highest ``usage / amount`` across containers, and the evidence.

    ``amounts`` is what ``declared`` returned; ``usage`` maps a container to its measured
    usage (None: no data). Containers that declare nothing are named, not guessed at."""
    ratios, undeclared = {}, sorted(c for c, amount in amounts.items() if not amount)
    for container, amount in sorted(amounts.items()):
        if amount and usage.get(container) is not None:
            ratios[container] = round(usage[container] / amount, 4)
    value = max(ratios.values()) if ratios else None
    return value, {"ratios": ratios, "undeclared": undeclared}

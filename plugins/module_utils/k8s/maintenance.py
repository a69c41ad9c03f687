# -*- coding: utf-8 -*-
# Copyright (c) golive.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Maintenance mode: point Ingresses at a maintenance Service, and back, exactly.

Turning it on saves each Ingress's spec in the annotation ``golive.io/saved-spec`` (and in
the undo the caller writes to the ledger) and replaces every backend of every rule, and the
default backend, with the maintenance Service; hosts, paths and TLS stay, so the same names
and certificates answer. Turning it off puts the saved spec back as it was (from the
annotation, else from the undo) and removes the annotation. Each change is a PUT guarded by
the resourceVersion just read.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json

from ansible_collections.golive.core.plugins.module_utils.common.journal import NoJournal
from ansible_collections.golive.core.plugins.module_utils.common.errors import (
    Conflict,
    GoliveError,
    InvalidInput,
    NotFound,
)
from ansible_collections.golive.core.plugins.module_utils.common.paths import resource_path
from ansible_collections.golive.core.plugins.module_utils.k8s.select import parallel

SAVED = "golive.io/saved-spec"
GROUP_VERSION, PLURAL = "networking.k8s.io/v1", "ingresses"


def ref(obj):
    return "Ingress %s/%s" % (obj["metadata"]["namespace"], obj["metadata"]["name"])


def backend(service, port):
    port = str(port)
    return {"service": {"name": service, "port": {"number": int(port)} if port.isdigit() else {"name": port}}}


def service_has_port(svc, port):
    """Whether a Service has ``port``, by name or by number, as an Ingress backend names it (pure)."""
    port = str(port)
    for item in (svc.get("spec") or {}).get("ports") or []:
        if (port.isdigit() and int(port) == item.get("port")) or (not port.isdigit() and item.get("name") == port):
            return True
    return False


def ports_text(svc):
    ports = ["%s%s" % (p.get("port"), " (%s)" % p["name"] if p.get("name") else "")
             for p in (svc.get("spec") or {}).get("ports") or []]
    return "ports %s" % ", ".join(ports) if ports else "no ports"


def maintenance_spec(spec, service, port):
    """The spec with every backend replaced by the maintenance Service (pure)."""
    spec = copy.deepcopy(spec or {})
    for rule in spec.get("rules") or []:
        for path in ((rule.get("http") or {}).get("paths") or []):
            path["backend"] = backend(service, port)
    if spec.get("defaultBackend") is not None:
        spec["defaultBackend"] = backend(service, port)
    return spec


def saved_spec(obj):
    text = ((obj.get("metadata") or {}).get("annotations") or {}).get(SAVED)
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        raise InvalidInput("read", "the saved spec of %s" % ref(obj), "annotation %s is not JSON" % SAVED)


def plan(objects, state, service, port, recorded=None):
    """``[{ref, object, before, after, saved_before, saved_after, changed}]`` (pure)."""
    steps = []
    for obj in objects:
        current, saved = obj.get("spec") or {}, saved_spec(obj)
        if state == "enabled":
            original = saved if saved is not None else current
            after, keep = maintenance_spec(original, service, port), original
        else:
            original = saved if saved is not None else (recorded or {}).get(ref(obj))
            if original is None:  # never put into maintenance (or restored before): leave it
                original = current
            after, keep = original, None
        steps.append({"ref": ref(obj), "object": obj, "before": current, "after": after,
                      "saved_before": saved, "saved_after": keep, "changed": current != after or saved != keep})
    return steps


def body_of(step):
    body = copy.deepcopy(step["object"])
    body.pop("status", None)
    body["spec"] = step["after"]
    annotations = body["metadata"].setdefault("annotations", {})
    if step["saved_after"] is None:
        annotations.pop(SAVED, None)
    else:
        annotations[SAVED] = json.dumps(step["saved_after"], sort_keys=True, separators=(",", ":"))
    return body


class Maintenance:
    def __init__(self, kube):
        self.kube = kube

    def select(self, ingresses=None, label_selector=None, namespaces=None):
        found = []
        if ingresses:
            answers = parallel(lambda i: self.kube.get(resource_path(GROUP_VERSION, PLURAL, i["namespace"], i["name"])),
                               ingresses)
            missing = ["%s/%s" % (i["namespace"], i["name"]) for i, obj, err in answers if isinstance(err, NotFound)]
            if missing:
                raise NotFound("find", "Ingresses", "%s do not exist" % ", ".join(missing))
            for item, obj, err in answers:
                if err is not None:
                    raise err
                found.append(obj)
        if label_selector:
            for namespace in namespaces or [None]:
                found.extend(self.kube.list(resource_path(GROUP_VERSION, PLURAL, namespace),
                                            label_selector=label_selector))
        unique = dict((ref(o), o) for o in found)
        if not unique:
            raise NotFound("find", "Ingresses", "nothing matches %s" % (
                "selector %r" % label_selector if label_selector else "the given names"))
        return [unique[k] for k in sorted(unique)]

    def check_service(self, namespaces, service, port):
        """The maintenance Service must exist in every namespace and have ``port``."""
        missing, portless = [], []
        for namespace in sorted(set(namespaces)):
            found = self.kube.get(resource_path("v1", "services", namespace, service), missing_ok=True)
            if found is None:
                missing.append("%s/%s" % (namespace, service))
            elif not service_has_port(found, port):
                portless.append("%s/%s has %s" % (namespace, service, ports_text(found)))
        if missing:
            raise NotFound("find", "the maintenance Service", "%s does not exist" % ", ".join(missing),
                           fix="Deploy the maintenance page (Deployment and Service) in each namespace first")
        if portless:
            raise InvalidInput("use", "port %s of the maintenance Service" % port,
                               "no such port: %s" % "; ".join(portless),
                               fix="Name one of its ports (rollback: rollback_emergency_maintenance_port). "
                                   "Nothing was changed")

    def apply(self, steps, replan):
        def one(step):
            meta = step["object"]["metadata"]
            path = resource_path(GROUP_VERSION, PLURAL, meta["namespace"], meta["name"])
            for attempt in range(3):
                try:
                    return self.kube.request("PUT", path, body=body_of(step), what="update %s" % step["ref"])
                except Conflict:
                    step = replan(self.kube.get(path))
                    if not step["changed"]:
                        return None
            raise Conflict("update", step["ref"], "it kept changing under us", retryable=False)

        answers = parallel(one, steps)
        return dict((s["ref"], getattr(e, "cause", None) or str(e)) for s, a, e in answers if e is not None)


def switch(kube, ingresses=None, label_selector=None, namespaces=None, state="enabled", service="maintenance",
           port="http", undo=None, check_mode=False, recorder=None):
    """Turn maintenance on or off for the selected Ingresses; return the module result."""
    engine = Maintenance(kube)
    objects = engine.select(ingresses, label_selector, namespaces)
    journal = recorder or NoJournal()
    if state == "disabled" and undo is None:
        undo = journal.recorded_undo("golive.core.k8s_maintenance")
    recorded = dict(("Ingress %s/%s" % (i["namespace"], i["name"]), i["spec"]) for i in (undo or {}).get("ingresses") or [])
    if state == "enabled":
        engine.check_service([o["metadata"]["namespace"] for o in objects], service, port)
    steps = plan(objects, state, service, port, recorded)
    changed = [s for s in steps if s["changed"]]
    undo_data = {"module": "golive.core.k8s_maintenance", "state": "disabled",
                 "ingresses": [{"namespace": s["object"]["metadata"]["namespace"], "name": s["object"]["metadata"]["name"],
                                "spec": s["saved_after"] if state == "enabled" else s["after"]} for s in steps]}
    result = {"changed": bool(changed), "undo": undo_data,
              "ingresses": [{"ingress": s["ref"], "changed": s["changed"], "maintenance": state == "enabled"}
                            for s in steps],
              "diff": [{"before_header": s["ref"], "after_header": s["ref"],
                        "before": json.dumps(s["before"], indent=2, sort_keys=True) + "\n",
                        "after": json.dumps(s["after"], indent=2, sort_keys=True) + "\n"} for s in changed]}
    kept_undo = undo_data if state == "enabled" else None
    with journal.step({"state": state, "service": service, "port": port, "objects": [s["ref"] for s in steps]},
                      pending=bool(changed), objects=[s["ref"] for s in steps], undo=kept_undo) as outcome:
        outcome.update(changed=result["changed"], undo=kept_undo)
        if changed and not check_mode:
            errors = engine.apply(changed, lambda fresh: plan([fresh], state, service, port, recorded)[0])
            if errors:
                raise GoliveError("switch maintenance %s for" % ("on" if state == "enabled" else "off"),
                                  "%d Ingress(es)" % len(errors), "; ".join("%s: %s" % kv for kv in sorted(errors.items())),
                                  fix="The saved specs are intact: re-run to finish", result=result)
    return result

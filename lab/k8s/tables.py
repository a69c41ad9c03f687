"""Server-side printing: the `Table` form kubectl asks for with `kubectl get`."""

from __future__ import annotations

import datetime as dt

from .errors import parse_iso


def _age(ts: str | None) -> str:
    if not ts:
        return "<unknown>"
    secs = int((dt.datetime.now(dt.timezone.utc) - parse_iso(ts)).total_seconds())
    secs = max(secs, 0)
    if secs < 120:
        return f"{secs}s"
    if secs < 7200:
        return f"{secs // 60}m"
    if secs < 172800:
        return f"{secs // 3600}h"
    return f"{secs // 86400}d"


def _pod_ready(obj):
    statuses = (obj.get("status") or {}).get("containerStatuses") or []
    total = len((obj.get("spec") or {}).get("containers") or [])
    return f"{sum(1 for s in statuses if s.get('ready'))}/{total}"


def _pod_status(obj):
    """What kubectl shows, as its Pod printer works it out: the phase (or the Pod's reason),
    then each container's waiting reason or terminated reason (``Completed``, ``Error``,
    ``ExitCode:N``), the first container last; ``Terminating`` once deleted."""
    status = obj.get("status") or {}
    reason = status.get("reason") or status.get("phase", "Pending")
    for container in reversed(status.get("containerStatuses") or []):
        state = container.get("state") or {}
        if (state.get("waiting") or {}).get("reason"):
            reason = state["waiting"]["reason"]
        elif state.get("terminated"):
            done = state["terminated"]
            reason = done.get("reason") or ("Signal:%s" % done["signal"] if done.get("signal")
                                            else "ExitCode:%s" % done.get("exitCode", 0))
    if (obj.get("metadata") or {}).get("deletionTimestamp"):
        return "Terminating"
    return reason


def _cols(*names):
    return [(n, "string") if isinstance(n, str) else n for n in names]


COLUMNS = {
    "Deployment": (_cols("Ready", ("Up-to-date", "integer"), ("Available", "integer")),
                   lambda o: [f"{(o.get('status') or {}).get('readyReplicas', 0)}/{(o.get('spec') or {}).get('replicas', 0)}",
                              (o.get("status") or {}).get("updatedReplicas", 0),
                              (o.get("status") or {}).get("availableReplicas", 0)]),
    "ReplicaSet": (_cols(("Desired", "integer"), ("Current", "integer"), ("Ready", "integer")),
                   lambda o: [(o.get("spec") or {}).get("replicas", 0), (o.get("status") or {}).get("replicas", 0),
                              (o.get("status") or {}).get("readyReplicas", 0)]),
    "StatefulSet": (_cols("Ready"),
                    lambda o: [f"{(o.get('status') or {}).get('readyReplicas', 0)}/{(o.get('spec') or {}).get('replicas', 0)}"]),
    "DaemonSet": (_cols(("Desired", "integer"), ("Current", "integer"), ("Ready", "integer")),
                  lambda o: [(o.get("status") or {}).get("desiredNumberScheduled", 0),
                             (o.get("status") or {}).get("currentNumberScheduled", 0),
                             (o.get("status") or {}).get("numberReady", 0)]),
    "Pod": (_cols("Ready", "Status", ("Restarts", "integer")),
            lambda o: [_pod_ready(o), _pod_status(o),
                       sum(c.get("restartCount", 0) for c in (o.get("status") or {}).get("containerStatuses") or [])]),
    "Service": (_cols("Type", "Cluster-IP", "Ports"),
                lambda o: [(o.get("spec") or {}).get("type", "ClusterIP"), (o.get("spec") or {}).get("clusterIP", ""),
                           ",".join(f"{p.get('port')}/{p.get('protocol', 'TCP')}" for p in (o.get("spec") or {}).get("ports") or [])]),
    "Namespace": (_cols("Status"), lambda o: [(o.get("status") or {}).get("phase", "Active")]),
    "Job": (_cols("Status"), lambda o: [next((c["type"] for c in (o.get("status") or {}).get("conditions") or []
                                               if c.get("status") == "True" and c.get("type") in ("Complete", "Failed")),
                                              "Running")]),
    "CronJob": (_cols("Schedule", "Suspend", "Last Schedule"),
                lambda o: [(o.get("spec") or {}).get("schedule", ""), str((o.get("spec") or {}).get("suspend", False)),
                           _age((o.get("status") or {}).get("lastScheduleTime"))]),
    "Node": (_cols("Status", "Version"),
             lambda o: [("Ready" if any(c.get("type") == "Ready" and c.get("status") == "True"
                                        for c in (o.get("status") or {}).get("conditions") or []) else "NotReady")
                        + (",SchedulingDisabled" if (o.get("spec") or {}).get("unschedulable") else ""),
                        ((o.get("status") or {}).get("nodeInfo") or {}).get("kubeletVersion", "")]),
    "Secret": (_cols("Type", ("Data", "integer")),
               lambda o: [o.get("type", "Opaque"), len(o.get("data") or {})]),
    "ConfigMap": (_cols(("Data", "integer")), lambda o: [len(o.get("data") or {})]),
    "Event": (_cols("Last Seen", "Type", "Reason", "Object", "Message"),
              lambda o: [_age(o.get("lastTimestamp") or o["metadata"].get("creationTimestamp")), o.get("type", ""),
                         o.get("reason", ""),
                         f"{(o.get('involvedObject') or {}).get('kind', '').lower()}/"
                         f"{(o.get('involvedObject') or {}).get('name', '')}", o.get("message", "")]),
}


def _hpa_targets(o):
    """kubectl's TARGETS of an autoscaling/v2 HPA: ``cpu: 45%/60%`` per metric."""
    current = dict(((m.get("resource") or {}).get("name"), (m.get("resource") or {}).get("current") or {})
                   for m in (o.get("status") or {}).get("currentMetrics") or [] if m.get("type") == "Resource")
    shown = []
    for metric in (o.get("spec") or {}).get("metrics") or []:
        resource = metric.get("resource") or {}
        name, target = resource.get("name"), resource.get("target") or {}
        now = current.get(name) or {}
        if target.get("type") == "Utilization":
            value = "%s%%" % now["averageUtilization"] if "averageUtilization" in now else "<unknown>"
            shown.append("%s: %s/%s%%" % (name, value, target.get("averageUtilization")))
        else:
            shown.append("%s: %s/%s" % (name, now.get("averageValue", "<unknown>"), target.get("averageValue")))
    return ", ".join(shown) or "<none>"


COLUMNS["HorizontalPodAutoscaler"] = (
    _cols("Reference", "Targets", ("MinPods", "integer"), ("MaxPods", "integer"), ("Replicas", "integer")),
    lambda o: ["%s/%s" % (((o.get("spec") or {}).get("scaleTargetRef") or {}).get("kind", ""),
                          ((o.get("spec") or {}).get("scaleTargetRef") or {}).get("name", "")),
               _hpa_targets(o), (o.get("spec") or {}).get("minReplicas", 1), (o.get("spec") or {}).get("maxReplicas", 0),
               (o.get("status") or {}).get("currentReplicas", 0)])


def _images(o, key="name"):
    containers = (((o.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers") or []
    return ",".join(str(c.get(key, "")) for c in containers)


def _selector(o):
    selector = (o.get("spec") or {}).get("selector") or {}
    labels = selector.get("matchLabels", selector) if isinstance(selector, dict) else {}
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()) if isinstance(v, str)) or "<none>"


# Columns kubectl shows with ``-o wide`` (priority 1), after Age, as the real printers.
WIDE = {
    "Pod": (_cols("IP", "Node", "Nominated Node", "Readiness Gates"),
            lambda o: [(o.get("status") or {}).get("podIP") or "<none>", (o.get("spec") or {}).get("nodeName") or "<none>",
                       (o.get("status") or {}).get("nominatedNodeName") or "<none>",
                       ",".join(g.get("conditionType", "") for g in (o.get("spec") or {}).get("readinessGates") or [])
                       or "<none>"]),
    "Deployment": (_cols("Containers", "Images", "Selector"), lambda o: [_images(o), _images(o, "image"), _selector(o)]),
    "ReplicaSet": (_cols("Containers", "Images", "Selector"), lambda o: [_images(o), _images(o, "image"), _selector(o)]),
    "Service": (_cols("Selector"), lambda o: [_selector(o)]),
}


def table(res, objs: list[dict], rv: str, query: dict) -> dict:
    extra, cells = COLUMNS.get(res.kind, ([], None)) if not res.crd else ([], None)
    bare = res.kind == "Event"  # kubectl shows events without their generated names
    columns = [] if bare else [{"name": "Name", "type": "string", "format": "name",
                                "description": "Name of the object", "priority": 0}]
    columns += [{"name": n, "type": t, "format": "", "description": n, "priority": 0} for n, t in extra]
    if not bare:
        columns.append({"name": "Age", "type": "string", "format": "", "description": "Age", "priority": 0})
    wide, wide_cells = WIDE.get(res.kind, ([], None)) if not res.crd else ([], None)
    columns += [{"name": n, "type": t, "format": "", "description": n, "priority": 1} for n, t in wide]
    include = query.get("includeObject", "Metadata")
    rows = []
    for obj in objs:
        meta = obj["metadata"]
        row_cells = (cells(obj) if cells else []) if bare else \
            [meta["name"]] + (cells(obj) if cells else []) + [_age(meta.get("creationTimestamp"))] + \
            (wide_cells(obj) if wide_cells else [])
        if include == "Object":
            embedded = obj
        elif include == "None":
            embedded = None
        else:
            embedded = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": meta}
        row = {"cells": row_cells}
        if embedded is not None:
            row["object"] = embedded
        rows.append(row)
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {"resourceVersion": rv},
            "columnDefinitions": columns, "rows": rows}

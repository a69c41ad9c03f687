"""Shared by the controller families: resource keys, owner references, template hashes,
conditions and quantities."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import re

from ..cluster import Cluster, _copy
from ..errors import ApiError, now_iso, parse_iso
from ..selectors import selector_from_match

LAB = "lab.golive.io/"
REVISION = "deployment.kubernetes.io/revision"
HASH_LABEL = "pod-template-hash"
ALPHABET = "bcdfghjklmnpqrstvwxz2456789"

K_DEPLOY = ("apps", "deployments")
K_RS = ("apps", "replicasets")
K_STS = ("apps", "statefulsets")
K_DS = ("apps", "daemonsets")
K_POD = ("", "pods")
K_SVC = ("", "services")
K_EP = ("", "endpoints")
K_EPS = ("discovery.k8s.io", "endpointslices")
K_NODE = ("", "nodes")
K_NS = ("", "namespaces")
K_JOB = ("batch", "jobs")
K_CJ = ("batch", "cronjobs")
K_PVC = ("", "persistentvolumeclaims")
K_SC = ("storage.k8s.io", "storageclasses")
K_PDB = ("policy", "poddisruptionbudgets")
K_SECRET = ("", "secrets")
K_EVENT = ("", "events")
K_ING = ("networking.k8s.io", "ingresses")
K_CR = ("apps", "controllerrevisions")
K_CERT = ("cert-manager.io", "certificates")
K_ISSUER = ("cert-manager.io", "issuers")
K_CISSUER = ("cert-manager.io", "clusterissuers")

OWNER_KINDS = {"ReplicaSet": "rs", "Deployment": "deploy", "StatefulSet": "sts", "DaemonSet": "ds",
               "Job": "job", "CronJob": "cj"}



def _prune(value):
    """Drop nulls and empty maps/lists, so equal templates hash alike however a client spelled them."""
    if isinstance(value, dict):
        out = {k: _prune(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v not in (None, {}, [])}
    if isinstance(value, list):
        return [_prune(v) for v in value]
    return value


def template_hash(template: dict) -> str:
    tpl = _prune(json.loads(json.dumps(template or {})))
    labels = (tpl.get("metadata") or {}).get("labels") or {}
    labels.pop(HASH_LABEL, None)
    digest = hashlib.sha256(json.dumps(tpl, sort_keys=True, separators=(",", ":")).encode()).digest()
    n = int.from_bytes(digest[:8], "big")
    out = []
    for _ in range(10):
        n, r = divmod(n, len(ALPHABET))
        out.append(ALPHABET[r])
    return "".join(out)


def owner_ref(obj: dict) -> dict:
    return {"apiVersion": obj["apiVersion"], "kind": obj["kind"], "name": obj["metadata"]["name"],
            "uid": obj["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}


def controller_of(obj: dict) -> dict | None:
    for ref in obj.get("metadata", {}).get("ownerReferences") or []:
        if ref.get("controller"):
            return ref
    return None


def is_ready(pod: dict) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions") or [])


def go_duration(text: str | None) -> float | None:
    """Seconds in a Go duration string such as `2160h`, `1h30m`, `-1h`, `90s`."""
    if not text:
        return None
    sign = -1 if text.startswith("-") else 1
    total = 0.0
    for value, unit in re.findall(r"([\d.]+)(ms|h|m|s)", text):
        total += float(value) * {"h": 3600, "m": 60, "s": 1, "ms": 0.001}[unit]
    return sign * total


def scaled(value, total: int, round_up: bool) -> int:
    if value is None:
        return 0
    if isinstance(value, str) and value.endswith("%"):
        raw = float(value[:-1]) * total / 100
        return math.ceil(raw) if round_up else math.floor(raw)
    return int(value)


def set_condition(conds: list, ctype: str, status: str, reason: str, message: str,
                  with_update: bool = False) -> list:
    now = now_iso()
    out = [dict(c) for c in conds]
    for c in out:
        if c.get("type") == ctype:
            if c.get("status") != status:
                c["lastTransitionTime"] = now
            if with_update and (c.get("status") != status or c.get("reason") != reason):
                c["lastUpdateTime"] = now
            c.update(status=status, reason=reason, message=message)
            return out
    new = {"type": ctype, "status": status, "reason": reason, "message": message, "lastTransitionTime": now}
    if with_update:
        new["lastUpdateTime"] = now
    out.append(new)
    return out


def iso(t: dt.datetime) -> str:
    return t.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# Re-exported for the families.
__all__ = ["ApiError", "Cluster", "_copy", "now_iso", "parse_iso", "selector_from_match"]

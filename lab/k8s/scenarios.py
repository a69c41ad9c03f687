"""Scenario loading: YAML files in lab/scenarios/ describing a cluster to preload.

A scenario file is a stream of Kubernetes objects. An optional first document of
`kind: LabScenario` names a `base` scenario to start from, a `version` for /version,
a `policy` (see policy.py), and `remove:` entries ({kind, namespace, name}) that drop
objects of the base. Objects in the file replace base objects of the same kind,
namespace and name. Strings `${now}` and `${now-5h}` / `${now+30m}` become timestamps.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import yaml

SCENARIO_DIR = Path(__file__).resolve().parent.parent / "scenarios"
_NOW = re.compile(r"\$\{now(?:([+-])(\d+)([smhd]))?\}")


def scenario_names() -> list[str]:
    return sorted(p.stem for p in SCENARIO_DIR.glob("*.yaml"))


def _now_sub(value):
    if isinstance(value, str) and "${now" in value:
        def repl(m):
            t = dt.datetime.now(dt.timezone.utc)
            if m.group(1):
                delta = dt.timedelta(seconds=int(m.group(2)) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(3)])
                t = t + delta if m.group(1) == "+" else t - delta
            return t.strftime("%Y-%m-%dT%H:%M:%SZ")
        return _NOW.sub(repl, value)
    if isinstance(value, dict):
        return {k: _now_sub(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_now_sub(v) for v in value]
    return value


def _ident(obj: dict) -> tuple:
    meta = obj.get("metadata") or {}
    return (obj.get("kind"), meta.get("namespace") or "", meta.get("name"))


def resolve(name: str, seen: tuple = ()) -> tuple[dict, list[dict]]:
    """(meta, objects) of a scenario with its bases applied."""
    if name in seen:
        raise ValueError(f"scenario cycle: {' -> '.join(seen + (name,))}")
    path = SCENARIO_DIR / f"{name}.yaml" if not name.endswith(".yaml") else Path(name)
    if not path.exists():
        raise FileNotFoundError(f"no scenario {name!r} (known: {', '.join(scenario_names())})")
    docs = [d for d in yaml.safe_load_all(path.read_text()) if d]
    meta: dict = {}
    if docs and docs[0].get("kind") == "LabScenario":
        meta = docs.pop(0)
    objects: list[dict] = []
    merged_meta: dict = {}
    if meta.get("base"):
        merged_meta, objects = resolve(meta["base"], seen + (name,))
    drop = {(r.get("kind"), r.get("namespace") or "", r.get("name")) for r in meta.get("remove") or []}
    index = {_ident(o): n for n, o in enumerate(objects)}
    for obj in docs:
        ident = _ident(obj)
        if ident in index:
            objects[index[ident]] = obj
        else:
            index[ident] = len(objects)
            objects.append(obj)
    objects = [o for o in objects if _ident(o) not in drop]
    for key in ("version", "policy", "description"):
        if key in meta:
            merged_meta[key] = meta[key]
    return merged_meta, objects


ORDER = ["Namespace", "CustomResourceDefinition", "Node", "StorageClass", "IngressClass", "ClusterRole",
         "ClusterIssuer", "Issuer"]


def load_scenario(lab, name: str) -> tuple[int, dict]:
    meta, objects = resolve(name)
    cl = lab.cluster
    objects = sorted(objects, key=lambda o: ORDER.index(o["kind"]) if o.get("kind") in ORDER else len(ORDER))
    count = 0
    for obj in objects:
        obj = _now_sub(obj)
        res = cl.registry.for_kind(obj.get("apiVersion", ""), obj.get("kind", ""))
        if res is None:
            raise ValueError(f"scenario {name}: unknown kind {obj.get('apiVersion')}/{obj.get('kind')}")
        ns = (obj.get("metadata") or {}).get("namespace")
        if res.namespaced and not ns:
            obj.setdefault("metadata", {})["namespace"] = "default"
        existing = cl.get(res, ns or "default", obj["metadata"]["name"]) if res.namespaced else \
            cl.get(res, "", obj["metadata"]["name"])
        if existing is not None:
            cl.delete(res, ns or "default", obj["metadata"]["name"])
            lab.controllers.wait_idle(10)
        if res.kind == "Node":
            obj = node(obj["metadata"]["name"], meta.get("version") or lab.config.git_version,
                       base=obj)
        cl.preload(res, obj)
        count += 1
    return count, meta


def node(name: str, version: str, control_plane: bool = False, base: dict | None = None) -> dict:
    """A Ready node; `base` (from a scenario) may add labels, taints or its own status."""
    base = base or {}
    meta = dict(base.get("metadata") or {})
    meta["name"] = name
    labels = {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
              "beta.kubernetes.io/os": "linux", "beta.kubernetes.io/arch": "amd64"}
    if control_plane:
        labels["node-role.kubernetes.io/control-plane"] = ""
    labels.update(meta.get("labels") or {})
    meta["labels"] = labels
    status = {
        "conditions": [
            {"type": "MemoryPressure", "status": "False", "reason": "KubeletHasSufficientMemory"},
            {"type": "DiskPressure", "status": "False", "reason": "KubeletHasNoDiskPressure"},
            {"type": "PIDPressure", "status": "False", "reason": "KubeletHasSufficientPID"},
            {"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "kubelet is posting ready status"},
        ],
        "addresses": [{"type": "InternalIP", "address": f"192.168.49.{abs(hash(name)) % 200 + 2}"},
                      {"type": "Hostname", "address": name}],
        "capacity": {"cpu": "4", "memory": "16Gi", "pods": "110", "ephemeral-storage": "100Gi"},
        "allocatable": {"cpu": "4", "memory": "15Gi", "pods": "110", "ephemeral-storage": "95Gi"},
        "nodeInfo": {"kubeletVersion": version, "kubeProxyVersion": version, "containerRuntimeVersion":
                     "containerd://1.7.22", "osImage": "Debian GNU/Linux 12 (bookworm)", "operatingSystem": "linux",
                     "architecture": "amd64", "kernelVersion": "6.1.0-lab", "machineID": "", "systemUUID": "",
                     "bootID": ""},
    }
    ts = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    for c in status["conditions"]:
        c.update(lastHeartbeatTime=ts, lastTransitionTime=ts)
    if base.get("status"):
        status.update(base["status"])
    return {"apiVersion": "v1", "kind": "Node", "metadata": meta, "spec": base.get("spec") or {}, "status": status}

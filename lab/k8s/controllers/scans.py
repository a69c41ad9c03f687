"""The image scanner, as trivy-operator runs in a cluster: once the
``vulnerabilityreports.aquasecurity.github.io`` CRD is there, every ReplicaSet, StatefulSet
and DaemonSet gets one VulnerabilityReport per container (``<kind>-<name>-<container>``,
labelled ``trivy-operator.resource.*``), with the documented ``report`` schema: the scanned
artifact, the scanner, a summary and the findings.

Findings come from the lab's catalog (``lab/app/catalog.py``, a build's ``vulnerabilities``);
an image the lab knows nothing of is reported clean. The annotation
``lab.golive.io/scan: "false"`` on a workload or its Pod template leaves it unscanned.
"""

from __future__ import annotations

import hashlib

from lab.app import catalog

from .common import K_DS, K_RS, K_STS, LAB, ApiError, now_iso, owner_ref

K_REPORT = ("aquasecurity.github.io", "vulnerabilityreports")
KINDS = {K_RS: "ReplicaSet", K_STS: "StatefulSet", K_DS: "DaemonSet"}
SEVERITIES = ("criticalCount", "highCount", "mediumCount", "lowCount", "unknownCount")


def _artifact(image: str) -> tuple[dict, dict]:
    """``(registry, artifact)`` of an image reference, as the report names them."""
    name, _, digest = image.partition("@")
    first, _, rest = name.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        registry, path = first, rest
    else:
        registry, path = "docker.io", name
    repository, _, tag = path.rpartition(":") if ":" in path else (path, "", "")
    artifact = {"repository": repository, "tag": tag or "latest"}
    if digest:
        artifact["digest"] = digest
    return {"server": registry}, artifact


def findings(image: str) -> list:
    """The lab catalog's findings for an image (none for images it does not know)."""
    try:
        _app, _tag, build = catalog.resolve(image)
    except catalog.PullError:
        return []
    return [dict(v) for v in build.get("vulnerabilities") or []]


K_CRD = ("apiextensions.k8s.io", "customresourcedefinitions")


def _watch(key):
    return lambda etype, ns, name: [] if etype == "DELETED" else [("scan", key, ns, name)]


class Scans:
    HANDLERS = {"scan": "_h_scan", "scan_all": "_h_scan_all"}
    WATCHES = dict([(key, _watch(key)) for key in KINDS]
                   + [(K_CRD, lambda etype, ns, name: [("scan-all",)] if name == "vulnerabilityreports."
                       "aquasecurity.github.io" and etype != "DELETED" else [])])

    def _h_scan_all(self) -> None:
        """The CRD appeared: every workload there is gets its reports."""
        for key in KINDS:
            for entry in self.store.list(key):
                self.enqueue("scan", key, entry.obj["metadata"]["namespace"], entry.obj["metadata"]["name"])

    def _h_scan(self, key, ns: str, name: str) -> None:
        if self.cluster.registry.by_key(K_REPORT) is None:
            return  # no trivy-operator in this cluster
        obj = self.get(key, ns, name)
        if obj is None or obj["metadata"].get("deletionTimestamp"):
            return
        template = (obj.get("spec") or {}).get("template") or {}
        annotations = dict((template.get("metadata") or {}).get("annotations") or {},
                           **(obj["metadata"].get("annotations") or {}))
        if annotations.get(LAB + "scan") == "false":
            return
        kind = KINDS[key]
        pod = ((obj.get("spec") or {}).get("template") or {}).get("spec") or {}
        for container in (pod.get("initContainers") or []) + (pod.get("containers") or []):
            report_name = f"{kind.lower()}-{name}-{container['name']}"[:253]
            if self.get(K_REPORT, ns, report_name) is not None:
                continue
            vulns = findings(container.get("image", ""))
            registry, artifact = _artifact(container.get("image", ""))
            summary = dict((k, 0) for k in SEVERITIES)
            for vuln in vulns:
                field = str(vuln.get("severity", "UNKNOWN")).lower() + "Count"
                summary[field if field in summary else "unknownCount"] += 1
            body = {"apiVersion": "aquasecurity.github.io/v1alpha1", "kind": "VulnerabilityReport",
                    "metadata": {"name": report_name, "namespace": ns, "ownerReferences": [owner_ref(obj)],
                                 "labels": {"trivy-operator.resource.kind": kind,
                                            "trivy-operator.resource.name": name,
                                            "trivy-operator.resource.namespace": ns,
                                            "trivy-operator.container.name": container["name"],
                                            "resource-spec-hash": hashlib.sha256(
                                                container.get("image", "").encode()).hexdigest()[:10]}},
                    "report": {"artifact": artifact, "registry": registry, "os": {"family": "debian", "name": "12.8"},
                               "scanner": {"name": "Trivy", "vendor": "Aqua Security", "version": "0.57.1"},
                               "summary": summary, "updateTimestamp": now_iso(), "vulnerabilities": vulns}}
            try:
                self.create(K_REPORT, ns, body)
            except ApiError as exc:
                if exc.code != 409:
                    raise

"""The resource registry: which kinds the lab API server serves, and how.

Built-in kinds are declared in a compact table; kinds added by
CustomResourceDefinitions are registered and removed at runtime.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

CRUD = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
SUB_VERBS = ["get", "patch", "update"]


@dataclass
class Resource:
    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool
    short_names: list[str] = field(default_factory=list)
    subresources: tuple[str, ...] = ()
    verbs: list[str] = field(default_factory=lambda: list(CRUD))
    categories: list[str] = field(default_factory=list)
    singular: str = ""
    crd: bool = False
    # For custom resources: where the scale subresource reads and writes.
    scale_spec_path: str = ".spec.replicas"
    scale_status_path: str = ".status.replicas"
    scale_selector_path: str = ""

    def __post_init__(self) -> None:
        if not self.singular:
            self.singular = self.kind.lower()

    @property
    def key(self) -> tuple[str, str]:
        """Storage key: objects are kept per group and plural, whatever the version."""
        return (self.group, self.plural)

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def has_status(self) -> bool:
        return "status" in self.subresources

    @property
    def prefix(self) -> str:
        return f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"


def _r(gv: str, kind: str, plural: str, namespaced: bool = True, short: str = "",
       sub: str = "", verbs: list[str] | None = None, cat: str = "") -> Resource:
    group, _, version = gv.rpartition("/")
    return Resource(
        group=group, version=version, kind=kind, plural=plural, namespaced=namespaced,
        short_names=short.split() if short else [],
        subresources=tuple(sub.split()) if sub else (),
        verbs=verbs if verbs is not None else list(CRUD),
        categories=cat.split() if cat else [],
    )


CREATE_ONLY = ["create"]

BUILTIN: list[Resource] = [
    _r("v1", "Namespace", "namespaces", False, "ns", "status finalize",
       verbs=["create", "delete", "get", "list", "patch", "update", "watch"]),
    _r("v1", "Pod", "pods", True, "po", "status log eviction", cat="all"),
    _r("v1", "Service", "services", True, "svc", "status", cat="all"),
    _r("v1", "Endpoints", "endpoints", True, "ep"),
    _r("v1", "ConfigMap", "configmaps", True, "cm"),
    _r("v1", "Secret", "secrets", True),
    _r("v1", "ServiceAccount", "serviceaccounts", True, "sa", "token"),
    _r("v1", "Event", "events", True, "ev"),
    _r("v1", "Node", "nodes", False, "no", "status"),
    _r("v1", "PersistentVolumeClaim", "persistentvolumeclaims", True, "pvc", "status"),
    _r("v1", "PersistentVolume", "persistentvolumes", False, "pv", "status"),
    _r("v1", "ResourceQuota", "resourcequotas", True, "quota", "status"),
    _r("v1", "LimitRange", "limitranges", True, "limits"),
    _r("apps/v1", "Deployment", "deployments", True, "deploy", "status scale", cat="all"),
    _r("apps/v1", "ReplicaSet", "replicasets", True, "rs", "status scale", cat="all"),
    _r("apps/v1", "StatefulSet", "statefulsets", True, "sts", "status scale", cat="all"),
    _r("apps/v1", "DaemonSet", "daemonsets", True, "ds", "status", cat="all"),
    _r("apps/v1", "ControllerRevision", "controllerrevisions", True),
    _r("batch/v1", "Job", "jobs", True, "", "status", cat="all"),
    _r("batch/v1", "CronJob", "cronjobs", True, "cj", "status", cat="all"),
    _r("autoscaling/v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", True, "hpa", "status",
       cat="all"),
    _r("networking.k8s.io/v1", "Ingress", "ingresses", True, "ing", "status"),
    _r("networking.k8s.io/v1", "IngressClass", "ingressclasses", False),
    _r("networking.k8s.io/v1", "NetworkPolicy", "networkpolicies", True, "netpol"),
    _r("discovery.k8s.io/v1", "EndpointSlice", "endpointslices", True),
    _r("storage.k8s.io/v1", "StorageClass", "storageclasses", False, "sc"),
    _r("rbac.authorization.k8s.io/v1", "Role", "roles", True),
    _r("rbac.authorization.k8s.io/v1", "ClusterRole", "clusterroles", False),
    _r("rbac.authorization.k8s.io/v1", "RoleBinding", "rolebindings", True),
    _r("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", "clusterrolebindings", False),
    _r("coordination.k8s.io/v1", "Lease", "leases", True),
    _r("scheduling.k8s.io/v1", "PriorityClass", "priorityclasses", False, "pc"),
    _r("policy/v1", "PodDisruptionBudget", "poddisruptionbudgets", True, "pdb", "status"),
    _r("apiextensions.k8s.io/v1", "CustomResourceDefinition", "customresourcedefinitions", False,
       "crd crds", "status"),
    _r("authorization.k8s.io/v1", "SelfSubjectAccessReview", "selfsubjectaccessreviews", False,
       verbs=CREATE_ONLY),
    _r("authorization.k8s.io/v1", "SelfSubjectRulesReview", "selfsubjectrulesreviews", False,
       verbs=CREATE_ONLY),
    _r("authentication.k8s.io/v1", "SelfSubjectReview", "selfsubjectreviews", False,
       verbs=CREATE_ONLY),
]

# Kinds that are answered, never stored.
VIRTUAL = {"selfsubjectaccessreviews", "selfsubjectrulesreviews", "selfsubjectreviews"}


class Registry:
    """All served resources, indexed for routing and discovery."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.by_gvr: dict[tuple[str, str, str], Resource] = {}
        self.by_gvk: dict[tuple[str, str, str], Resource] = {}
        self.group_versions: dict[str, list[str]] = {}  # group -> versions, preferred first
        for res in BUILTIN:
            self.add(res)

    def add(self, res: Resource) -> None:
        with self._lock:
            self.by_gvr[(res.group, res.version, res.plural)] = res
            self.by_gvk[(res.group, res.version, res.kind)] = res
            versions = self.group_versions.setdefault(res.group, [])
            if res.version not in versions:
                versions.append(res.version)

    def remove_crd(self, group: str, plural: str) -> None:
        with self._lock:
            for key, res in list(self.by_gvr.items()):
                if res.crd and res.group == group and res.plural == plural:
                    del self.by_gvr[key]
                    self.by_gvk.pop((res.group, res.version, res.kind), None)
            remaining = {r.version for r in self.by_gvr.values() if r.group == group}
            if group in self.group_versions:
                self.group_versions[group] = [v for v in self.group_versions[group] if v in remaining]
                if not self.group_versions[group]:
                    del self.group_versions[group]

    def get(self, group: str, version: str, plural: str) -> Resource | None:
        return self.by_gvr.get((group, version, plural))

    def for_kind(self, api_version: str, kind: str) -> Resource | None:
        group, _, version = api_version.rpartition("/")
        return self.by_gvk.get((group, version, kind))

    def by_key(self, key: tuple[str, str]) -> Resource | None:
        group, plural = key
        for version in self.group_versions.get(group, []):
            res = self.by_gvr.get((group, version, plural))
            if res is not None:
                return res
        return None

    def resources_in(self, group: str, version: str) -> list[Resource]:
        return [r for (g, v, _), r in list(self.by_gvr.items()) if g == group and v == version]

    def find_kind(self, kind: str) -> Resource | None:
        """A resource by kind only (preferred version), for scenario and policy convenience."""
        for res in list(self.by_gvr.values()):
            if res.kind == kind and self.group_versions[res.group][0] == res.version:
                return res
        return None

    def find_plural(self, group: str, plural: str) -> Resource | None:
        return self.by_key((group, plural))

"""Controllers: what turns the store into a cluster.

One worker thread (``engine.py``) reconciles keys queued by store events and by timers.
Each family of controllers is a module of its own, declaring which events it watches and
which queue items it handles; ``Controllers`` combines them into one dispatch table:

- ``lifecycle``: namespaces and garbage collection
- ``deployments``: Deployments (ReplicaSets per pod-template hash, revisions, rolling
  replacement) and ReplicaSets
- ``kubelet``: the simulated scheduler and kubelet (Pod readiness after `controller_delay`)
- ``pods``: Pods of the lab's own images as real processes (``lab/k8s/runtime.py``), when
  the server runs with a runtime
- ``network``: Service endpoints (Endpoints, EndpointSlices) and Ingress status
- ``sets``: StatefulSets and DaemonSets
- ``batch``: Jobs and CronJobs
- ``volumes``: PVC binding and PodDisruptionBudgets
- ``certificates``: cert-manager Issuers and Certificates
- ``scans``: VulnerabilityReports of every workload's images, as trivy-operator writes them
- ``autoscaling``: HorizontalPodAutoscalers over the Pod runtime's CPU and memory series

Lab annotations (prefix `lab.golive.io/`) steer the simulation:
  ready: "false"          on a Pod (template): containers start but never become Ready
  unready-nodes: "a,b"    on a DaemonSet: its Pods on those nodes never become Ready
  fail: "true"            on a Job's Pod template: Pods fail
  not-after-offset: "-1h" on a Certificate: issue with this lifetime (may be negative)
  scan: "false"           on a ReplicaSet, StatefulSet or DaemonSet: no VulnerabilityReport
"""

from __future__ import annotations

from .autoscaling import Autoscaling
from .batch import Batch, cron_times
from .certificates import Certificates
from .common import go_duration, template_hash
from .deployments import Deployments
from .engine import Engine
from .kubelet import Kubelet, tolerates
from .lifecycle import Lifecycle
from .network import Network
from .pods import Pods
from .scans import Scans
from .sets import Sets
from .volumes import Volumes

__all__ = ["Controllers", "cron_times", "go_duration", "template_hash", "tolerates"]


class Controllers(Engine, Lifecycle, Deployments, Kubelet, Pods, Network, Sets, Batch, Volumes, Certificates,
                  Scans, Autoscaling):
    """Every controller family on one engine."""

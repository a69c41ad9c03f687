"""The lab Kubernetes API server: an in-memory cluster served over HTTPS that the
official Python client, kubectl and kubernetes.core accept. See README.md."""

from .app import LabCluster, write_kubeconfig  # noqa: F401

"""[kube]: the Kubernetes API server and how Slurm node names map to Kubernetes node names."""

from __future__ import annotations

from ._base import Section


class KubeSection(Section):
    kubeconfig: str | None = None
    context: str | None = None
    node_map: dict[str, str] = {}          # dcops node name -> k8s node name (default: same name)
    drain_timeout: float = 300.0
    grace_period: int | None = None

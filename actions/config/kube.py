"""[kube]: the Kubernetes API server and how Slurm node names map to Kubernetes node names."""

from __future__ import annotations

from pydantic import Field

from ._base import Section

DEFAULT_OPERATOR_NAMESPACES = ["gpu-operator", "nvidia-gpu-operator", "network-operator", "nvidia-network-operator"]


class KubeSection(Section):
    kubeconfig: str | None = None  # default: $KUBECONFIG, else ~/.kube/config
    context: str | None = None  # kubeconfig context (default: its current-context)
    node_map: dict[str, str] = {}  # dcops node name -> k8s node name (default: same name)
    drain_timeout: float = Field(300.0, gt=0)  # seconds to keep retrying evictions PDBs refuse
    grace_period: int | None = Field(None, ge=0)  # pod grace period for evictions (default: the pod's own)
    request_timeout: float = Field(20.0, gt=0)  # seconds for any single API call
    operator_namespaces: list[str] = Field(default_factory=lambda: list(DEFAULT_OPERATOR_NAMESPACES))

    def kube_name(self, node: str) -> str:
        """The Kubernetes node name of a dcops node."""
        return self.node_map.get(node, node)

    def dcops_name(self, kube_node: str) -> str:
        """The dcops node name of a Kubernetes node (inverse of ``node_map``)."""
        for dcops, kube in self.node_map.items():
            if kube == kube_node:
                return dcops
        return kube_node

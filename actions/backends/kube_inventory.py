"""Kubernetes nodes as inventory, so a Kubernetes-only cluster (no Slurm, no ``[[nodes]]``) has
nodes to target, and a mixed one knows each node's Kubernetes name.

When other sources exist (Slurm, static entries) the API server being down must not stop Slurm
work, so the source is ``optional``: its failure is logged and it contributes no nodes.
"""

from __future__ import annotations

import logging

from ..config.kube import KubeSection
from ..errors import BackendError
from .models import NodeRef
from .ports import KubePort

log = logging.getLogger(__name__)


class KubeInventory:
    def __init__(self, kube: KubePort, section: KubeSection, *, optional: bool = False) -> None:
        self.kube = kube
        self.section = section
        self.optional = optional

    async def nodes(self) -> list[NodeRef]:
        try:
            found = await self.kube.nodes()
        except BackendError as exc:
            if not self.optional:
                raise
            log.warning("Kubernetes nodes left out of the inventory: %s", exc)
            return []
        return [
            NodeRef(
                name=self.section.dcops_name(n.name),
                kube_name=n.name,
                labels=tuple(f"{k}={v}" for k, v in sorted(n.labels.items())),
            )
            for n in found
        ]

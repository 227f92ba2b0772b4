"""SimInventory: the simulated nodes as dcops's inventory sees them (partitions, rack/IB labels,
and an address for each management plane; every node is also a Kubernetes node)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .cluster import SimCluster

if TYPE_CHECKING:  # imported when the refs are first made: `dcops --demo run ping` makes none
    from ..backends.models import NodeRef


class SimInventory:
    def __init__(self, sim: SimCluster) -> None:
        self.sim = sim
        self._refs: list[NodeRef] | None = None

    async def nodes(self) -> list[NodeRef]:
        if self._refs is None:  # the layout never changes: build the refs once
            from ..backends.models import NodeRef

            self._refs = [
                NodeRef(
                    name=n.name,
                    partitions=(n.partition,),
                    labels=(f"rack={n.rack}", "ib=ndr", "gpu=h100", f"partition={n.partition}"),
                    ssh_host=n.name,
                    bmc=f"sim://bmc/{n.name}",
                    kube_name=n.name,
                )
                for n in self.sim.nodes.values()
            ]
        return list(self._refs)

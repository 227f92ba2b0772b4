"""The node inventory the engine validates hostlists against.

Merges static ``[[nodes]]`` entries from the config with what the backend port reports (Slurm's
node list, or the simulator), caches the result briefly so a burst of requests costs one backend
call, and answers "which of these names are unknown" fast.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from .backends.ports import InventoryPort, SlurmPort
from .config.model import NodeEntry
from .errors import UsageError
from .hostlists import collapse, expand

if TYPE_CHECKING:  # at run time imported where a NodeRef is made: an action on the cluster
    # (run ping) builds no backend models (issue 16: CLI start)
    from .backends.models import NodeRef


class StaticInventory:
    """``[[nodes]]`` entries from the config file."""

    def __init__(self, entries: Sequence[NodeEntry]) -> None:
        from .backends.models import NodeRef

        refs: list[NodeRef] = []
        for entry in entries:
            for index, name in enumerate(expand(entry.names), start=1):
                fmt = {"name": name, "index": index}
                refs.append(
                    NodeRef(
                        name=name,
                        partitions=tuple(entry.partitions),
                        labels=tuple(entry.labels),
                        ssh_host=entry.ssh_host.format(**fmt) if entry.ssh_host else None,
                        bmc=entry.bmc.format(**fmt) if entry.bmc else None,
                    )
                )
        self._refs = refs

    async def nodes(self) -> list[NodeRef]:
        return list(self._refs)


class SlurmInventory:
    """Nodes as Slurm knows them (names, partitions, features as labels)."""

    def __init__(self, slurm: SlurmPort) -> None:
        self.slurm = slurm

    async def nodes(self) -> list[NodeRef]:
        from .backends.models import NodeRef

        return [NodeRef(name=n.name, partitions=n.partitions, labels=n.features) for n in await self.slurm.nodes()]


class MergedInventory:
    """Union of sources; for a node in several, the first source's non-empty fields win."""

    def __init__(self, sources: Sequence[InventoryPort]) -> None:
        self.sources = list(sources)

    async def nodes(self) -> list[NodeRef]:
        merged: dict[str, NodeRef] = {}
        for refs in await asyncio.gather(*(s.nodes() for s in self.sources)):
            for ref in refs:
                old = merged.get(ref.name)
                if old is None:
                    merged[ref.name] = ref
                else:
                    merged[ref.name] = old.model_copy(
                        update={k: v for k, v in ref.model_dump().items() if v and not getattr(old, k)}
                    )
        return list(merged.values())


class CachedInventory:
    def __init__(self, source: InventoryPort, ttl: float = 30.0) -> None:
        self.source = source
        self.ttl = ttl
        self._at = 0.0
        self._by_name: dict[str, NodeRef] = {}
        self._lock = asyncio.Lock()

    async def nodes(self) -> list[NodeRef]:
        return list((await self._index()).values())

    async def _index(self) -> dict[str, NodeRef]:
        if time.monotonic() - self._at > self.ttl:
            async with self._lock:
                if time.monotonic() - self._at > self.ttl:
                    self._by_name = {r.name: r for r in await self.source.nodes()}
                    self._at = time.monotonic()
        return self._by_name

    def cached_names(self) -> list[str]:
        return list(self._by_name)

    def invalidate(self) -> None:
        self._at = 0.0

    async def resolve(self, expr: str) -> list[NodeRef]:
        """Expand a hostlist and look every name up; unknown names are an error naming them."""
        names = expand(expr)
        index = await self._index()
        unknown = [n for n in names if n not in index]
        if unknown:
            self.invalidate()  # maybe the node is new: look again once
            index = await self._index()
            unknown = [n for n in names if n not in index]
        if unknown:
            known = collapse(index) if len(index) <= 5000 else f"{len(index)} nodes"
            raise UsageError(
                f"unknown node{'s' if len(unknown) > 1 else ''} {collapse(unknown)}; "
                f"this cluster has {known or 'no nodes'}"
            )
        return [index[n] for n in names]

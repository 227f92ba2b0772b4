"""The demo cluster's backends with the simulator built on first need (``dcops --demo``).

A CLI command on the demo cluster often touches no node at all (``run ping``, ``audit list``,
``policy check``): building the simulated cluster (its layout, 64 nodes, a workload) and importing
the simulator's modules is then pure start time (issue 16: ``dcops --demo run ping`` < 300 ms).
:func:`deferred_backends` gives a :class:`Backends` that looks like ``SimCluster(...).backends()``
and is one: the first lookup of an adapter, the inventory or an extra builds the cluster once and
every later one reads the same cluster, so nothing a user sees differs, only when the work happens.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import partial
from typing import TYPE_CHECKING, Any

from ..backends.bundle import Backends
from ..backends.registry import registered

if TYPE_CHECKING:
    from ..backends.models import NodeRef
    from .cluster import SimCluster


class _Later:
    """The one simulated cluster and its full bundle, made on the first call."""

    def __init__(self, kwargs: dict[str, Any]) -> None:
        self._kwargs = kwargs
        self._full: Backends | None = None

    def full(self) -> Backends:
        if self._full is None:
            from .cluster import SimCluster

            self._full = SimCluster(**self._kwargs).backends()
        return self._full

    def adapter(self, port: Any) -> Any:
        return self.full().get(port)


class _Inventory:
    """The simulator's inventory, asked for its nodes only when the engine needs them."""

    def __init__(self, later: _Later) -> None:
        self._later = later

    async def nodes(self) -> list[NodeRef]:
        nodes: list[NodeRef] = await self._later.full().inventory.nodes()
        return nodes


class _Extras(Mapping[str, Any]):
    """``backends.extras`` of the simulator (``fabric_links``, ``fabric_counters``, ``sim``),
    built on the first read."""

    def __init__(self, later: _Later) -> None:
        self._later = later

    def __getitem__(self, key: str) -> Any:
        return self._later.full().extras[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._later.full().extras)

    def __len__(self) -> int:
        return len(self._later.full().extras)


def deferred_backends(**kwargs: Any) -> Backends:
    """``SimCluster(**kwargs).backends()``, built on first use (see the module docstring)."""
    later = _Later(kwargs)
    backends = Backends(inventory=_Inventory(later), extras=_Extras(later))
    for spec in registered():
        if spec.simulate is not None:
            backends.put_lazy(spec.port, partial(later.adapter, spec.port))
    return backends


def built_cluster(backends: Backends) -> SimCluster | None:
    """The simulated cluster behind ``backends`` if it has been built (tests)."""
    extras = backends.extras
    if isinstance(extras, _Extras):
        full = extras._later._full
        return None if full is None else full.extras["sim"]
    sim: SimCluster | None = extras.get("sim")
    return sim

"""The set of backends one cluster has, looked up by port: ``ctx.backends.get(SlurmPort)`` returns
a ``SlurmPort`` (a type checker knows it) or fails with the one line that says which config section
to add. Which ports exist is not written here: every registered backend
(:mod:`dcops.actions.backends.registry`) can be held, so a new backend needs no edit of this class."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from ..errors import BackendUnavailable
from . import builtin as _builtin  # noqa: F401 - the built-in registrations must exist before any lookup
from .ports import InventoryPort
from .registry import PortKey, registered, spec_for, spec_named

P = TypeVar("P")


class Backends:
    """The adapters of one cluster, keyed by port, plus the inventory (always present) and
    ``extras`` (data that is no port, e.g. the simulator's fabric map: ``fabric_links``)."""

    def __init__(self, inventory: InventoryPort, *, extras: Mapping[str, Any] | None = None, **by_name: Any) -> None:
        """``by_name``: adapters by their registered name (``slurm=SlurmCli(...)``); None is no adapter."""
        self.inventory = inventory
        self.extras: dict[str, Any] = dict(extras or {})
        self._adapters: dict[object, Any] = {}
        for name, adapter in by_name.items():
            spec = spec_named(name)
            if spec is None:
                raise TypeError(f"Backends() got {name!r}, which is no registered backend")
            if adapter is not None:
                self._adapters[spec.port] = adapter

    def get(self, port: PortKey[P]) -> P:
        """The adapter for ``port``; :class:`BackendUnavailable` (exit 6) when none is configured."""
        adapter = self._adapters.get(port)
        if adapter is None:
            raise BackendUnavailable(spec_for(port).missing())
        return adapter

    def find(self, port: PortKey[P]) -> P | None:
        """The adapter for ``port``, or None: for what works without it (a plane the fleet skips)."""
        spec_for(port)  # a typo'd or unregistered port is a bug, not "absent"
        adapter: P | None = self._adapters.get(port)
        return adapter

    def has(self, port: PortKey[Any]) -> bool:
        return self.find(port) is not None

    def put(self, port: PortKey[P], adapter: P) -> None:
        spec_for(port)
        self._adapters[port] = adapter

    def without(self, *ports: PortKey[Any]) -> Backends:
        """A copy lacking ``ports`` (a cluster without them; tests and ``--no-*`` style views)."""
        for port in ports:
            spec_for(port)
        copy = Backends(self.inventory, extras=self.extras)
        copy._adapters = {p: a for p, a in self._adapters.items() if p not in ports}
        return copy

    def __getattr__(self, name: str) -> Any:
        """``backends.slurm`` for tests and the REPL (the adapter or None). Actions use :meth:`get`,
        which a type checker understands; a test keeps the action layer free of name lookups."""
        spec = spec_named(name) if not name.startswith("_") else None
        if spec is None:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        return self._adapters.get(spec.port)

    def __repr__(self) -> str:
        names = ", ".join(s.name for s in registered() if s.port in self._adapters)
        return f"Backends({names or 'no adapters'}; inventory={type(self.inventory).__name__})"

    async def aclose(self) -> None:
        """Close adapters that hold connections (SSH, HTTP clients); each closes at most once."""
        seen: set[int] = set()
        for adapter in [*self._adapters.values(), self.inventory]:
            if id(adapter) in seen:
                continue
            seen.add(id(adapter))
            close = getattr(adapter, "aclose", None)
            if close is not None:
                await close()

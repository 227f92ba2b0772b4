"""The set of backends one cluster has, looked up by port: ``ctx.backends.get(SlurmPort)`` returns
a ``SlurmPort`` (a type checker knows it) or fails with the one line that says which config section
to add. Which ports exist is not written here: every registered backend
(:mod:`dcops.actions.backends.registry`) can be held, so a new backend needs no edit of this class."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from ..errors import BackendUnavailable
from . import builtin as _builtin  # noqa: F401 - the built-in registrations must exist before any lookup
from .ports import InventoryPort
from .registry import PortKey, registered, spec_for, spec_named

P = TypeVar("P")


class _Deferred:
    """An adapter built on first lookup (:meth:`Backends.put_lazy`), once, shared by every copy
    of the bundle (:meth:`Backends.without`) so all of them see the same adapter."""

    __slots__ = ("adapter", "build")

    def __init__(self, build: Callable[[], Any]) -> None:
        self.build: Callable[[], Any] | None = build
        self.adapter: Any = None

    def get(self) -> Any:
        if self.build is not None:
            self.adapter, self.build = self.build(), None
        return self.adapter


class Backends:
    """The adapters of one cluster, keyed by port, plus the inventory (always present) and
    ``extras`` (data that is no port, e.g. the simulator's fabric map: ``fabric_links``)."""

    def __init__(self, inventory: InventoryPort, *, extras: Mapping[str, Any] | None = None, **by_name: Any) -> None:
        """``by_name``: adapters by their registered name (``slurm=SlurmCli(...)``); None is no adapter."""
        self.inventory = inventory
        # a Mapping that is no dict (the demo simulator's, built on first read) is kept as it is
        self.extras: Mapping[str, Any] = (
            extras if isinstance(extras, Mapping) and not isinstance(extras, dict) else dict(extras or {})
        )
        self._adapters: dict[object, Any] = {}
        for name, adapter in by_name.items():
            spec = spec_named(name)
            if spec is None:
                raise TypeError(f"Backends() got {name!r}, which is no registered backend")
            if adapter is not None:
                self._adapters[spec.port] = adapter

    def _lookup(self, port: object) -> Any:
        adapter = self._adapters.get(port)
        return adapter.get() if type(adapter) is _Deferred else adapter

    def get(self, port: PortKey[P]) -> P:
        """The adapter for ``port``; :class:`BackendUnavailable` (exit 6) when none is configured."""
        adapter: P | None = self._lookup(port)
        if adapter is None:
            raise BackendUnavailable(spec_for(port).missing())
        return adapter

    def find(self, port: PortKey[P]) -> P | None:
        """The adapter for ``port``, or None: for what works without it (a plane the fleet skips)."""
        spec_for(port)  # a typo'd or unregistered port is a bug, not "absent"
        adapter: P | None = self._lookup(port)
        return adapter

    def has(self, port: PortKey[Any]) -> bool:
        """Whether ``port`` has an adapter, without building a deferred one."""
        spec_for(port)
        return self._adapters.get(port) is not None

    def put(self, port: PortKey[P], adapter: P) -> None:
        spec_for(port)
        self._adapters[port] = adapter

    def put_lazy(self, port: PortKey[P], build: Callable[[], P]) -> None:
        """Hold ``port``'s adapter as ``build``, called on the first :meth:`get`/:meth:`find` (it must
        return an adapter, never None). The simulator holds every port this way: ``dcops --demo run
        ping`` then imports no simulated Prometheus (and its PromQL parser), Kubernetes or Redfish it
        never asks for (issue 16: a command imports only what it uses)."""
        spec_for(port)
        self._adapters[port] = _Deferred(build)

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
        return self._lookup(spec.port)

    def __repr__(self) -> str:
        names = ", ".join(s.name for s in registered() if s.port in self._adapters)
        return f"Backends({names or 'no adapters'}; inventory={type(self.inventory).__name__})"

    async def aclose(self) -> None:
        """Close adapters that hold connections (SSH, HTTP clients); each closes at most once. A
        deferred adapter never built holds nothing, and is not built to be closed."""
        seen: set[int] = set()
        built = [a.adapter if type(a) is _Deferred else a for a in self._adapters.values()]
        for adapter in [*built, self.inventory]:
            if adapter is None:
                continue
            if id(adapter) in seen:
                continue
            seen.add(id(adapter))
            close = getattr(adapter, "aclose", None)
            if close is not None:
                await close()

"""One registration per backend: its port, its config section, the factory that builds the real
adapter from that section, the simulator's stand-in, and (optionally) the inventory it adds.

Before this module, adding a backend took seven edits by convention (port, models, a field on the
bundle, a factory branch, a config field, the simulator's bundle, the adapter) and was looked up by
string (``require("slurm")``). Now an adapter module plus one :func:`register_backend` call is the
whole wiring: :func:`dcops.actions.backends.factory.build_backends` and the simulator loop over
:func:`registered`, and actions ask ``ctx.backends.get(SlurmPort)``, typed by the port.

The built-in registrations are in :mod:`dcops.actions.backends.builtin`; a site's own backend registers
the same way from its own module (see README "Adding a backend"). Its config section is then
accepted at the top level of the config file and validated by the registration's section model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pydantic import BaseModel

if TYPE_CHECKING:
    from ..config.model import DcopsConfig
    from ..sim import SimCluster
    from .ports import InventoryPort

P = TypeVar("P")

# A port as a lookup key: the Protocol class itself (``SlurmPort``). Spelled ``Callable[..., P]``, not
# ``type[P]``: mypy refuses a Protocol where ``type[P]`` is expected ("only concrete class",
# python/mypy#4717), while a class object matches ``Callable[..., P]`` with the same inference, so
# ``backends.get(SlurmPort)`` is a ``SlurmPort`` to the type checker. Nothing ever calls it.
PortKey = Callable[..., P]


@dataclass(frozen=True)
class BackendSpec(Generic[P]):
    """Everything dcops knows about one kind of backend."""

    name: str  # config section and the word users see: "slurm"
    port: PortKey[P]  # the typing.Protocol actions ask for
    label: str  # in messages: "Slurm"
    # (section, whole config) -> adapter; imports the adapter lazily so an unused backend's client
    # library (kubernetes, ansible-runner) is never imported
    build: Callable[[Any, DcopsConfig], P]
    section: type[BaseModel] | None = None  # the [name] section's model (built-ins: a DcopsConfig field)
    simulate: Callable[[SimCluster], P] | None = None  # the demo simulator's implementation
    # (adapter, section, optional) -> an inventory source merged over [[nodes]] (Slurm, Kubernetes);
    # optional: other sources exist, so a failing one is reported rather than fatal
    inventory: Callable[[P, Any, bool], InventoryPort] | None = None

    def missing(self) -> str:
        """The one line a user sees when an action needs this backend and the cluster has none."""
        return f"this cluster has no {self.name} backend configured (add a [{self.name}] section to the config file)"


_BY_PORT: dict[object, BackendSpec[Any]] = {}
_BY_NAME: dict[str, BackendSpec[Any]] = {}


def register_backend(spec: BackendSpec[P]) -> BackendSpec[P]:
    """Add a backend; a second registration of the same port or name is refused (it would silently
    replace an adapter every action of that port then talks to)."""
    if not spec.name.isidentifier() or spec.name.startswith("_"):
        raise ValueError(f"backend name {spec.name!r} must be a plain identifier (it is a config section)")
    for taken, what in ((_BY_PORT.get(spec.port), "port"), (_BY_NAME.get(spec.name), "name")):
        if taken is not None and taken is not spec:
            raise ValueError(f"a backend with this {what} is already registered: {taken.name!r}")
    _BY_PORT[spec.port] = spec
    _BY_NAME[spec.name] = spec
    return spec


def unregister_backend(port: PortKey[Any]) -> None:
    """Remove a registration (tests that register their own backend clean up with this)."""
    spec = _BY_PORT.pop(port, None)
    if spec is not None:
        _BY_NAME.pop(spec.name, None)


def spec_for(port: PortKey[P]) -> BackendSpec[P]:
    """The registration of a port; a str or an unregistered class is a programming error, said so."""
    key: object = port
    if isinstance(key, str):
        raise TypeError(f"backends are looked up by port, not by name: pass {_hint(key)}, not {key!r}")
    try:
        return _BY_PORT[key]
    except (KeyError, TypeError):
        raise ValueError(f"{port_name(port)!r} is not a registered backend port") from None


def port_name(port: PortKey[Any]) -> str:
    return str(getattr(port, "__name__", port))


def spec_named(name: str) -> BackendSpec[Any] | None:
    return _BY_NAME.get(name)


def registered() -> tuple[BackendSpec[Any], ...]:
    """Every registration, in registration order (the order adapters are built and closed in)."""
    return tuple(_BY_PORT.values())


def _hint(name: str) -> str:
    spec = _BY_NAME.get(name)
    return port_name(spec.port) if spec is not None else "the port class"

"""The set of backends one cluster has. Actions ask for a port with :meth:`Backends.require`,
which fails with a clear message when the cluster has no such backend configured."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import BackendUnavailable
from .ports import AlertmanagerPort, AnsiblePort, InventoryPort, KubePort, PrometheusPort, RedfishPort, SlurmPort, SshPort

_PORT_NAMES = ("slurm", "kube", "redfish", "ssh", "prometheus", "alertmanager", "ansible")


@dataclass
class Backends:
    inventory: InventoryPort
    slurm: SlurmPort | None = None
    kube: KubePort | None = None
    redfish: RedfishPort | None = None
    ssh: SshPort | None = None
    prometheus: PrometheusPort | None = None
    ansible: AnsiblePort | None = None
    alertmanager: AlertmanagerPort | None = None
    extras: dict[str, Any] = field(default_factory=dict)   # e.g. "topology": the IB fabric map

    def require(self, port: str) -> Any:
        if port not in _PORT_NAMES:
            raise ValueError(f"unknown port {port!r}")
        adapter = getattr(self, port)
        if adapter is None:
            raise BackendUnavailable(
                f"this cluster has no {port} backend configured (add a [{port}] section to the config file)"
            )
        return adapter

    def has(self, port: str) -> bool:
        return getattr(self, port, None) is not None

    async def aclose(self) -> None:
        """Close adapters that hold connections (SSH, HTTP clients); each closes at most once."""
        seen: set[int] = set()
        for name in _PORT_NAMES + ("inventory",):
            adapter = getattr(self, name)
            if adapter is None or id(adapter) in seen:
                continue
            seen.add(id(adapter))
            close = getattr(adapter, "aclose", None)
            if close is not None:
                await close()

"""Build a cluster's :class:`Backends` from its config: the simulator for ``--demo``, else one
adapter per configured section of every registered backend (:mod:`dcops.actions.backends.registry`).
Adapters are imported lazily by their registrations, so a site without Kubernetes never imports
the kubernetes client."""

from __future__ import annotations

from typing import Any

from ..config.model import DcopsConfig
from ..inventory import MergedInventory, StaticInventory
from .bundle import Backends
from .registry import registered


def build_backends(config: DcopsConfig) -> Backends:
    if config.cluster.demo:  # the simulator, built when a command first needs it
        from ..sim.deferred import deferred_backends

        return deferred_backends(nodes=config.cluster.demo_nodes, time_scale=config.cluster.demo_time_scale)
    backends = Backends(inventory=StaticInventory(config.nodes))
    sources: list[Any] = [backends.inventory]
    for spec in registered():
        section = config.backend_section(spec.name)
        if section is None:
            continue
        adapter = spec.build(section, config)
        backends.put(spec.port, adapter)
        if spec.inventory is not None:  # Slurm, Kubernetes: more nodes merged over [[nodes]]
            sources.append(spec.inventory(adapter, section, len(sources) > 1 or bool(config.nodes)))
    if len(sources) > 1:
        backends.inventory = MergedInventory(sources)
    return backends

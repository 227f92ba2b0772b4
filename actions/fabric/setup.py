"""Where the fabric actions find their inputs in a run's context: the topology (the config's
``topology`` file, else the simulator's ``fabric_links``), the Prometheus label conventions, the
thresholds, and the optional backends triage uses."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..backends.ports import PrometheusPort, SlurmPort, SshPort
from ..errors import UsageError
from .topology import Topology
from .triage import Sources

if TYPE_CHECKING:
    from ..context import ActionContext


def topology(ctx: ActionContext, *, required: bool = True) -> Topology | None:
    if ctx.config.topology:
        return Topology.from_file(ctx.config.topology)
    links = ctx.backends.extras.get("fabric_links")
    if links is not None:
        return Topology.from_dicts(links)
    if required:
        raise UsageError(
            'no fabric topology: set topology = "FILE" in the config (one cable per line; '
            "python -m dcops.actions.fabric.ibnetdiscover converts ibnetdiscover output)"
        )
    return None


def node_label(ctx: ActionContext) -> str:
    return ctx.config.prometheus.node_label if ctx.config.prometheus else "Hostname"


def instance_map(ctx: ActionContext) -> dict[str, str]:
    return dict(ctx.config.prometheus.instance_map) if ctx.config.prometheus else {}


def sources(ctx: ActionContext) -> Sources:
    b = ctx.backends
    return Sources(
        prometheus=b.get(PrometheusPort),
        ssh=b.find(SshPort),
        slurm=b.find(SlurmPort),
        switch_counters=b.extras.get("fabric_counters"),
        instance_map=instance_map(ctx),
        thresholds=dict(ctx.config.thresholds),
    )

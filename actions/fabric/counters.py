"""InfiniBand counter growth per port over UFM's windows, from Prometheus (node_exporter's
infiniband collector) for host ports and from an optional switch-port counter source (counter names
and UFM's windows: docs/infiniband.md, docs/metrics-and-alerts.md).

Growth, not raw values: counters only ever rise (until someone clears them), so what matters is
how much each rose over the last 12 and 125 minutes. One ``increase()`` query per counter and
window covers every port at once; they run concurrently.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from ..backends.ports import PrometheusPort
from ..metrics.promql import AnyOf, selector
from .thresholds import LONG_WINDOW, SHORT_WINDOW
from .topology import Endpoint

# node_exporter counter (without the node_infiniband_ prefix) -> what operators call it
COUNTERS: dict[str, str] = {
    "symbol_error_total": "symbol errors",
    "link_downed_total": "link downed",
    "link_error_recovery_total": "link error recovery",
    "port_errors_received_total": "port receive errors",
    "port_receive_remote_physical_errors_total": "receive remote physical errors",
    "local_link_integrity_errors_total": "local link integrity errors",
    "excessive_buffer_overrun_errors_total": "excessive buffer overruns",
    "port_transmit_wait_total": "xmit wait",
}
WINDOWS = (SHORT_WINDOW, LONG_WINDOW)
INSTANCE_TAIL = r"([.:].*)?"  # "gpu001", "gpu001:9100", "gpu001.cluster.local:9100"

SwitchCounterSource = Callable[..., Mapping[str, float]]  # (endpoint, at=unix time) -> counters


@dataclass
class PortGrowth:
    """How much each counter rose over each window (seconds -> counter -> increase)."""

    by_window: dict[int, dict[str, float]] = field(default_factory=dict)

    def get(self, counter: str, window: int) -> float:
        return self.by_window.get(window, {}).get(counter, 0.0)

    @property
    def short(self) -> dict[str, float]:
        return self.by_window.get(SHORT_WINDOW, {})


def node_of_instance(instance: str, instance_map: Mapping[str, str] | None = None) -> str:
    """The node behind a node_exporter ``instance``: mapped, else the host part without domain."""
    if instance_map and instance in instance_map:
        return instance_map[instance]
    return instance.rsplit(":", 1)[0].split(".", 1)[0] if ":" in instance else instance.split(".", 1)[0]


def growth_queries(nodes: Iterable[str] | None, windows: Iterable[int] = WINDOWS) -> dict[tuple[str, int], str]:
    """The PromQL behind :func:`host_port_growth` (also what the benchmark times on its own)."""
    matchers = {"instance": AnyOf.of(nodes, INSTANCE_TAIL)} if nodes is not None else {}
    return {(c, w): f"increase({selector('node_infiniband_' + c, matchers)}[{w}s])" for c in COUNTERS for w in windows}


async def host_port_growth(
    prom: PrometheusPort,
    nodes: Iterable[str] | None = None,
    *,
    instance_map: Mapping[str, str] | None = None,
    windows: Iterable[int] = WINDOWS,
) -> dict[Endpoint, PortGrowth]:
    """Counter growth for every host port Prometheus has (or those of ``nodes``)."""
    queries = growth_queries(list(nodes) if nodes is not None else None, windows)
    results = await asyncio.gather(*(prom.query(q) for q in queries.values()))
    out: dict[Endpoint, PortGrowth] = {}
    for (counter, window), samples in zip(queries, results):
        for s in samples:
            device, port = s.labels.get("device"), s.labels.get("port", "1")
            if not device or not port.isdigit() or s.value != s.value:  # NaN: too few samples
                continue
            end = Endpoint(
                name=node_of_instance(s.labels.get("instance", ""), instance_map), device=device, port=int(port)
            )
            out.setdefault(end, PortGrowth()).by_window.setdefault(window, {})[counter] = max(0.0, s.value)
    return out


async def prometheus_now(prom: PrometheusPort) -> float:
    """The time as the metrics backend sees it (the simulator's clock may not be the wall clock)."""
    (sample,) = await prom.query("time()")
    return sample.value


def switch_port_growth(
    source: SwitchCounterSource, end: Endpoint, now: float, windows: Iterable[int] = WINDOWS
) -> PortGrowth:
    """Growth for a switch port from a source that can read its counters at a past time."""
    current = source(str(end), at=now)
    growth = PortGrowth()
    for window in windows:
        before = source(str(end), at=now - window)
        growth.by_window[window] = {
            c: max(0.0, float(current.get(c, 0)) - float(before.get(c, 0))) for c in COUNTERS if c in current
        }
    return growth


def fmt_count(value: float) -> str:
    return f"{value:,.0f}" if value >= 1 or value == 0 else f"{value:.2f}"

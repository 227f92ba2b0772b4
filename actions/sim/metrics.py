"""The simulated Prometheus's series: DCGM exporter GPU metrics and node_exporter InfiniBand
metrics for every node, with the label sets the real exporters use (docs/metrics-and-alerts.md), plus ``up``.

Series are not stored: ``select`` walks the metric families and nodes a query's matchers allow
(an exact ``Hostname`` or ``instance`` narrows it to one node) and hands the evaluator a value
function per series that reads ``telemetry`` / ``fabric`` at any scrape time.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial

from . import fabric
from .cluster import SimCluster
from .promql import LabelMatcher, Labels, ValueFn
from .scenario import GPU_MODEL
from .state import SimNode
from .telemetry import COUNTER_FIELDS, GPU_FIELDS, SCRAPE_SECONDS, gpu_uuid, gpu_value, pci_bus_id, reporting

DCGM_PORT, NODE_PORT = 9400, 9100
IB_GAUGES = ("state_id", "physical_state_id", "rate_bytes_per_second")
_STATE_IDS = {"Down": 1, "Init": 2, "Armed": 3, "Active": 4}
_PHYS_IDS = {"Sleep": 1, "Polling": 2, "Disabled": 3, "LinkUp": 5}


@dataclass(frozen=True)
class Family:
    name: str
    kind: str  # "gpu", "ib", "ib_info", "up"
    field: str
    type: str  # "gauge" or "counter" (as the exporter declares it)


def _families() -> dict[str, Family]:
    out = {
        f"DCGM_FI_DEV_{f}": Family(f"DCGM_FI_DEV_{f}", "gpu", f, "counter" if f in COUNTER_FIELDS else "gauge")
        for f in GPU_FIELDS
    }
    out |= {f"node_infiniband_{c}": Family(f"node_infiniband_{c}", "ib", c, "counter") for c in fabric.IB_COUNTERS}
    out |= {f"node_infiniband_{g}": Family(f"node_infiniband_{g}", "ib", g, "gauge") for g in IB_GAUGES}
    out["node_infiniband_info"] = Family("node_infiniband_info", "ib_info", "", "gauge")
    out["up"] = Family("up", "up", "", "gauge")
    return out


FAMILIES = _families()


_HOST_LABELS = {
    "gpu": ("Hostname", "instance", "job"),
    "ib": ("instance", "job"),
    "ib_info": ("instance", "job"),
    "up": (),
}


def _host_labels(kind: str, node: str) -> Labels:
    if kind == "gpu":
        return {"Hostname": node, "instance": f"{node}:{DCGM_PORT}", "job": "dcgm-exporter"}
    return {"instance": f"{node}:{NODE_PORT}", "job": "node"}


class SimSource:
    """A promql.SeriesSource over the simulated cluster. ``horizon``: no samples after it."""

    scrape_interval = SCRAPE_SECONDS

    def __init__(self, sim: SimCluster) -> None:
        self.sim = sim
        self.horizon = float("inf")

    def select(self, matchers: Sequence[LabelMatcher]) -> Iterator[tuple[Labels, ValueFn]]:
        names = [m for m in matchers if m.name == "__name__"]
        families = [f for name, f in FAMILIES.items() if all(m.matches({"__name__": name}) for m in names)]
        nodes = self._nodes(matchers)
        for family in families:
            host_level = [m for m in matchers if m.name in _HOST_LABELS[family.kind]]
            for node in nodes:
                if host_level and not all(m.matches(_host_labels(family.kind, node.name)) for m in host_level):
                    continue  # skip building per-GPU/per-port labels of this node
                for labels, fn in self._series(family, node):
                    if all(m.matches(labels) for m in matchers):
                        yield labels, fn

    def _nodes(self, matchers: Sequence[LabelMatcher]) -> Iterable[SimNode]:
        for m in matchers:
            if m.op == "=" and m.name in ("Hostname", "instance"):
                node = self.sim.nodes.get(m.value.split(":", 1)[0])
                return [node] if node is not None else []
        return self.sim.nodes.values()

    def _guard(self, node: SimNode, fn: ValueFn) -> ValueFn:
        def value(t: float) -> float | None:
            if t > self.horizon or not reporting(node, t):
                return None
            return fn(t)

        return value

    def _series(self, family: Family, node: SimNode) -> Iterator[tuple[Labels, ValueFn]]:
        sim, name = self.sim, node.name
        if family.kind == "up":
            for job, port in (("dcgm-exporter", DCGM_PORT), ("node", NODE_PORT)):
                yield (
                    {"__name__": "up", "instance": f"{name}:{port}", "job": job},
                    lambda t: None if t > self.horizon else float(reporting(node, t)),
                )
            return
        if family.kind == "gpu":
            uuids: dict[str, list[str]] = sim.cache.setdefault("gpu_uuids", {})
            if name not in uuids:
                uuids[name] = [gpu_uuid(sim.seed, name, gpu) for gpu in range(8)]
            for gpu in range(8):
                labels = {
                    "__name__": family.name,
                    "gpu": str(gpu),
                    "UUID": uuids[name][gpu],
                    "device": f"nvidia{gpu}",
                    "modelName": GPU_MODEL,
                    "pci_bus_id": pci_bus_id(gpu),
                    "Hostname": name,
                    "instance": f"{name}:{DCGM_PORT}",
                    "job": "dcgm-exporter",
                }
                yield labels, self._guard(node, partial(gpu_value, sim, node, gpu, family.field))
            return
        for device in fabric.DEVICES:
            base = {"__name__": family.name, "device": device, "instance": f"{name}:{NODE_PORT}", "job": "node"}
            if family.kind == "ib_info":
                from .firmware import inventory

                labels = base | {
                    "board_id": "MT_0000000838",
                    "firmware_version": inventory(sim, node)["HCA0"],
                    "hca_type": "MT4129",
                }
                yield labels, self._guard(node, lambda t: 1.0)
                continue
            yield base | {"port": "1"}, self._guard(node, partial(_ib_value, sim, name, device, family.field))


def _ib_value(sim: SimCluster, node: str, device: str, field: str, t: float) -> float:
    if field == "rate_bytes_per_second":
        return fabric.LINK_BITS_PER_SECOND / 8
    if field in ("state_id", "physical_state_id"):
        state, phys = fabric.port_state(sim, node, device, t)
        return float(_STATE_IDS[state] if field == "state_id" else _PHYS_IDS[phys])
    return fabric.ib_counter(sim, node, device, field, t)

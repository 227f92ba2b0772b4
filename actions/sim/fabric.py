"""The simulated InfiniBand fabric: who is cabled to which switch port, and each port's counters.

Every node has two NDR HCAs (``mlx5_0`` on rail A, ``mlx5_1`` on rail B), port 1 each, cabled by
DAC to its rack's leaf of that rail; leaves go up to spines over optics. The links are plain dicts
(``{"a": "gpu001:mlx5_0:1", "b": "ibsw-r01-a:1", "speed": "NDR", ...}``) so the fabric module can
read them without knowing the simulator.

Counters are closed-form functions of time (no stored state), monotonic from each port's last
clear, so Prometheus, ``mlxlink`` and ``ibstat`` agree at any instant. The story's ports: a
degrading cable (symbol errors growing faster and faster, effective BER above the NDR error
threshold), a flapping link (link_downed rising on both ends) and a congested port (only
port_transmit_wait grows: congestion, not a fault).
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

from ..errors import BackendError
from .cluster import SimCluster
from .scenario import NODES_PER_RACK, Layout, rand01

DEVICES = ("mlx5_0", "mlx5_1")
RAILS = {"mlx5_0": "a", "mlx5_1": "b"}
LINK_BITS_PER_SECOND = 400e9
LANES = 4
UPLINKS = 4
FIRST_UPLINK_PORT = 33
LEAVES_PER_SPINE_GROUP = 64
NODE_CABLE = {
    "speed": "NDR",
    "rate_gbps": 400,
    "width": "4x",
    "media": "DAC",
    "length_m": 2,
    "part_number": "MCP4Y10-N002",
}
UPLINK_CABLE = {
    "speed": "NDR",
    "rate_gbps": 400,
    "width": "4x",
    "media": "optical",
    "length_m": 30,
    "part_number": "MMA4Z00-NS",
}

BAD_CABLE_ONSET = 4 * 3600.0  # seconds before the simulation starts
BAD_CABLE_CLEARED = 6 * 3600.0  # its counters were cleared this long before the start
FLAP_ONSET = 2 * 3600.0
FLAP_PERIOD = 420.0
FLAP_DOWN_SECONDS = 8.0


def leaf_of(layout: Layout, index: int, device: str) -> tuple[str, int]:
    return f"ibsw-{layout.rack(index)}-{RAILS[device]}", (index - 1) % NODES_PER_RACK + 1


def fabric_links(layout: Layout) -> list[dict[str, Any]]:
    """Every cable: node HCA ports to leaves, leaves to spines."""
    links: list[dict[str, Any]] = []
    leaves: list[str] = []
    for index, name in enumerate(layout.names, start=1):
        for device in DEVICES:
            switch, port = leaf_of(layout, index, device)
            if port == 1:
                leaves.append(switch)
            links.append({"a": f"{name}:{device}:1", "b": f"{switch}:{port}", **NODE_CABLE})
    for number, leaf in enumerate(leaves):
        group = number // LEAVES_PER_SPINE_GROUP
        for k in range(UPLINKS):
            spine = f"ibsw-s{group * UPLINKS + k + 1:02d}"
            links.append(
                {
                    "a": f"{leaf}:{FIRST_UPLINK_PORT + k}",
                    "b": f"{spine}:{number % LEAVES_PER_SPINE_GROUP + 1}",
                    **UPLINK_CABLE,
                }
            )
    return links


class PortParams(NamedTuple):
    """Per-port constants, computed once per simulator (hashing is the costly part)."""

    node_index: int
    role: str  # "", "bad_cable", "flapping", "congested"
    cleared: float  # when the port's counters were last cleared
    load: float  # bytes/s received
    symbol_rate: float  # healthy background symbol errors per second
    recovery_base: int
    wait_rate: float
    raw_ber: float


def _role(sim: SimCluster, index: int, device: str) -> str:
    story = sim.story
    if device != "mlx5_0":
        return ""
    return {story.bad_cable: "bad_cable", story.flapping: "flapping", story.congested: "congested"}.get(index, "")


def port_params(sim: SimCluster, node: str, device: str) -> PortParams:
    cache: dict[tuple[str, str], PortParams] = sim.cache.setdefault("ports", {})
    found = cache.get((node, device))
    if found is None:
        seed, index = sim.seed, sim.nodes[node].index
        role = _role(sim, index, device)
        cleared = (
            sim.epoch - BAD_CABLE_CLEARED
            if role == "bad_cable"
            else sim.epoch - 86400 * (2 + 12 * rand01(seed, node, device, "clear"))
        )
        raw = {"bad_cable": 2.4e-6, "flapping": 6e-7}.get(role, 1e-9 * (1 + 8 * rand01(seed, node, device, "raw")))
        found = PortParams(
            node_index=index,
            role=role,
            cleared=cleared,
            load=3e9 + 18e9 * rand01(seed, node, device, "load"),
            symbol_rate=1e-4 * rand01(seed, node, device, "sym"),
            recovery_base=math.floor(3 * rand01(seed, node, device, "rec")),
            wait_rate=2e8 if role == "congested" else 2e3 + 8e3 * rand01(seed, node, device, "wait"),
            raw_ber=raw,
        )
        cache[(node, device)] = found
    return found


def cleared_at(sim: SimCluster, node: str, device: str) -> float:
    return port_params(sim, node, device).cleared


def flap_state(sim: SimCluster, index: int, device: str, t: float) -> tuple[int, bool]:
    """(link-down events so far, link down right now) for the flapping link; (0, False) elsewhere."""
    if _role(sim, index, device) != "flapping":
        return 0, False
    since = t - (sim.epoch - FLAP_ONSET)
    if since < 0:
        return 0, False
    return int(since // FLAP_PERIOD) + 1, since % FLAP_PERIOD < FLAP_DOWN_SECONDS


def _wobbly(rate: float, elapsed: float, period: float) -> float:
    """rate * elapsed plus a wave whose slope never exceeds rate/2: zero at the clear, monotonic,
    and not a straight line (so rate() over it varies the way real traffic does)."""
    amp = rate * period / (4 * math.pi)
    return rate * elapsed + amp * math.sin(2 * math.pi * elapsed / period)


def _bad_cable_errors(sim: SimCluster, t: float) -> float:
    since = t - (sim.epoch - BAD_CABLE_ONSET)
    return 0.0 if since <= 0 else 4.0 * since + since * since / 3600.0


IB_COUNTERS = (
    "symbol_error_total",
    "link_downed_total",
    "link_error_recovery_total",
    "local_link_integrity_errors_total",
    "port_receive_remote_physical_errors_total",
    "port_errors_received_total",
    "excessive_buffer_overrun_errors_total",
    "port_transmit_wait_total",
    "port_data_received_bytes_total",
    "port_data_transmitted_bytes_total",
)


def ib_counter(sim: SimCluster, node: str, device: str, name: str, t: float) -> float:
    """One node_exporter infiniband counter (name without the ``node_infiniband_`` prefix) at t."""
    p = port_params(sim, node, device)
    elapsed = max(0.0, t - p.cleared)
    if name == "symbol_error_total":
        bad = math.floor(_bad_cable_errors(sim, t)) if p.role == "bad_cable" else 0
        return float(math.floor(elapsed * p.symbol_rate) + bad)
    if name in ("port_errors_received_total", "port_receive_remote_physical_errors_total"):
        errors = math.floor(_bad_cable_errors(sim, t) * 0.3) if p.role == "bad_cable" else 0
        return float(errors if name == "port_errors_received_total" else errors // 2)
    if name == "link_downed_total":
        return float(flap_state(sim, p.node_index, device, t)[0])
    if name == "link_error_recovery_total":
        return float(p.recovery_base + 3 * flap_state(sim, p.node_index, device, t)[0])
    if name == "port_transmit_wait_total":
        return float(math.floor(_wobbly(p.wait_rate, elapsed, 900.0)))
    if name == "port_data_received_bytes_total":
        return float(math.floor(_wobbly(p.load, elapsed, 600.0)))
    if name == "port_data_transmitted_bytes_total":
        return float(math.floor(_wobbly(p.load * 0.97, elapsed, 660.0)))
    if name in IB_COUNTERS:
        return 0.0
    raise KeyError(name)


def ib_counters(sim: SimCluster, node: str, device: str, t: float) -> dict[str, float]:
    """All node_exporter infiniband counters of one port at t."""
    return {name: ib_counter(sim, node, device, name, t) for name in IB_COUNTERS}


def raw_ber(sim: SimCluster, node: str, device: str) -> float:
    """Pre-FEC bit error rate of the port (UFM's NDR DAC thresholds: error 1e-6, warning 5e-7)."""
    return port_params(sim, node, device).raw_ber


def port_state(sim: SimCluster, node: str, device: str, t: float) -> tuple[str, str]:
    """(state, physical state) as ibstat words: Active/LinkUp, or Down/Polling while a flap lasts."""
    n = sim.nodes[node]
    _, down_now = flap_state(sim, n.index, device, t)
    if n.power != "On":
        return "Down", "Disabled"
    return ("Down", "Polling") if down_now else ("Active", "LinkUp")


def _endpoint_peer(sim: SimCluster, endpoint: str) -> tuple[str, str, bool] | None:
    """Map ``node:device:port`` or ``leaf:port`` to (node, device, is_switch_side)."""
    parts = endpoint.split(":")
    if len(parts) == 3 and parts[0] in sim.nodes and parts[1] in DEVICES:
        return parts[0], parts[1], False
    if len(parts) == 2 and parts[0].startswith("ibsw-") and parts[1].isdigit():
        switch, port = parts[0], int(parts[1])
        rack, _, rail = switch[len("ibsw-") :].rpartition("-")
        device = next((d for d, r in RAILS.items() if r == rail), None)
        if device is None or not rack.startswith("r") or not 1 <= port <= NODES_PER_RACK:
            return None
        index = (int(rack[1:]) - 1) * NODES_PER_RACK + port
        if sim.layout.has(index):
            return sim.layout.name(index), device, True
    return None


def port_counters(sim: SimCluster, endpoint: str, at: float | None = None) -> dict[str, float]:
    """Counters of either end of a node link, by endpoint as ``fabric_links`` names it.

    The switch end mirrors its node: link_downed is seen on both ends, receive and transmit swap,
    a bad cable shows fewer symbol errors on the switch side, congestion stays on the node side.
    Leaf-to-spine ports are healthy and not modelled beyond that: asking for one is an error.
    """
    t = sim.advance() if at is None else at
    found = _endpoint_peer(sim, endpoint)
    if found is None:
        raise BackendError(f"fabric: no simulated counters for port {endpoint!r} (node:device:port or leaf:port)")
    node, device, switch_side = found
    counters = ib_counters(sim, node, device, t)
    if not switch_side:
        return counters
    mirrored = dict(counters)
    mirrored["port_data_received_bytes_total"] = counters["port_data_transmitted_bytes_total"]
    mirrored["port_data_transmitted_bytes_total"] = counters["port_data_received_bytes_total"]
    mirrored["symbol_error_total"] = math.floor(counters["symbol_error_total"] * 0.3)
    mirrored["port_transmit_wait_total"] = math.floor(counters["port_transmit_wait_total"] * 0.01)
    return mirrored

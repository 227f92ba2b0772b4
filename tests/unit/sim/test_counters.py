"""Properties of the simulated counters, and the fabric data as the fabric module reads it."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from dcops.actions.fabric.topology import Topology
from dcops.actions.sim import ManualClock, SimCluster
from dcops.actions.sim.fabric import IB_COUNTERS, ib_counter
from dcops.actions.sim.telemetry import gpu_value

SIM = SimCluster(nodes=64, clock=ManualClock())
NODES = st.sampled_from(list(SIM.nodes))
TIMES = st.floats(min_value=SIM.epoch - 7 * 86400, max_value=SIM.epoch + 7 * 86400)


@settings(max_examples=60, deadline=None)
@given(
    node=NODES,
    device=st.sampled_from(["mlx5_0", "mlx5_1"]),
    name=st.sampled_from(IB_COUNTERS),
    t=TIMES,
    later=st.floats(min_value=0, max_value=86400),
)
def test_ib_counters_never_go_backwards(node: str, device: str, name: str, t: float, later: float) -> None:
    assert ib_counter(SIM, node, device, name, t + later) >= ib_counter(SIM, node, device, name, t) >= 0


@settings(max_examples=40, deadline=None)
@given(node=NODES, gpu=st.integers(min_value=0, max_value=7), t=TIMES, later=st.floats(min_value=0, max_value=86400))
def test_nvlink_crc_counter_never_goes_backwards(node: str, gpu: int, t: float, later: float) -> None:
    sim_node = SIM.nodes[node]
    before = gpu_value(SIM, sim_node, gpu, "NVLINK_CRC_FLIT_ERROR_COUNT_TOTAL", t)
    after = gpu_value(SIM, sim_node, gpu, "NVLINK_CRC_FLIT_ERROR_COUNT_TOTAL", t + later)
    if before is not None and after is not None:
        assert after >= before


def test_fabric_links_load_as_a_topology() -> None:
    links = SIM.backends().extras["fabric_links"]
    topology = Topology.from_dicts(links)
    assert len(topology.links) == len(links)

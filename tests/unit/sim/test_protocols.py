"""Every port the simulator hands out satisfies its Protocol, and the bundle is complete."""

from __future__ import annotations

import pytest

from dcops.actions.backends.ports import InventoryPort, SlurmPort
from dcops.actions.backends.registry import registered


def test_every_registered_port_is_simulated_and_satisfies_its_protocol(backends) -> None:
    assert isinstance(backends.inventory, InventoryPort)
    specs = registered()
    assert {s.name for s in specs} >= {"slurm", "kube", "redfish", "ssh", "prometheus", "ansible", "alertmanager"}
    for spec in specs:
        adapter = backends.get(spec.port)
        assert isinstance(adapter, spec.port), spec.name
        assert getattr(backends, spec.name) is adapter  # the REPL/test spelling is the same adapter


def test_a_port_is_looked_up_by_class_never_by_name(backends) -> None:
    with pytest.raises(TypeError, match="pass SlurmPort, not 'slurm'"):
        backends.has("slurm")
    with pytest.raises(TypeError, match="pass SlurmPort"):
        backends.get("slurm")
    assert backends.get(SlurmPort) is backends.slurm


def test_fabric_links_are_plain_data(backends) -> None:
    links = backends.extras["fabric_links"]
    node_links = [link for link in links if link["a"].startswith("gpu")]
    assert len(node_links) == 64 * 2
    first = node_links[0]
    assert first["a"] == "gpu001:mlx5_0:1" and first["b"] == "ibsw-r01-a:1"
    assert first["speed"] == "NDR" and first["rate_gbps"] == 400 and first["media"] == "DAC"
    uplinks = [link for link in links if link["a"].startswith("ibsw-")]
    assert uplinks and all(link["b"].startswith("ibsw-s") for link in uplinks)
    ends = [link["a"] for link in links] + [link["b"] for link in links]
    assert len(ends) == len(set(ends)), "every switch port is cabled once"


def test_flapping_link_counts_on_both_ends(backends, clock) -> None:
    counters = backends.extras["fabric_counters"]
    link = next(l for l in backends.extras["fabric_links"] if l["a"] == "gpu031:mlx5_0:1")
    before_node, before_switch = counters(link["a"])["link_downed_total"], counters(link["b"])["link_downed_total"]
    clock.advance(3600)
    after_node, after_switch = counters(link["a"])["link_downed_total"], counters(link["b"])["link_downed_total"]
    assert after_node > before_node and after_switch > before_switch
    healthy = next(l for l in backends.extras["fabric_links"] if l["a"] == "gpu002:mlx5_0:1")
    assert counters(healthy["a"])["link_downed_total"] == 0


async def test_every_backends_call_shares_one_world(sim) -> None:
    first, second = sim.backends(), sim.backends()
    await first.kube.cordon("gpu001")
    assert next(n for n in await second.kube.nodes() if n.name == "gpu001").unschedulable
    await first.slurm.drain(["gpu012"], "shared")
    (node,) = await second.slurm.nodes(["gpu012"])
    assert node.reason == "shared"
    assert first.extras["fabric_links"] is second.extras["fabric_links"]

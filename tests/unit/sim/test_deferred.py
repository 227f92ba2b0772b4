"""The demo cluster built on first need (``dcops --demo``: CLI start, issue 16), and the bundle's
deferred adapters it rests on. The point of both is only *when* work happens: these prove a
deferred bundle gives the same cluster and the same adapters as an eager one, builds once, and
never builds just to be asked whether a port exists or to be closed."""

from __future__ import annotations

import asyncio

import pytest

from dcops.actions.backends.bundle import Backends
from dcops.actions.backends.ports import KubePort, PrometheusPort, RedfishPort, SlurmPort
from dcops.actions.errors import BackendUnavailable
from dcops.actions.inventory import StaticInventory
from dcops.actions.sim import SimCluster
from dcops.actions.sim.deferred import built_cluster, deferred_backends


def test_nothing_is_built_until_a_port_an_extra_or_the_inventory_is_read() -> None:
    lazy = deferred_backends(nodes=8, time_scale=1000.0)
    assert built_cluster(lazy) is None
    assert lazy.has(SlurmPort) and lazy.has(PrometheusPort)  # known without building
    assert built_cluster(lazy) is None
    asyncio.run(lazy.aclose())  # closing builds nothing either
    assert built_cluster(lazy) is None
    slurm = lazy.get(SlurmPort)
    sim = built_cluster(lazy)
    assert sim is not None and lazy.extras["sim"] is sim
    assert lazy.get(SlurmPort) is slurm  # built once
    assert lazy.get(KubePort) is lazy.find(KubePort)  # every port reads the same cluster


@pytest.mark.parametrize("first", ["inventory", "extras", "adapter"])
def test_the_deferred_demo_is_the_same_cluster_as_the_eager_one(first: str) -> None:
    lazy = deferred_backends(nodes=8, time_scale=1000.0)
    eager = SimCluster(nodes=8, time_scale=1000.0).backends()
    if first == "inventory":
        names = [r.name for r in asyncio.run(lazy.inventory.nodes())]
    elif first == "extras":
        names = sorted(lazy.extras["sim"].nodes)
    else:
        names = [n.name for n in asyncio.run(lazy.get(SlurmPort).nodes())]
    assert names == [r.name for r in asyncio.run(eager.inventory.nodes())]
    assert set(lazy.extras) == set(eager.extras)
    assert lazy.extras["fabric_links"] == eager.extras["fabric_links"]
    lazy_nodes = asyncio.run(lazy.get(SlurmPort).nodes())
    eager_nodes = asyncio.run(eager.get(SlurmPort).nodes())
    assert [(n.name, n.state, n.partitions) for n in lazy_nodes] == [
        (n.name, n.state, n.partitions) for n in eager_nodes
    ]
    assert asyncio.run(lazy.inventory.nodes()) == asyncio.run(eager.inventory.nodes())


def test_a_copy_without_some_ports_shares_the_one_cluster() -> None:
    lazy = deferred_backends(nodes=4, time_scale=1000.0)
    bare = lazy.without(SlurmPort)
    assert not bare.has(SlurmPort) and bare.has(RedfishPort)
    with pytest.raises(BackendUnavailable):
        bare.get(SlurmPort)
    assert bare.get(RedfishPort) is lazy.get(RedfishPort)
    assert bare.extras["sim"] is lazy.extras["sim"]


class _Closing:
    def __init__(self) -> None:
        self.closed = 0

    async def aclose(self) -> None:
        self.closed += 1


def test_put_lazy_builds_on_first_lookup_once_and_closes_only_what_was_built() -> None:
    calls: list[str] = []

    def build(name: str) -> _Closing:
        calls.append(name)
        return _Closing()

    b = Backends(StaticInventory([]))
    b.put_lazy(SlurmPort, lambda: build("slurm"))
    b.put_lazy(KubePort, lambda: build("kube"))
    assert b.has(SlurmPort) and calls == []
    slurm = b.find(SlurmPort)
    assert b.get(SlurmPort) is slurm and b.slurm is slurm and calls == ["slurm"]
    asyncio.run(b.aclose())
    assert slurm.closed == 1 and calls == ["slurm"]  # the unbuilt kube adapter was not built to close
    with pytest.raises(ValueError, match="not a registered backend port"):
        b.put_lazy(object, lambda: build("x"))  # type: ignore[arg-type]

"""Fixtures: a 64-node simulator on a hand-moved clock, and its backends."""

from __future__ import annotations

import pytest

from dcops.actions.backends.bundle import Backends
from dcops.actions.sim import ManualClock, SimCluster


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def sim(clock: ManualClock) -> SimCluster:
    return SimCluster(nodes=64, seed=7, clock=clock)


@pytest.fixture
def backends(sim: SimCluster) -> Backends:
    return sim.backends()

"""Fixtures for the Redfish integration tests: 16 lab BMCs for the whole session (started by the
lab; if they cannot start, the tests fail), reset to a clean state before each test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from redfish_lab import redfish_section

from dcops.actions.backends.redfish import RedfishAdapter, build_redfish
from tests.lab import bmc as lab_bmc

LAB_NODES = 16


@pytest.fixture(scope="session")
def bmc_lab() -> Iterator[lab_bmc.LabBmcs]:
    from tests.lab.bmc.reinstall import HOOK

    lab = lab_bmc.start(LAB_NODES, update_seconds=1.0, reinstall_hook=HOOK)
    try:
        yield lab
    finally:
        lab_bmc.stop()


@pytest.fixture(scope="session")
def slurm_session():
    """The lab's real Slurm cluster (gpu[001-016], like the lab BMCs); reused when already up."""
    from tests.lab import slurm as lab_slurm

    running = lab_slurm.status()
    started = running is None
    lab = running or lab_slurm.start()
    try:
        yield lab
    finally:
        if started:
            lab_slurm.stop()


@pytest.fixture
def slurm_lab(slurm_session):
    """Every node idle and in service, no jobs, before each test."""
    slurm_session.reset()
    return slurm_session


@pytest.fixture(scope="session")
def ssh_session():
    """The lab's SSH nodes (network namespaces with sshd, gpu[001-016]); reused when already up."""
    from tests.lab import sshnodes

    running = sshnodes.status()
    lab = running or sshnodes.start()
    try:
        yield lab
    finally:
        if running is None:
            sshnodes.stop()


@pytest.fixture
def lab(bmc_lab: lab_bmc.LabBmcs) -> lab_bmc.LabBmcs:
    bmc_lab.reset()
    return bmc_lab


@pytest.fixture
async def redfish(lab: lab_bmc.LabBmcs) -> AsyncIterator[RedfishAdapter]:
    adapter = build_redfish(redfish_section(lab))
    adapter.poll_interval = 0.3
    try:
        yield adapter
    finally:
        await adapter.aclose()

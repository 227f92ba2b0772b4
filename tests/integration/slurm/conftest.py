"""Fixtures for the Slurm integration tests: the lab's real Slurm cluster for the session (reused
when already up, stopped at the end if this session started it), reset before each test (no jobs,
every node idle), the lab's SSH nodes, and dcops' Slurm CLI adapter pointed at the cluster. If a lab
cannot start, the tests fail (no skip)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from dcops.actions.backends.slurm_cli import SlurmCli
from dcops.actions.backends.slurm_runner import LocalRunner
from tests.lab import slurm as lab_slurm
from tests.lab import sshnodes
from tests.lab.fixtures import lab_or_fail

CLI_TIMEOUT = 8.0


@pytest.fixture(scope="session")
def slurm_cluster() -> Iterator[lab_slurm.SlurmLab]:
    yield from lab_or_fail(lab_slurm.session(), "Slurm")


@pytest.fixture
def cluster(slurm_cluster: lab_slurm.SlurmLab) -> lab_slurm.SlurmLab:
    """The lab with slurmctld and every slurmd up, no jobs, every node idle and without a reason."""
    slurm_cluster.reset()
    return slurm_cluster


@pytest.fixture
async def cli(cluster: lab_slurm.SlurmLab) -> AsyncIterator[SlurmCli]:
    adapter = SlurmCli(LocalRunner(timeout=CLI_TIMEOUT, env=cluster.env))
    yield adapter
    await adapter.aclose()  # its long-lived scontrol


@pytest.fixture(scope="session")
def ssh_nodes() -> Iterator[sshnodes.SshNodesLab]:
    yield from lab_or_fail(sshnodes.session(), "SSH")

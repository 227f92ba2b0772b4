"""The Slurm and SSH labs for the notebook test (the same session fixtures the Slurm and SSH tests use)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.lab import slurm as lab_slurm
from tests.lab import sshnodes
from tests.lab.fixtures import lab_or_fail


@pytest.fixture(scope="session")
def slurm_cluster() -> Iterator[lab_slurm.SlurmLab]:
    yield from lab_or_fail(lab_slurm.session(), "Slurm")


@pytest.fixture
def cluster(slurm_cluster: lab_slurm.SlurmLab) -> lab_slurm.SlurmLab:
    slurm_cluster.reset()
    return slurm_cluster


@pytest.fixture(scope="session")
def ssh_session() -> Iterator[sshnodes.SshNodesLab]:
    yield from lab_or_fail(sshnodes.session(), "SSH")


@pytest.fixture
def ssh_nodes(ssh_session: sshnodes.SshNodesLab) -> sshnodes.SshNodesLab:
    ssh_session.heal()
    ssh_session.reset_state()
    return ssh_session

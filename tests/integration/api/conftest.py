"""The Slurm lab for the notebook test (the same session fixture the Slurm tests use)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.lab import slurm as lab_slurm


@pytest.fixture(scope="session")
def slurm_cluster() -> Iterator[lab_slurm.SlurmLab]:
    try:
        with lab_slurm.session() as lab:
            yield lab
    except (lab_slurm.LabError, OSError) as exc:
        pytest.fail(f"the Slurm lab cannot start: {exc}")


@pytest.fixture
def cluster(slurm_cluster: lab_slurm.SlurmLab) -> lab_slurm.SlurmLab:
    slurm_cluster.reset()
    return slurm_cluster

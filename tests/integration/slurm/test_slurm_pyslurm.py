"""The pyslurm adapter against a real cluster, where pyslurm can be imported: pyslurm exists only
for Slurm 25.11, and the lab runs Debian's 22.05, so here these tests are skipped by design."""

from __future__ import annotations

import pytest

from tests.lab.slurm import SlurmLab

pyslurm = pytest.importorskip("pyslurm", reason="pyslurm is built for Slurm 25.11 only; the lab runs 22.05")


async def test_pyslurm_reads_the_lab_nodes(cluster: SlurmLab, monkeypatch: pytest.MonkeyPatch) -> None:
    from dcops.actions.backends.slurm_pyslurm import SlurmPyslurm

    monkeypatch.setenv("SLURM_CONF", str(cluster.conf_path))
    adapter = SlurmPyslurm(timeout=10)
    nodes = {n.name: n for n in await adapter.nodes()}
    assert len(nodes) == 16 and nodes["gpu001"].gpus == 8


async def test_pyslurm_drains_and_resumes(cluster: SlurmLab, monkeypatch: pytest.MonkeyPatch) -> None:
    from dcops.actions.backends.slurm_pyslurm import SlurmPyslurm

    monkeypatch.setenv("SLURM_CONF", str(cluster.conf_path))
    adapter = SlurmPyslurm(timeout=10)
    await adapter.drain(["gpu002"], "pyslurm test")
    assert cluster.node("gpu002")["State"] == "IDLE+DRAIN"
    await adapter.resume(["gpu002"])
    assert cluster.node("gpu002")["State"] == "IDLE"

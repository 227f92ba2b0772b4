"""Session fixtures for the metrics integration tests: one real metrics lab (Prometheus, 64
node_exporters on fake sysfs, the DCGM-format exporter, 3 h of backfilled history) for the whole
session, since Prometheus needs seconds to first data, the lab's SSH nodes (network namespaces
with real sshd and stand-in mlxlink/ibstat) and, for the jobs behind a link, the lab's real Slurm
cluster (both reused when another suite started them). If a lab
cannot start, every test here fails (no skip)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from dcops.actions import load_actions
from dcops.actions.backends.factory import build_backends
from dcops.actions.backends.prometheus import PrometheusAdapter
from dcops.actions.config.model import AuditSection, ClusterSection, DcopsConfig, NodeEntry
from dcops.actions.config.prometheus import PrometheusSection
from dcops.actions.config.slurm import SlurmSection
from dcops.actions.config.ssh import SshSection
from dcops.actions.engine import Engine
from dcops.actions.rbac import Policy
from dcops.actions.store.sqlite import SqliteStore
from tests.lab import slurm as lab_slurm
from tests.lab import sshnodes
from tests.lab.metrics import lab as metrics_lab_mod
from tests.lab.metrics.lab import MetricsLab


@pytest.fixture(scope="session")
def metrics_lab() -> Iterator[MetricsLab]:
    lab = metrics_lab_mod.start(nodes=64)
    try:
        yield lab
    finally:
        metrics_lab_mod.stop()


@pytest.fixture(scope="session")
def ssh_nodes() -> Iterator[sshnodes.SshNodesLab]:
    with sshnodes.session() as lab:  # gpu[001-016]; left running if another suite started it
        yield lab


@pytest.fixture(scope="session")
def slurm_session() -> Iterator[lab_slurm.SlurmLab]:
    with lab_slurm.session() as lab:  # a real slurmctld + slurmd for gpu[001-016]
        yield lab


@pytest.fixture
def slurm_cluster(slurm_session: lab_slurm.SlurmLab) -> Iterator[lab_slurm.SlurmLab]:
    slurm_session.reset()
    yield slurm_session
    slurm_session.cancel_all()


@pytest.fixture
async def prom(metrics_lab: MetricsLab) -> AsyncIterator[PrometheusAdapter]:
    adapter = PrometheusAdapter(metrics_lab.prometheus_url, timeout=10.0)
    try:
        yield adapter
    finally:
        await adapter.aclose()


def lab_config(
    tmp_path: Path,
    metrics_lab: MetricsLab,
    ssh: sshnodes.SshNodesLab,
    prometheus_url: str | None = None,
    slurm: lab_slurm.SlurmLab | None = None,
) -> DcopsConfig:
    return DcopsConfig(
        slurm=SlurmSection(mode="cli", env=slurm.env, timeout=8.0) if slurm else None,
        cluster=ClusterSection(name="lab"),
        audit=AuditSection(url=f"sqlite:///{tmp_path / 'audit.db'}"),
        nodes=[NodeEntry(names="gpu[001-064]", partitions=["gpu"])],
        prometheus=PrometheusSection(url=prometheus_url or metrics_lab.prometheus_url, timeout=5.0),
        ssh=SshSection(**ssh.ssh_config(connect_timeout=2.0, command_timeout=10.0)),
        topology=str(metrics_lab.topology_path),
    )


@pytest.fixture
async def make_engine(tmp_path: Path, metrics_lab: MetricsLab, ssh_nodes: sshnodes.SshNodesLab):
    """An engine on the labs, built from a config the way the CLI builds it."""
    load_actions()
    engines: list[Engine] = []
    ssh_nodes.heal()
    ssh_nodes.reset_state()

    async def make(prometheus_url: str | None = None, slurm: lab_slurm.SlurmLab | None = None) -> Engine:
        cfg = lab_config(tmp_path, metrics_lab, ssh_nodes, prometheus_url, slurm)
        eng = Engine(cfg, build_backends(cfg), SqliteStore(str(tmp_path / "audit.db")), Policy.demo())
        await eng.start()
        engines.append(eng)
        return eng

    yield make
    for eng in engines:
        await eng.aclose()  # closes its backends too
    ssh_nodes.heal()

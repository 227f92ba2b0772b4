"""Fixtures for the alert integration tests: the real labs together — Prometheus (metrics lab,
reused if running, else 16 nodes), Alertmanager fed by it with dcops' rules, Slurm (gpu[001-016])
and the SSH nodes — and an engine on all of them with an alert inbox whose webhook receiver
Alertmanager posts to (bearer token). If a lab cannot start, the tests fail (no skip)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from dcops.actions import load_actions
from dcops.actions.alerts import AlertInbox
from dcops.actions.backends.factory import build_backends
from dcops.actions.config.alerts import AlertmanagerSection, AlertsSection
from dcops.actions.config.model import AuditSection, ClusterSection, DcopsConfig, GuardsSection, NodeEntry
from dcops.actions.config.prometheus import PrometheusSection
from dcops.actions.config.slurm import SlurmSection
from dcops.actions.config.ssh import SshSection
from dcops.actions.engine import Engine
from dcops.actions.rbac import Policy
from dcops.actions.store.sqlite import SqliteStore
from dcops.bots.alert_webhook import WebhookServer, serve_webhook
from tests.lab import alertmanager as lab_am
from tests.lab import slurm as lab_slurm
from tests.lab import sshnodes
from tests.lab.fixtures import lab_or_fail
from tests.lab.metrics import lab as lab_metrics
from tests.lab.slurm.procs import session

TOKEN = "lab-alert-token-7f3a"
TOKEN_ENV = "DCOPS_LAB_ALERTS_TOKEN"


@pytest.fixture(scope="session")
def metrics_lab() -> Iterator[lab_metrics.MetricsLab]:
    yield from lab_or_fail(
        session(lab_metrics.status, lambda: lab_metrics.start(nodes=16), lab_metrics.stop), "metrics"
    )


@pytest.fixture(scope="session")
def am_lab(metrics_lab: lab_metrics.MetricsLab) -> Iterator[lab_am.AlertmanagerLab]:
    yield from lab_or_fail(lab_am.session(), "Alertmanager")


@pytest.fixture(scope="session")
def slurm_session() -> Iterator[lab_slurm.SlurmLab]:
    yield from lab_or_fail(lab_slurm.session(), "Slurm")


@pytest.fixture(scope="session")
def ssh_session() -> Iterator[sshnodes.SshNodesLab]:
    yield from lab_or_fail(sshnodes.session(), "SSH")


@pytest.fixture
def webhook_token() -> str:
    """The bearer token the lab's Alertmanager sends to dcops (test modules import no conftest)."""
    return TOKEN


@pytest.fixture
def slurm_cluster(slurm_session: lab_slurm.SlurmLab) -> Iterator[lab_slurm.SlurmLab]:
    slurm_session.reset()
    yield slurm_session
    slurm_session.cancel_all()


@pytest.fixture
def ssh_nodes(ssh_session: sshnodes.SshNodesLab) -> Iterator[sshnodes.SshNodesLab]:
    ssh_session.heal()
    ssh_session.reset_state()
    yield ssh_session
    ssh_session.reset_state()


@pytest.fixture
def clean_metrics(metrics_lab: lab_metrics.MetricsLab) -> Iterator[lab_metrics.MetricsLab]:
    """GPU overrides cleared before and after (a firing XID from one test must not leak)."""
    (metrics_lab.directory / "dcgm" / "scenario.json").write_text("{}")
    yield metrics_lab
    (metrics_lab.directory / "dcgm" / "scenario.json").write_text("{}")


def lab_config(
    tmp_path: Path,
    am: lab_am.AlertmanagerLab,
    slurm: lab_slurm.SlurmLab,
    ssh: sshnodes.SshNodesLab,
    metrics: lab_metrics.MetricsLab,
) -> DcopsConfig:
    return DcopsConfig(
        cluster=ClusterSection(name="lab"),
        audit=AuditSection(url=f"sqlite:///{tmp_path / 'audit.db'}"),
        guards=GuardsSection(max_partition_unavailable=1.0),
        nodes=[NodeEntry(names="gpu[001-016]", partitions=["gpu"])],
        slurm=SlurmSection(mode="cli", env=slurm.env, timeout=8.0),
        ssh=SshSection(**ssh.ssh_config(connect_timeout=2.0, command_timeout=20.0)),
        prometheus=PrometheusSection(url=metrics.prometheus_url, timeout=5.0),
        alertmanager=AlertmanagerSection(url=am.url, silence_hours=2),
        alerts=AlertsSection(token_env=TOKEN_ENV),
    )


@pytest.fixture
async def lab_engine(
    tmp_path: Path,
    am_lab: lab_am.AlertmanagerLab,
    slurm_cluster: lab_slurm.SlurmLab,
    ssh_nodes: sshnodes.SshNodesLab,
    clean_metrics: lab_metrics.MetricsLab,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[Engine]:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    load_actions()
    cfg = lab_config(tmp_path, am_lab, slurm_cluster, ssh_nodes, clean_metrics)
    eng = Engine(cfg, build_backends(cfg), SqliteStore(str(tmp_path / "audit.db")), Policy.demo())
    await eng.start()
    yield eng
    for s in am_lab.active_silences():  # leave Alertmanager as we found it
        import httpx

        httpx.delete(f"{am_lab.url}/api/v2/silence/{s['id']}", timeout=5)
    await eng.aclose()


@pytest.fixture
async def receiver(
    lab_engine: Engine, am_lab: lab_am.AlertmanagerLab
) -> AsyncIterator[tuple[AlertInbox, WebhookServer]]:
    """dcops' webhook receiver on loopback, with Alertmanager routed to it (bearer token)."""
    inbox = AlertInbox(lab_engine)
    server = await serve_webhook(inbox, lab_engine.config, host="127.0.0.1", port=0)
    am_lab.route_to_webhook(server.url, token=TOKEN)
    yield inbox, server
    am_lab.route_to_webhook(None)
    await server.stop()

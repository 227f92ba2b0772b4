"""A simulated-cluster engine with an alert inbox, and Alertmanager-shaped payloads."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from dcops.actions.alerts import AlertInbox
from dcops.actions.config.model import AuditSection, ClusterSection, DcopsConfig, GuardsSection
from dcops.actions.engine import Engine
from dcops.actions.rbac import Policy
from dcops.actions.sim import SimCluster
from dcops.actions.store.sqlite import SqliteStore


def payload(*alerts: dict[str, Any], receiver: str = "dcops", status: str = "firing") -> dict[str, Any]:
    return {
        "version": "4",
        "status": status,
        "receiver": receiver,
        "groupKey": '{}:{alertname="x"}',
        "truncatedAlerts": 0,
        "externalURL": "http://am",
        "commonLabels": {},
        "commonAnnotations": {},
        "groupLabels": {},
        "alerts": list(alerts),
    }


def alert(
    name: str = "GpuXidFellOffBus",
    node: str = "gpu003",
    fp: str = "a1b2c3d4e5f60718",
    *,
    status: str = "firing",
    starts: str = "2026-12-04T03:00:00Z",
    **labels: str,
) -> dict[str, Any]:
    return {
        "status": status,
        "labels": {"alertname": name, "node": node, "severity": "critical", **labels},
        "annotations": {"summary": f"{node}: {name}"},
        "startsAt": starts,
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prom/graph",
        "fingerprint": fp,
    }


@pytest.fixture
async def eng(tmp_path: Path) -> AsyncIterator[Engine]:
    cfg = DcopsConfig(
        cluster=ClusterSection(name="sim", demo=True),
        guards=GuardsSection(max_partition_unavailable=1.0),
        audit=AuditSection(url=f"sqlite:///{tmp_path / 'a.db'}"),
    )
    e = Engine(cfg, SimCluster(nodes=64).backends(), SqliteStore(str(tmp_path / "a.db")), Policy.demo())
    await e.start()
    yield e
    await e.aclose()


@pytest.fixture
async def inbox(eng: Engine) -> AlertInbox:
    return AlertInbox(eng)

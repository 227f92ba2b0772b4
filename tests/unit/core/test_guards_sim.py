"""Guards against the simulated cluster: the partition blast radius and per-role target limits."""

from __future__ import annotations

from pathlib import Path

import pytest

from dcops.actions.config.model import AuditSection, ClusterSection, DcopsConfig, GuardsSection
from dcops.actions.engine import Engine
from dcops.actions.errors import DeniedError
from dcops.actions.rbac import Policy
from dcops.actions.request import Request
from dcops.actions.sim import SimCluster
from dcops.actions.store.base import AuditQuery
from dcops.actions.store.sqlite import SqliteStore


@pytest.fixture
async def eng(tmp_path: Path):
    cfg = DcopsConfig(
        cluster=ClusterSection(name="sim", demo=True),
        guards=GuardsSection(max_partition_unavailable=0.25),
        audit=AuditSection(url=f"sqlite:///{tmp_path / 'a.db'}"),
    )
    e = Engine(cfg, SimCluster(nodes=64).backends(), SqliteStore(str(tmp_path / "a.db")), Policy.demo())
    await e.start()
    yield e
    await e.aclose()


def drain(nodes: str, who: str = "unix:root") -> Request:
    return Request(principal=who, channel="cli", action="drain", params={"nodes": nodes, "reason": "test"})


async def test_blast_radius_refuses_with_the_numbers(eng: Engine) -> None:
    with pytest.raises(DeniedError) as exc:
        await eng.submit(drain("gpu[001-020]"))
    msg = str(exc.value)
    assert "partition gpu" in msg and "limit is 25%" in msg and "of 56 nodes" in msg
    denied = await eng.store.query(AuditQuery(event="denied"))
    assert denied and denied[0].detail == msg
    # a small drain passes, and then counts against the next one
    assert (await (await eng.submit(drain("gpu[001-008]"))).wait()).outcome == "ok"
    with pytest.raises(DeniedError, match="out of service"):
        await eng.submit(drain("gpu[009-016]"))
    # dry-run still shows the plan
    run = await eng.submit(
        drain("gpu[001-020]").model_copy(update={"params": {"nodes": "gpu[001-020]", "reason": "t", "dry_run": True}})
    )
    assert (await run.wait()).outcome == "dry-run"


async def test_role_target_limit(eng: Engine) -> None:
    with pytest.raises(DeniedError, match="exceed the limit of 16"):
        await eng.submit(drain("gpu[001-017]", "unix:oncall"))

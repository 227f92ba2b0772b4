"""drain / resume / nodes --job logic on the simulated cluster (fast; the lab tests cover the real
Slurm): health-marked nodes, forced resume, the drain options' rules, wait timeouts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from dcops.actions.config.model import AuditSection, ClusterSection, DcopsConfig, GuardsSection
from dcops.actions.config.slurm import SlurmSection
from dcops.actions.engine import Engine
from dcops.actions.errors import UsageError
from dcops.actions.events import Error, Result, RunFinished, Step
from dcops.actions.hostlists import collapse
from dcops.actions.ops import _slurm_nodes
from dcops.actions.rbac import Policy
from dcops.actions.request import Request
from dcops.actions.sim import SimCluster
from dcops.actions.store.sqlite import SqliteStore


@pytest.fixture
async def eng(tmp_path: Path) -> AsyncIterator[Engine]:
    cfg = DcopsConfig(
        cluster=ClusterSection(name="sim", demo=True),
        guards=GuardsSection(max_partition_unavailable=1.0),
        audit=AuditSection(url=f"sqlite:///{tmp_path / 'a.db'}"),
        slurm=SlurmSection(health_reason_prefixes=["NHC:", "dcgm:"]),
    )
    e = Engine(cfg, SimCluster(nodes=64).backends(), SqliteStore(str(tmp_path / "a.db")), Policy.demo())
    await e.start()
    yield e
    await e.aclose()


async def run(eng: Engine, action: str, **params: Any) -> list[Any]:
    submitted = await eng.submit(Request(principal="unix:root", channel="cli", action=action, params=params))
    return [ev async for ev in submitted.events()]


def idle_nodes(eng: Engine, count: int) -> list[str]:
    sim = eng.backends.slurm.sim
    found = [n.name for n in sim.nodes.values() if not n.alloc and not n.drain and not n.down][:count]
    assert len(found) == count, "the simulated cluster has too few idle nodes for this test"
    return found


async def test_resume_refuses_nodes_whose_reason_a_health_check_wrote(eng: Engine) -> None:
    a, b = idle_nodes(eng, 2)
    await eng.backends.slurm.drain([a], "dcgm: diag level 3 failed on GPU 5")
    await eng.backends.slurm.drain([b], "maintenance")
    events = await run(eng, "resume", nodes=f"{a},{b}")
    assert events[-1].outcome == "failed"
    assert [e.message for e in events if isinstance(e, Error)][0].startswith(
        f"resume refused: {a} marked bad by a health check ('dcgm: diag level 3 failed on GPU 5')"
    )
    assert {n.name: n.drain_flag for n in await eng.backends.slurm.nodes([a, b])} == {a: True, b: True}

    events = await run(eng, "resume", nodes=f"{a},{b}", force=True, reason="GPU 5 replaced")
    assert events[-1].outcome == "ok"
    details = {
        e.target: e.detail
        for e in events
        if isinstance(e, Step) and e.status == "ok" and not e.detail.startswith("k8s:")
    }
    assert (
        details[a]
        == "resumed past health mark 'dcgm: diag level 3 failed on GPU 5': GPU 5 replaced [unix:root via cli]"
    )
    assert details[b] == "resumed"


async def test_resume_dry_run_says_it_would_be_refused(eng: Engine) -> None:
    [a] = idle_nodes(eng, 1)
    await eng.backends.slurm.drain([a], "NHC: check_fs_mount: /scratch missing")
    events = await run(eng, "resume", nodes=a, dry_run=True)
    result = [e for e in events if isinstance(e, Result)][-1]
    assert events[-1].outcome == "dry-run" and result.summary.startswith(f"resume would be refused: {a}")
    assert result.table.rows[0][3] == "refused: marked bad by a health check"


async def test_drain_options_are_checked_before_anything_runs(eng: Engine) -> None:
    [a] = idle_nodes(eng, 1)
    with pytest.raises(UsageError, match="not both"):
        await run(eng, "drain", nodes=a, reason="x", requeue_jobs=True, cancel_jobs=True)
    with pytest.raises(UsageError, match="--force needs --reason"):
        await run(eng, "resume", nodes=a, force=True)


async def test_drain_wait_on_idle_nodes_finishes_at_once(eng: Engine) -> None:
    nodes = idle_nodes(eng, 2)
    events = await run(eng, "drain", nodes=",".join(nodes), reason="rack move", wait=True, wait_timeout=5)
    assert isinstance(events[-1], RunFinished) and events[-1].outcome == "ok"
    assert [e.target for e in events if isinstance(e, Step) and e.detail == "no jobs left"] == nodes
    result = [e for e in events if isinstance(e, Result)][-1]
    assert result.summary.startswith(f"drained 2 node(s) {collapse(nodes)}; all jobs finished")
    assert [r[:2] for r in result.table.rows] == [[n, "drained"] for n in nodes]


def test_is_idle_needs_no_jobs_and_no_completing_flag() -> None:
    from dcops.actions.backends.models import NodeInfo

    assert _slurm_nodes.is_idle(NodeInfo(name="n", state="idle", flags=("DRAIN",)))
    assert not _slurm_nodes.is_idle(NodeInfo(name="n", state="idle", flags=("COMPLETING", "DRAIN")))
    assert not _slurm_nodes.is_idle(NodeInfo(name="n", state="mixed", flags=("DRAIN",), jobs=("1",)))

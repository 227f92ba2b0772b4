"""Step records of one backend call are written in one audit transaction (``Step(more=True)``),
and never later than the op's next move: a batch is written when its last step arrives, before
the generator runs on; an op that ends, fails or is stopped inside a batch still leaves every step
in the log, before its "finished" record."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from dcops.actions.backends.bundle import Backends
from dcops.actions.config.model import AuditSection, ClusterSection, DcopsConfig, NodeEntry
from dcops.actions.engine import Engine
from dcops.actions.events import ActionEvent, Result, Step
from dcops.actions.inventory import StaticInventory
from dcops.actions.rbac import Policy
from dcops.actions.registry import Kind, MutatingParams, Registry, TargetKind, action
from dcops.actions.request import Request
from dcops.actions.store.base import AuditQuery
from dcops.actions.store.sqlite import SqliteStore

ALLOW = '[roles.all]\nactions = ["*"]\n[[bindings]]\nprincipals = ["unix:*"]\nroles = ["all"]\n'
NODES = ["n01", "n02", "n03", "n04"]


class P(MutatingParams):
    nodes: str


reg = Registry()
seen_before_next_move: list[list[str]] = []  # what the log held each time the op moved on


def _reg(name: str):
    return action(name, help="t", params=P, kind=Kind.WRITE, targets=TargetKind.NODES, positional=("nodes",), into=reg)


@_reg("batched")
async def batched(ctx, p: P) -> AsyncIterator[ActionEvent]:
    for i, n in enumerate(ctx.nodes):
        yield Step(target=n, status="ok", detail="done", more=i < len(ctx.nodes) - 1)
    # the op's next move (a second backend call): the whole batch must be in the log by now
    seen_before_next_move.append(
        sorted(r.targets[0] for r in await ctx.store.query(AuditQuery(run_id=ctx.run_id, event="step", limit=100)))
    )
    yield Result(summary="ok")


@_reg("ends-inside")
async def ends_inside(ctx, p: P) -> AsyncIterator[ActionEvent]:
    yield Step(target=ctx.nodes[0], status="ok", detail="done", more=True)
    yield Step(target=ctx.nodes[1], status="ok", detail="done", more=True)
    raise RuntimeError("crashed between two steps of one call")


@_reg("stopped-inside")
async def stopped_inside(ctx, p: P) -> AsyncIterator[ActionEvent]:
    yield Step(target=ctx.nodes[0], status="ok", detail="done", more=True)
    await asyncio.sleep(3600)  # an op that breaks the contract: awaits inside a batch
    yield Result(summary="never")


@pytest.fixture
async def engine(tmp_path: Path):
    db = str(tmp_path / "audit.db")
    cfg = DcopsConfig(
        cluster=ClusterSection(name="t"),
        audit=AuditSection(url=f"sqlite:///{db}"),
        nodes=[NodeEntry(names="n[01-04]", partitions=["gpu"])],
    )
    store = SqliteStore(db)
    calls: list[list[str]] = []
    inner = store.append

    async def counting(entries):  # noqa: ANN001, ANN202
        calls.append([e.event for e in entries])
        return await inner(entries)

    store.append = counting  # type: ignore[method-assign]
    eng = Engine(cfg, Backends(inventory=StaticInventory(cfg.nodes)), store, Policy.from_toml(ALLOW), registry=reg)
    await eng.start()
    eng.append_calls = calls  # type: ignore[attr-defined]
    yield eng
    await eng.aclose()


async def _records(eng: Engine, run_id: str) -> list[tuple[str, str]]:
    recs = await eng.store.query(AuditQuery(run_id=run_id, limit=100))
    return [(r.event, r.targets[0] if r.event == "step" else "") for r in sorted(recs, key=lambda r: r.seq)]


async def test_a_batch_of_steps_is_one_transaction_written_before_the_op_moves_on(engine: Engine) -> None:
    seen_before_next_move.clear()
    run = await engine.submit(
        Request(principal="unix:t", channel="api", action="batched", params={"nodes": "n[01-04]"})
    )
    await run.wait()
    assert run.finished is not None and run.finished.outcome == "ok"
    assert seen_before_next_move == [NODES]
    step_calls = [c for c in engine.append_calls if "step" in c]  # type: ignore[attr-defined]
    assert step_calls == [["step"] * 4]
    assert [e for e, _ in await _records(engine, run.run_id)][-5:] == ["step"] * 4 + ["finished"]


async def test_an_op_that_fails_inside_a_batch_leaves_its_steps_before_finished(engine: Engine) -> None:
    run = await engine.submit(
        Request(principal="unix:t", channel="api", action="ends-inside", params={"nodes": "n[01-04]"})
    )
    await run.wait()
    assert run.finished is not None and run.finished.outcome == "failed"
    assert (await _records(engine, run.run_id))[-3:] == [("step", "n01"), ("step", "n02"), ("finished", "")]


async def test_a_stop_inside_a_batch_still_records_the_step(engine: Engine) -> None:
    run = await engine.submit(
        Request(principal="unix:t", channel="api", action="stopped-inside", params={"nodes": "n[01-04]"})
    )
    for _ in range(100):
        if "n01" in run.steps:
            break
        await asyncio.sleep(0.01)
    run.cancel()
    await run.wait()
    assert run.finished is not None and run.finished.outcome == "cancelled"
    records = await _records(engine, run.run_id)
    assert ("step", "n01") in records and records.index(("step", "n01")) < records.index(("finished", ""))

"""A stopped rollout tells the truth and can be undone (issue 18): every target ends in one final
state, the nodes left out of service are named from what Slurm shows, one `resume` step returns
them, and a stop is an audited request that only the requester, the approver or a principal the
policy grants `stop` may make -- from any process sharing the store."""

from __future__ import annotations

import asyncio

import pytest

from dcops.actions.config.model import AuditSection, ClusterSection, DcopsConfig
from dcops.actions.engine import Engine
from dcops.actions.errors import ApprovalRequired, DeniedError
from dcops.actions.rbac import Policy
from dcops.actions.request import Request
from dcops.actions.settle import FINAL_STATES
from dcops.actions.sim import SimCluster
from dcops.actions.store.base import AuditQuery
from dcops.actions.store.sqlite import SqliteStore

POLICY = """
[roles.ops]
actions = ["drain", "resume", "firmware", "firmware-update", "audit"]
approve = ["firmware-update"]
[roles.admin]
actions = ["*"]
[[bindings]]
principals = ["unix:alice", "unix:bob", "unix:carol"]
roles = ["ops"]
[[bindings]]
principals = ["unix:root"]
roles = ["admin"]
"""
NODES = "gpu[059-064]"
IMAGE = {"image": "http://files.example/bios-2.4.1.bin", "component": "BIOS"}


def _engine(tmp_path, sim: SimCluster) -> Engine:
    cfg = DcopsConfig(
        cluster=ClusterSection(name="t", demo=True), audit=AuditSection(url=f"sqlite:///{tmp_path / 'a.db'}")
    )
    return Engine(cfg, sim.backends(), SqliteStore(str(tmp_path / "a.db")), Policy.from_toml(POLICY))


async def _rollout(eng: Engine):
    with pytest.raises(ApprovalRequired) as asked:
        await eng.submit(
            Request(
                principal="unix:alice",
                channel="cli",
                action="firmware-update",
                params={"nodes": NODES, **IMAGE, "max_parallel": 2},
            )
        )
    return await eng.approve(asked.value.approval_id, "unix:bob", "cli")


async def _halfway(run) -> None:
    """Until two nodes finished and a third is drained mid-update."""
    done, drained = set(), set()
    async for ev in run.events():
        if ev.kind == "step" and ev.status == "ok":
            (done if ev.detail.startswith("updated") else drained).add(ev.target)
            if len(done) >= 2 and drained - done:
                return


async def _stop(eng: Engine, who: str, run_id: str):
    stop = await eng.submit(Request(principal=who, channel="tui", action="stop", params={"run": run_id}))
    await stop.wait()
    return stop


@pytest.mark.parametrize("stopper", ["unix:alice", "unix:bob", "unix:root"], ids=["requester", "approver", "admin"])
async def test_stop_halfway_names_the_leftovers_and_one_resume_returns_them(tmp_path, stopper):
    sim = SimCluster(nodes=64, time_scale=40.0)
    eng = _engine(tmp_path, sim)
    await eng.start()
    try:
        run = await _rollout(eng)
        await _halfway(run)
        stop = await _stop(eng, stopper, run.run_id)
        fin = await run.wait()
        slurm = {n.name: n for n in await sim.backends().slurm.nodes()}
        states = run.result.data["states"]
        left = fin.left_out_of_service
        assert fin.outcome == "cancelled" and fin.stopped_by == stopper
        assert stop.finished.outcome == "ok" and "cancelled" in stop.result.summary
        # every target: exactly one final state, none still "running"
        assert sorted(states) == [f"gpu{i:03d}" for i in range(59, 65)]
        assert set(states.values()) <= set(FINAL_STATES) and list(states.values()).count("done") >= 2
        assert all(run.steps[t].status != "running" for t in states)
        # the leftovers are exactly the nodes Slurm shows drained by this run
        truly_left = sorted(n for n in states if slurm[n].drain_flag and run.run_id in slurm[n].reason)
        assert left == truly_left and left, (left, states)
        assert f"resume {left[0]}" in fin.summary or "resume gpu[" in fin.summary
        # the finished record and per-target records say so too
        recs = await eng.store.query(AuditQuery(run_id=run.run_id))
        finished = [r for r in recs if r.event == "finished"][0]
        assert finished.outcome == "cancelled" and f"stopped by {stopper}" in finished.detail
        assert {r.targets[0] for r in recs if r.event == "step" and "after the stop" in (r.detail or "")} >= set(left)
        # one step to return them to service, through the engine (audited)
        back = await eng.submit(
            Request(
                principal="unix:alice",
                channel="tui",
                action="resume",
                params={"nodes": run.result.data["resume"].split(" ", 1)[1]},
            )
        )
        assert (await back.wait()).outcome == "ok"
        after = {n.name: n for n in await sim.backends().slurm.nodes(left)}
        assert not any(after[n].drain_flag for n in left)
    finally:
        await eng.aclose()


async def test_someone_else_may_not_stop_a_run_and_the_refusal_is_audited(tmp_path):
    sim = SimCluster(nodes=64, time_scale=40.0)
    eng = _engine(tmp_path, sim)
    await eng.start()
    try:
        run = await _rollout(eng)
        with pytest.raises(DeniedError, match="stopped by the person who asked"):
            await eng.submit(
                Request(principal="unix:carol", channel="slack", action="stop", params={"run": run.run_id})
            )
        await asyncio.sleep(1.0)
        assert run.active  # carol's refused stop did nothing
        denied = await eng.store.query(AuditQuery(action="stop", event="denied"))
        assert denied and denied[0].principal == "unix:carol"
        run.cancel()
        await run.wait()
    finally:
        await eng.aclose()


async def test_a_stop_from_another_process_reaches_the_run(tmp_path):
    """Two engines sharing one store stand for the bot and a TUI: the stop written by one is
    seen and obeyed by the engine running the run."""
    sim = SimCluster(nodes=64, time_scale=40.0)
    runner, other = _engine(tmp_path, sim), _engine(tmp_path, sim)
    await runner.start()
    await other.start()
    try:
        run = await _rollout(runner)
        await _halfway(run)
        assert other.get_run(run.run_id) is None  # not in the other process's memory
        stop = await _stop(other, "unix:root", run.run_id)
        fin = await run.wait()
        assert fin.outcome == "cancelled" and fin.stopped_by == "unix:root"
        assert stop.result.data["outcome"] == "cancelled"
    finally:
        await runner.aclose()
        await other.aclose()


async def test_stop_of_an_unknown_or_finished_run(tmp_path):
    sim = SimCluster(nodes=64, time_scale=1000.0)
    eng = _engine(tmp_path, sim)
    await eng.start()
    try:
        with pytest.raises(DeniedError):  # unknown run: not yours, and carol has no `stop`
            await eng.submit(Request(principal="unix:carol", channel="cli", action="stop", params={"run": "r-nope"}))
        unknown = await eng.submit(
            Request(principal="unix:root", channel="cli", action="stop", params={"run": "r-nope"})
        )
        assert (await unknown.wait()).outcome == "failed" and "no run 'r-nope'" in unknown.finished.summary
        drain = await eng.submit(
            Request(principal="unix:alice", channel="cli", action="drain", params={"nodes": "gpu060", "reason": "t"})
        )
        await drain.wait()
        late = await _stop(eng, "unix:alice", drain.run_id)
        assert "already ended: ok" in late.result.summary
    finally:
        await eng.aclose()

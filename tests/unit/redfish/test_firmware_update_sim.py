"""firmware-update's rollout logic on the simulator (fast): a failing node is reported and left
drained with the reason, the rest finish; a cancelled rollout resumed finishes only what is left.
The same flows run against the real labs in tests/integration/redfish."""

from __future__ import annotations

from dataclasses import replace

from dcops.actions.config.model import AuditSection, ClusterSection, DcopsConfig
from dcops.actions.engine import Engine
from dcops.actions.errors import ApprovalRequired
from dcops.actions.rbac import Policy
from dcops.actions.request import Request
from dcops.actions.sim import SimCluster
from dcops.actions.sim.scenario import Story
from dcops.actions.store.sqlite import SqliteStore

ALLOW_ALL = '[roles.all]\nactions = ["*"]\napprove = ["*"]\n[[bindings]]\nprincipals = ["unix:*"]\nroles = ["all"]\n'
IDLE = "gpu[059-064]"  # idle in the simulator's story: no waiting for jobs
IMAGE = {"image": "http://files.example/bios-2.4.1.bin", "component": "BIOS"}


async def _engine(tmp_path, sim: SimCluster) -> Engine:
    cfg = DcopsConfig(
        cluster=ClusterSection(name="t", demo=True), audit=AuditSection(url=f"sqlite:///{tmp_path / 'a.db'}")
    )
    eng = Engine(cfg, sim.backends(), SqliteStore(str(tmp_path / "a.db")), Policy.from_toml(ALLOW_ALL))
    await eng.start()
    return eng


async def _submit(eng: Engine, params: dict, **extra):
    try:
        return await eng.submit(
            Request(principal="unix:alice", channel="cli", action="firmware-update", params=params, **extra)
        )
    except ApprovalRequired as exc:
        return await eng.approve(exc.approval_id, "unix:bob", "cli")


async def test_failing_node_is_left_drained_and_the_rest_finish(tmp_path):
    sim = SimCluster(nodes=64, time_scale=1000.0, story=replace(Story(), firmware_fails=61))
    eng = await _engine(tmp_path, sim)
    try:
        run = await _submit(eng, {"nodes": IDLE, **IMAGE, "max_parallel": 2, "max_failures": 1})
        fin = await run.wait()
        slurm = {n.name: n for n in await sim.backends().slurm.nodes()}
        inv = {
            n: {c.id: c.version for c in await sim.backends().redfish.firmware_inventory(n)}
            for n in ("gpu059", "gpu061", "gpu064")
        }
    finally:
        await eng.aclose()
    assert fin.outcome == "failed"
    assert list(run.result.data["failed"]) == ["gpu061"]
    assert "signature does not match" in run.result.data["failed"]["gpu061"]
    assert len(run.result.data["updated"]) == 5
    assert slurm["gpu061"].drain_flag and "firmware-update run" in slurm["gpu061"].reason
    assert not any(slurm[n].drain_flag for n in ("gpu059", "gpu060", "gpu062", "gpu063", "gpu064"))
    assert inv["gpu059"]["BIOS"] == inv["gpu064"]["BIOS"] == "2.4.1" != inv["gpu061"]["BIOS"]


async def test_halts_when_failures_exceed_the_limit(tmp_path):
    sim = SimCluster(nodes=64, time_scale=1000.0, story=replace(Story(), firmware_fails=59))
    eng = await _engine(tmp_path, sim)
    try:
        run = await _submit(eng, {"nodes": IDLE, **IMAGE, "max_parallel": 1, "max_failures": 0})
        fin = await run.wait()
    finally:
        await eng.aclose()
    assert fin.outcome == "failed" and "rollout halted" in fin.summary
    assert list(run.result.data["failed"]) == ["gpu059"] and len(run.result.data["skipped"]) == 5


async def test_cancelled_rollout_resumed_does_only_the_rest(tmp_path):
    sim = SimCluster(nodes=64, time_scale=1000.0)
    eng = await _engine(tmp_path, sim)
    try:
        run = await _submit(eng, {"nodes": IDLE, **IMAGE, "max_parallel": 1})
        done: list[str] = []
        async for ev in run.events():
            if ev.kind == "step" and ev.status == "ok" and ev.detail.startswith("updated"):
                done.append(ev.target)
                if len(done) == 2:
                    run.cancel()
        assert run.finished.outcome == "cancelled"
        tasks_before = len(sim.tasks)
        again = await eng.resume_run(run.run_id, "unix:alice", "cli")
        fin = await again.wait()
        details = {
            e.target: e.detail
            for e in again.history
            if e.kind == "step"
            and e.status == "ok"
            and (e.detail.startswith("updated") or e.detail.startswith("already"))
        }
    finally:
        await eng.aclose()
    assert fin.outcome == "ok", fin.summary
    assert all(details[n].startswith(f"already done in run {run.run_id}") for n in done)
    assert len(details) == 6
    assert len(sim.tasks) - tasks_before <= 4  # no second update of the two finished nodes


async def test_node_drained_by_someone_else_is_updated_and_left_drained(tmp_path):
    sim = SimCluster(nodes=64, time_scale=1000.0)  # gpu052: drained by a colleague (ECC DBE, RMA)
    before = {n.name: n for n in await sim.backends().slurm.nodes(["gpu052"])}["gpu052"]
    eng = await _engine(tmp_path, sim)
    try:
        run = await _submit(eng, {"nodes": "gpu[052,059]", **IMAGE})
        fin = await run.wait()
        after = {n.name: n for n in await sim.backends().slurm.nodes(["gpu052", "gpu059"])}
    finally:
        await eng.aclose()
    assert fin.outcome == "ok", fin.summary
    assert before.drain_flag and after["gpu052"].drain_flag and not after["gpu059"].drain_flag
    assert after["gpu052"].reason == before.reason  # the colleague's reason, not ours
    detail = {e.target: e.detail for e in run.history if e.kind == "step" and e.status == "ok"}["gpu052"]
    assert detail.startswith("updated, verified: BIOS") and "left drained as found" in detail

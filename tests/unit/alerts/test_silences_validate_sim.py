"""On the simulated cluster: drain --silence makes one silence per node (matchers on the node,
created by the principal, comment = reason + run id, journaled, audited) and resume expires it; a
failed drain leaves none; validate names the failed check; resume --validate returns nothing when
a node fails; gpu-reset is refused while a process uses the GPU."""

from __future__ import annotations

from typing import Any

import pytest

from dcops.actions.config.alerts import ValidateSection
from dcops.actions.engine import Engine
from dcops.actions.errors import ConfirmationRequired
from dcops.actions.events import Error, Result, Step
from dcops.actions.request import Request
from dcops.actions.store.base import AuditQuery


async def run(eng: Engine, action: str, confirm: str | None = None, **params: Any) -> list[Any]:
    submitted = await eng.submit(
        Request(principal="unix:root", channel="cli", action=action, params=params, confirm=confirm)
    )
    return [ev async for ev in submitted.events()]


def idle(eng: Engine, count: int = 1) -> list[str]:
    sim = eng.backends.slurm.sim
    return [n.name for n in sim.nodes.values() if not n.alloc and not n.drain and not n.down][:count]


def busy(eng: Engine) -> str:
    sim = eng.backends.slurm.sim
    return next(n.name for n in sim.nodes.values() if n.alloc and not n.drain and not n.down)


async def test_drain_silence_then_resume_expires_it(eng: Engine) -> None:
    a, b = idle(eng, 2)
    events = await run(eng, "drain", nodes=f"{a},{b}", reason="xid 79 on GPU 3", silence=True, silence_hours=2)
    assert events[-1].outcome == "ok"
    run_id = events[-1].run_id
    am = eng.backends.alertmanager
    active = [s for s in await am.silences() if s.state == "active"]
    assert sorted(s.matchers["node"] for s in active) == sorted([a, b])
    assert all(s.created_by == "unix:root" and s.comment == f"xid 79 on GPU 3 (dcops run {run_id})" for s in active)
    assert set(await eng.store.journal_get(run_id, "silences")) == {a, b}
    steps = await eng.store.query(AuditQuery(run_id=run_id, event="step"))
    assert sum("alerts silenced for 2 h" in (r.detail or "") for r in steps) == 2
    listed = await run(eng, "silences")
    assert len(listed[-2].data) == 2 and listed[-2].data[0]["run_state"] == "ok"

    events = await run(eng, "resume", nodes=a)
    assert events[-1].outcome == "ok"
    by_node = {s.matchers["node"]: s.state for s in await am.silences()}
    assert by_node == {a: "expired", b: "active"}
    assert any(isinstance(e, Step) and e.target == a and "expired" in e.detail for e in events)


async def test_a_failed_drain_leaves_no_silence(eng: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    (a,) = idle(eng)

    async def broken(nodes, reason):  # noqa: ANN001, ANN202
        from dcops.actions.errors import BackendError

        raise BackendError("scontrol: slurmctld not responding")

    monkeypatch.setattr(eng.backends.slurm, "drain", broken)
    events = await run(eng, "drain", nodes=a, reason="x", silence=True)
    assert events[-1].outcome == "failed"
    assert [s.state for s in await eng.backends.alertmanager.silences()] == ["expired"]


async def test_validate_passes_a_healthy_node_and_names_the_failed_check(eng: Engine) -> None:
    a, b, c = idle(eng, 3)
    sim = eng.backends.slurm.sim
    sim.nodes[b].gpu_faults[3] = "GPU Memory"
    sim.nodes[c].nvlink_down[5] = (2, 7)
    events = await run(eng, "validate", nodes=f"{a},{b},{c}", level=2)
    res = next(e for e in events if isinstance(e, Result))
    assert events[-1].outcome == "failed" and not res.ok
    verdicts = {d["node"]: d for d in res.data}
    assert verdicts[a]["passed"] and not verdicts[b]["passed"] and not verdicts[c]["passed"]
    failed_b = [c_ for c_ in verdicts[b]["checks"] if not c_["ok"]]
    assert [x["name"] for x in failed_b] == ["dcgm"] and "GPU Memory failed on GPU 3" in failed_b[0]["detail"]
    assert "GPU 5 NVLink 2,7 inactive" in res.summary
    # level 1 does not run the memory test: the same node passes it
    events = await run(eng, "validate", nodes=b, level=1)
    assert events[-1].outcome == "ok"


async def test_resume_validate_returns_nothing_when_a_node_fails(eng: Engine) -> None:
    a, b = idle(eng, 2)
    await eng.backends.slurm.drain([a, b], "maintenance")
    eng.backends.slurm.sim.nodes[b].lost_gpus = (4,)
    events = await run(eng, "resume", nodes=f"{a},{b}", validate=True)
    res = next(e for e in events if isinstance(e, Result))
    assert not res.ok and res.summary.startswith(f"resume refused: validation failed on {b} ({b}: gpus: GPU 4 lost")
    assert all(n.drain_flag for n in await eng.backends.slurm.nodes([a, b]))
    eng.backends.slurm.sim.nodes[b].lost_gpus = ()
    events = await run(eng, "resume", nodes=f"{a},{b}", validate=True)
    assert events[-1].outcome == "ok"
    assert not any(n.drain_flag for n in await eng.backends.slurm.nodes([a, b]))


async def test_validation_is_mandatory_for_health_drained_nodes_when_configured(eng: Engine) -> None:
    (a,) = idle(eng)
    await eng.backends.slurm.drain([a], "NHC: GPU 2 ECC errors")
    eng.backends.slurm.sim.nodes[a].gpu_faults[2] = "GPU Memory"
    eng.config = eng.config.model_copy(
        update={"validate_": ValidateSection(mandatory_for_health_drained=True, level=2)}
    )
    events = await run(eng, "resume", nodes=a)
    assert "resume refused: validation failed" in next(e for e in events if isinstance(e, Result)).summary
    eng.backends.slurm.sim.nodes[a].gpu_faults.clear()
    events = await run(eng, "resume", nodes=a)  # passes: the health mark no longer blocks it
    assert events[-1].outcome == "ok"
    assert any(isinstance(e, Step) and "validation passed" in e.detail for e in events)


async def test_gpu_reset_is_confirmed_and_refused_while_in_use(eng: Engine) -> None:
    node = busy(eng)
    with pytest.raises(ConfirmationRequired):
        await eng.submit(
            Request(principal="unix:root", channel="cli", action="gpu-reset", params={"nodes": node, "gpu": 0})
        )
    events = await run(eng, "gpu-reset", confirm="1", nodes=node, gpu=0)
    err = next(e for e in events if isinstance(e, Error))
    assert events[-1].outcome == "failed" and err.message.startswith(
        f"gpu-reset refused: GPU 0 of {node} is in use by pid"
    )
    (free,) = idle(eng)
    eng.backends.slurm.sim.nodes[free].gpu_faults[1] = "SM Stress"
    events = await run(eng, "gpu-reset", confirm="1", nodes=free, gpu=1)
    assert events[-1].outcome == "ok" and "reset GPU 1" in events[-1].summary
    assert eng.backends.slurm.sim.nodes[free].gpu_faults == {}
    events = await run(eng, "gpu-reset", confirm="1", nodes=free, gpu=9)
    assert "has no GPU 9" in next(e for e in events if isinstance(e, Error)).message


async def test_a_cancelled_drain_expires_its_silence(eng: Engine) -> None:
    import asyncio

    node = busy(eng)
    run_ = await eng.submit(
        Request(
            principal="unix:root",
            channel="cli",
            action="drain",
            params={"nodes": node, "reason": "x", "silence": True, "wait": True},
        )
    )
    am = eng.backends.alertmanager
    for _ in range(200):
        if [s for s in await am.silences() if s.state == "active"]:
            break
        await asyncio.sleep(0.01)
    assert [s.matchers for s in await am.silences() if s.state == "active"] == [{"node": node}]
    run_.cancel()
    finished = await run_.wait()
    assert finished.outcome == "cancelled"
    assert [s.state for s in await am.silences()] == ["expired"]
    assert await eng.store.journal_get(run_.run_id, "silences") == {}

"""firmware-update --silence and reimage --silence on the simulator: every node is silenced for the
run, nodes that come back have their silence expired, a node that failed keeps its silence (it is
still in maintenance) until `resume`, and `silences` names the run that made each one."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from dcops.actions.config.model import AuditSection, ClusterSection, DcopsConfig
from dcops.actions.engine import Engine
from dcops.actions.errors import ApprovalRequired
from dcops.actions.rbac import Policy
from dcops.actions.request import Request
from dcops.actions.sim import SimCluster
from dcops.actions.sim.scenario import Story
from dcops.actions.store.sqlite import SqliteStore

ALLOW_ALL = '[roles.all]\nactions = ["*"]\napprove = ["*"]\n[[bindings]]\nprincipals = ["unix:*"]\nroles = ["all"]\n'
IMAGE = {"image": "http://files.example/bios-2.4.1.bin", "component": "BIOS"}


async def _engine(tmp_path: Path, sim: SimCluster) -> Engine:
    cfg = DcopsConfig(
        cluster=ClusterSection(name="t", demo=True), audit=AuditSection(url=f"sqlite:///{tmp_path / 'a.db'}")
    )
    eng = Engine(cfg, sim.backends(), SqliteStore(str(tmp_path / "a.db")), Policy.from_toml(ALLOW_ALL))
    await eng.start()
    return eng


async def _submit(eng: Engine, action: str, params: dict, **extra):
    try:
        return await eng.submit(Request(principal="unix:alice", channel="cli", action=action, params=params, **extra))
    except ApprovalRequired as exc:
        return await eng.approve(exc.approval_id, "unix:bob", "cli")


async def test_firmware_update_silence_outlives_only_the_failed_node(tmp_path: Path) -> None:
    sim = SimCluster(nodes=64, time_scale=1000.0, story=replace(Story(), firmware_fails=61))
    eng = await _engine(tmp_path, sim)
    try:
        run = await _submit(
            eng,
            "firmware-update",
            {"nodes": "gpu[059-062]", **IMAGE, "max_parallel": 2, "max_failures": 1, "silence": True},
        )
        await run.wait()
        states = {s.matchers["node"]: s.state for s in await sim.backends().alertmanager.silences()}
        listed = await eng.submit(Request(principal="unix:alice", channel="cli", action="silences", params={}))
        await listed.wait()
    finally:
        await eng.aclose()
    assert states == {"gpu059": "expired", "gpu060": "expired", "gpu061": "active", "gpu062": "expired"}
    (row,) = listed.result.data
    assert row["matchers"] == {"node": "gpu061"} and row["run"] == run.run_id and row["run_state"] == "failed"
    assert row["note"].startswith("left by a failed run")


async def test_reimage_silence_is_expired_for_reimaged_nodes(tmp_path: Path) -> None:
    sim = SimCluster(nodes=64, time_scale=1000.0)
    eng = await _engine(tmp_path, sim)
    try:
        run = await _submit(eng, "reimage", {"nodes": "gpu[063-064]", "silence": True}, confirm="2")
        fin = await run.wait()
        silences = await sim.backends().alertmanager.silences()
    finally:
        await eng.aclose()
    assert fin.outcome == "ok", fin.summary
    assert sorted(s.matchers["node"] for s in silences) == ["gpu063", "gpu064"]
    assert all(s.state == "expired" and f"dcops run {run.run_id}" in s.comment for s in silences)


async def test_left_behind_silences_are_reported_at_start(tmp_path: Path) -> None:
    from dcops.actions.alerts.leftovers import report_left_behind

    sim = SimCluster(nodes=64, time_scale=1000.0, story=replace(Story(), firmware_fails=61))
    eng = await _engine(tmp_path, sim)
    try:
        assert await report_left_behind(eng) is None
        run = await _submit(
            eng,
            "firmware-update",
            {"nodes": "gpu[061-062]", **IMAGE, "max_parallel": 2, "max_failures": 1, "silence": True},
        )
        await run.wait()
        line = await report_left_behind(eng)
    finally:
        await eng.aclose()
    assert line is not None and line.startswith(
        f"1 alert silence(s) left active by runs that did not finish: gpu061 (failed run {run.run_id})"
    )


async def test_a_silence_of_a_killed_drain_is_reported_at_the_next_start(tmp_path: Path) -> None:
    """kill -9 mid-drain: the run's started record has no finished one and its silence is active.
    The next engine start closes the run as interrupted; the receiver's start report names it."""
    import socket

    from dcops.actions.alerts.leftovers import report_left_behind
    from dcops.actions.store.base import AuditEntry

    sim = SimCluster(nodes=64, time_scale=1000.0)
    eng = await _engine(tmp_path, sim)
    dead = f"{socket.gethostname()}:999999:1"  # a process that no longer exists
    run_id = "r20261204-000000-dead01"
    entry = AuditEntry(
        ts="2026-12-04T00:00:00+00:00",
        run_id=run_id,
        event="received",
        principal="unix:alice",
        channel="cli",
        action="drain",
        targets=["gpu010"],
        owner=dead,
    )
    await eng.store.append([entry, entry.model_copy(update={"event": "started", "decision": "allow"})])
    await sim.backends().alertmanager.create_silence(
        {"node": "gpu010"}, hours=1, created_by="unix:alice", comment=f"xid 79 (dcops run {run_id})"
    )
    await eng.aclose()
    eng = await _engine(tmp_path, sim)  # the next start
    try:
        line = await report_left_behind(eng)
    finally:
        await eng.aclose()
    assert line is not None and f"gpu010 (interrupted run {run_id})" in line

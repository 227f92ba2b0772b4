"""Every registered action, enumerated: none runs without an allow decision, and every run leaves
"started" and "finished" records; a denied request leaves "received" + "denied" and no "started".
Each action must carry a runnable ``example`` command line (also shown in its help)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dcops.actions import load_actions, parse_command
from dcops.actions.config.model import AuditSection, ClusterSection, DcopsConfig
from dcops.actions.engine import Engine
from dcops.actions.errors import ApprovalRequired, ConfirmationRequired, DeniedError
from dcops.actions.rbac import Policy
from dcops.actions.request import Request
from dcops.actions.sim import SimCluster
from dcops.actions.store.base import AuditQuery
from dcops.actions.store.sqlite import SqliteStore

# the product's actions: those defined in dcops.actions.ops (tests may register throw-away actions of their own)
SPECS = [s for s in load_actions() if s.run.__module__.startswith("dcops.actions.ops.")]
ALLOW_ALL = '[roles.all]\nactions = ["*"]\napprove = ["*"]\n[[bindings]]\nprincipals = ["unix:*"]\nroles = ["all"]\n'
DENY_ALL = '[roles.none]\nactions = ["ping"]\n[[bindings]]\nprincipals = ["unix:nobody"]\nroles = ["none"]\n'


async def example_params(spec, sim: SimCluster) -> dict:
    from dcops.actions.backends.models import JobFilter

    backends = sim.backends()
    text = spec.example
    if "{job}" in text or "{pending_job}" in text:
        running = await backends.slurm.jobs(JobFilter(state="RUNNING"))
        pending = await backends.slurm.jobs(JobFilter(state="PENDING"))
        text = text.replace("{job}", running[0].job_id).replace("{pending_job}", pending[0].job_id)
    baseline = Path(__import__("dcops.actions.sim", fromlist=["x"]).__file__).with_name("baseline.toml")
    text = text.replace("{baseline}", str(baseline))
    return parse_command(text).params


def engine(tmp_path: Path, sim: SimCluster, policy_text: str) -> Engine:
    cfg = DcopsConfig(
        cluster=ClusterSection(name="t", demo=True), audit=AuditSection(url=f"sqlite:///{tmp_path / 'a.db'}")
    )
    return Engine(cfg, sim.backends(), SqliteStore(str(tmp_path / "a.db")), Policy.from_toml(policy_text))


async def submit_through(eng: Engine, req: Request):  # noqa: ANN201 - the Run
    """Submit as a person who answers every guard: echo the confirmation, have a second principal approve."""
    try:
        return await eng.submit(req)
    except ConfirmationRequired as exc:
        return await eng.submit(req.model_copy(update={"confirm": exc.token}))
    except ApprovalRequired as exc:
        return await eng.approve(exc.approval_id, "unix:second", "cli")


def test_every_action_has_a_runnable_example() -> None:
    missing = [s.name for s in SPECS if not s.example]
    assert not missing, f"actions without an example: {missing}"
    for s in SPECS:
        assert (
            parse_command(
                s.example.replace("{job}", "1").replace("{pending_job}", "2").replace("{baseline}", "b.toml")
            ).action
            == s.name
        )


@pytest.mark.parametrize("spec", SPECS, ids=[s.name for s in SPECS])
async def test_no_run_without_allow(spec, tmp_path: Path) -> None:
    sim = SimCluster(nodes=64)
    params = await example_params(spec, sim)
    eng = engine(tmp_path, sim, DENY_ALL)
    await eng.start()
    try:
        with pytest.raises(DeniedError):
            await eng.submit(
                Request(principal="unix:intruder", channel="cli", action=spec.name, params=params, confirm="x")
            )
        events = [r.event for r in sorted(await eng.store.query(AuditQuery(action=spec.name)), key=lambda r: r.seq)]
        assert events == ["received", "denied"]
    finally:
        await eng.aclose()


@pytest.mark.parametrize("spec", SPECS, ids=[s.name for s in SPECS])
async def test_every_run_is_audited_before_and_after(spec, tmp_path: Path) -> None:
    sim = SimCluster(nodes=64, time_scale=1000.0)
    params = await example_params(spec, sim)
    eng = engine(tmp_path, sim, ALLOW_ALL)
    await eng.start()
    try:
        run = await submit_through(
            eng, Request(principal="unix:tester", channel="cli", action=spec.name, params=params)
        )
        fin = await run.wait()
        assert fin.outcome in ("ok", "failed", "dry-run")
        recs = sorted(await eng.store.query(AuditQuery(run_id=run.run_id)), key=lambda r: r.seq)
        events = [r.event for r in recs]
        assert events[:2] == ["received", "started"] and events[-1] == "finished"
        assert recs[1].decision == "allow" and recs[-1].outcome == fin.outcome
        assert (await eng.store.verify()).ok
    finally:
        await eng.aclose()

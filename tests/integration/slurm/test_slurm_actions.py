"""drain / resume / jobs / cancel / requeue / hold / release end to end: the engine (RBAC, guards,
audit, locks) built from config by the real factory, against the lab's Slurm cluster. Every
outcome is read back from Slurm's own commands and from the audit log."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from dcops.actions import Request, open_engine
from dcops.actions.config.model import AuditSection, ClusterSection, DcopsConfig, GuardsSection
from dcops.actions.config.slurm import SlurmSection
from dcops.actions.engine import Engine
from dcops.actions.errors import DcopsError
from dcops.actions.events import Error, Result, RunFinished, Step
from dcops.actions.rbac import Policy
from dcops.actions.store.base import AuditQuery
from tests.lab.slurm import SlurmLab

ALLOW_ALL = '[roles.all]\nactions = ["*"]\n[[bindings]]\nprincipals = ["unix:*"]\nroles = ["all"]\n'


def lab_config(tmp_path: Path, cluster: SlurmLab, **slurm: Any) -> DcopsConfig:
    return DcopsConfig(
        cluster=ClusterSection(name="slurm-lab"),
        audit=AuditSection(url=f"sqlite:///{tmp_path / 'a.db'}"),
        guards=GuardsSection(max_partition_unavailable=1.0),
        slurm=SlurmSection(env=cluster.env, **{"timeout": 8.0, **slurm}),
    )


@pytest.fixture
async def engine(tmp_path: Path, cluster: SlurmLab) -> AsyncIterator[Engine]:
    eng = await open_engine(lab_config(tmp_path, cluster), policy=Policy.from_toml(ALLOW_ALL))
    yield eng
    await eng.aclose()


async def run(
    engine: Engine, action: str, *, confirm: str | None = None, principal: str = "unix:oncall1", **params: Any
) -> tuple[RunFinished, list[Any]]:
    submitted = await engine.submit(
        Request(principal=principal, channel="cli", action=action, params=params, confirm=confirm)
    )
    events = [ev async for ev in submitted.events()]
    assert isinstance(events[-1], RunFinished)
    return events[-1], events


def result(events: list[Any]) -> Result:
    return [e for e in events if isinstance(e, Result)][-1]


def sacct_states(cluster: SlurmLab, *jobs: str, timeout: float = 15.0) -> list[str]:
    """Final job states from accounting (slurmdbd), without sacct's "by UID" suffix; slurmctld
    sends them to slurmdbd asynchronously, so wait until no job reads as still active."""
    deadline = time.monotonic() + timeout
    while True:
        out = cluster.run("sacct", "-n", "-X", "-P", "-j", ",".join(jobs), "-o", "State").stdout
        states = [line.split()[0] for line in out.splitlines() if line.strip()]
        if time.monotonic() > deadline or not {"RUNNING", "PENDING", "REQUEUED"} & set(states):
            return states
        time.sleep(0.3)


async def audit(engine: Engine, run_id: str) -> list[Any]:
    return sorted(await engine.store.query(AuditQuery(run_id=run_id)), key=lambda r: r.seq)


async def test_drain_four_nodes_with_a_two_node_job_waits_then_resume(engine: Engine, cluster: SlurmLab) -> None:
    job = cluster.sbatch("-N2", "-w", "gpu[002-003]", wrap="sleep 4")
    cluster.wait_job(job, "RUNNING")
    fin, events = await run(engine, "drain", nodes="gpu[001-004]", reason="xid 79", wait=True, wait_timeout=60)
    assert fin.outcome == "ok", fin.summary
    res = result(events)
    assert res.summary == "drained 4 node(s) gpu[001-004]; 1 job(s) waited for; all jobs finished"
    assert res.data["jobs"] == [job]
    steps = [(e.target, e.detail) for e in events if isinstance(e, Step) and e.status == "ok"]
    assert ("gpu002", f"draining (1 job(s): {job}): xid 79 [unix:oncall1 via cli]") in steps
    assert ("gpu001", "drained: xid 79 [unix:oncall1 via cli]") in steps
    assert [t for t, d in steps if d == "no jobs left"][-2:] in (["gpu002", "gpu003"], ["gpu003", "gpu002"])
    assert sacct_states(cluster, job) == ["COMPLETED"]
    for n in ("gpu001", "gpu002", "gpu003", "gpu004"):
        assert cluster.node(n) == {"State": "IDLE+DRAIN", "Reason": "xid 79 [unix:oncall1 via cli]"}
    records = await audit(engine, fin.run_id)
    assert [r.event for r in records][:2] == ["received", "started"] and records[-1].outcome == "ok"
    assert records[0].targets == ["gpu001", "gpu002", "gpu003", "gpu004"]

    fin, events = await run(engine, "resume", nodes="gpu[001-004]")
    assert fin.outcome == "ok" and result(events).summary == "resumed 4 node(s) gpu[001-004]"
    for n in ("gpu001", "gpu002", "gpu003", "gpu004"):
        assert cluster.node(n)["State"] in ("IDLE", "IDLE+NOT_RESPONDING")


async def test_drain_wait_times_out_and_leaves_the_nodes_drained(engine: Engine, cluster: SlurmLab) -> None:
    job = cluster.sbatch("-N1", "-w", "gpu005")
    cluster.wait_job(job, "RUNNING")
    fin, events = await run(engine, "drain", nodes="gpu[005-006]", reason="psu", wait=True, wait_timeout=1.5)
    assert fin.outcome == "failed"
    assert result(events).summary == (
        "drained 2 node(s) gpu[005-006]; 1 job(s) waited for; jobs still running "
        "after 1.5 s on gpu005 (nodes stay drained)"
    )
    failed = [e for e in events if isinstance(e, Step) and e.status == "failed"]
    assert [(e.target, e.detail) for e in failed] == [("gpu005", "jobs still running after 1.5 s; node stays drained")]
    assert cluster.job_state(job) == "RUNNING" and "DRAIN" in cluster.node("gpu005")["State"]
    records = await audit(engine, fin.run_id)
    assert records[-1].event == "finished" and records[-1].outcome == "failed"
    assert any(r.event == "step" and r.outcome == "failed" and r.targets == ["gpu005"] for r in records)


async def test_drain_requeue_jobs_puts_them_back_in_the_queue(engine: Engine, cluster: SlurmLab) -> None:
    job = cluster.sbatch("-N1", "-w", "gpu007")
    cluster.wait_job(job, "RUNNING")
    fin, events = await run(engine, "drain", nodes="gpu007", reason="ib flap", requeue_jobs=True)
    assert fin.outcome == "ok", fin.summary
    assert ("ok", "job requeued (it ran on gpu007)") in [
        (e.status, e.detail) for e in events if isinstance(e, Step) and e.target == job
    ]
    assert result(events).table.rows == [["gpu007", "draining (jobs requeued)", job, "ib flap [unix:oncall1 via cli]"]]
    cluster.wait_job(job, "PENDING")
    assert "Restarts=1" in cluster.run("scontrol", "-o", "show", "job", job).stdout


async def test_drain_cancel_jobs_cancels_them(engine: Engine, cluster: SlurmLab) -> None:
    job = cluster.sbatch("-N1", "-w", "gpu008")
    cluster.wait_job(job, "RUNNING")
    fin, _ = await run(
        engine, "drain", nodes="gpu008", reason="bad gpu", cancel_jobs=True, wait=True, wait_timeout=30, confirm="1"
    )  # the implied cancel is destructive: confirmed like a direct cancel
    assert fin.outcome == "ok", fin.summary
    assert sacct_states(cluster, job) == ["CANCELLED"]
    assert cluster.node("gpu008")["State"] == "IDLE+DRAIN"


async def test_dry_runs_show_nodes_and_jobs_and_change_nothing(engine: Engine, cluster: SlurmLab) -> None:
    job = cluster.sbatch("-N2", "-w", "gpu[009-010]")
    cluster.wait_job(job, "RUNNING")
    fin, events = await run(engine, "drain", nodes="gpu[009-011]", reason="rack work", requeue_jobs=True, dry_run=True)
    assert fin.outcome == "dry-run"
    res = result(events)
    assert res.summary == (
        f"would drain 3 node(s) gpu[009-011] with reason 'rack work [unix:oncall1 via cli]'; "
        f"1 job(s) on them would be requeued: {job} (root, 2 node(s): gpu[009-010])"
    )
    assert res.table.rows == [
        ["gpu009", "mixed", job, "draining"],
        ["gpu010", "mixed", job, "draining"],
        ["gpu011", "idle", "", "drained"],
    ]
    fin, events = await run(engine, "cancel", jobs=[job], dry_run=True)
    assert fin.outcome == "dry-run" and result(events).table.rows == [[job, "root", "RUNNING", "gpu009,gpu010"]]
    assert result(events).summary == f"would cancel 1 job(s): {job} running on gpu[009-010]"
    assert cluster.job_state(job) == "RUNNING"
    assert all(cluster.node(n)["State"] in ("MIXED", "IDLE") for n in ("gpu009", "gpu010", "gpu011"))


async def test_resume_refuses_a_health_marked_node_unless_forced(engine: Engine, cluster: SlurmLab) -> None:
    cluster.run("scontrol", "update", "NodeName=gpu012", "State=DRAIN", "Reason=NHC: check_hw_gpu: GPU 3 lost")
    fin, events = await run(engine, "resume", nodes="gpu[011-012]")
    assert fin.outcome == "failed"
    assert [e.message for e in events if isinstance(e, Error)] == [
        "resume refused: gpu012 marked bad by a health check ('NHC: check_hw_gpu: GPU 3 lost'); fix the node, "
        "or resume it with --force --reason TEXT"
    ]
    assert cluster.node("gpu012")["State"] == "IDLE+DRAIN"
    assert (await audit(engine, fin.run_id))[-1].outcome == "failed"

    with pytest.raises(Exception, match="--force needs --reason"):
        await run(engine, "resume", nodes="gpu012", force=True)
    fin, events = await run(engine, "resume", nodes="gpu012", force=True, reason="GPU reseated, dcgmi diag -r 3 passed")
    assert fin.outcome == "ok"
    assert cluster.node("gpu012")["State"] in ("IDLE", "IDLE+NOT_RESPONDING")
    steps = [r for r in await audit(engine, fin.run_id) if r.event == "step"]
    assert steps[0].detail == (
        "resumed past health mark 'NHC: check_hw_gpu: GPU 3 lost': GPU reseated, dcgmi diag "
        "-r 3 passed [unix:oncall1 via cli]"
    )


async def test_cancel_requeue_hold_release_through_the_engine(engine: Engine, cluster: SlurmLab) -> None:
    a = cluster.sbatch("-p", "debug", "-N1", "-w", "gpu013", "--exclusive")
    b = cluster.sbatch("-p", "debug", "-N1", "-w", "gpu014")
    cluster.wait_job(a, "RUNNING")
    cluster.wait_job(b, "RUNNING")
    waiting = cluster.sbatch("-p", "debug", "-N1", "-w", "gpu013")
    fin, _ = await run(engine, "hold", jobs=[waiting])
    assert fin.outcome == "ok" and cluster.run("squeue", "-h", "-j", waiting, "-o", "%r").stdout.strip().startswith(
        "JobHeld"
    )
    fin, _ = await run(engine, "release", jobs=[waiting])
    assert fin.outcome == "ok" and not cluster.run("squeue", "-h", "-j", waiting, "-o", "%r").stdout.strip().startswith(
        "JobHeld"
    )
    fin, _ = await run(engine, "requeue", jobs=[b])
    assert fin.outcome == "ok"
    cluster.wait_job(b, "PENDING")
    fin, events = await run(engine, "cancel", jobs=[a, waiting], confirm="2")
    assert fin.outcome == "ok", fin.summary
    assert sacct_states(cluster, a, waiting) == ["CANCELLED", "CANCELLED"]


async def test_jobs_by_node_and_nodes_by_job(engine: Engine, cluster: SlurmLab) -> None:
    job = cluster.sbatch("-p", "debug", "-N2", "-w", "gpu[015-016]")
    cluster.wait_job(job, "RUNNING")
    fin, events = await run(engine, "jobs", node="gpu016")
    assert fin.outcome == "ok" and [r[0] for r in result(events).table.rows] == [job]
    fin, events = await run(engine, "jobs", partition="gpu")
    assert result(events).table.rows == []
    fin, events = await run(engine, "nodes", job=job)
    assert [r[0] for r in result(events).table.rows] == ["gpu015", "gpu016"]
    assert all(r[5] == job for r in result(events).table.rows)


async def test_slurmctld_stopped_mid_drain_is_one_clear_error_audited_failed(tmp_path: Path, cluster: SlurmLab) -> None:
    eng = await open_engine(lab_config(tmp_path, cluster, timeout=3.0), policy=Policy.from_toml(ALLOW_ALL))
    try:
        job = cluster.sbatch("-N1", "-w", "gpu006")
        cluster.wait_job(job, "RUNNING")
        submitted = await eng.submit(
            Request(
                principal="unix:oncall1",
                channel="cli",
                action="drain",
                params={"nodes": "gpu006", "reason": "xid 94", "wait": True},
            )
        )
        events = []
        async for ev in submitted.events():
            events.append(ev)
            if isinstance(ev, Step) and ev.target == "gpu006" and ev.detail.startswith("draining"):
                await asyncio.to_thread(cluster.stop_slurmctld)
        fin = events[-1]
        assert isinstance(fin, RunFinished) and fin.outcome == "failed"
        errors = [e.message for e in events if isinstance(e, Error)]
        assert (
            len(errors) == 1
            and errors[0]
            in (
                "slurm: sinfo did not answer within 3 s (is slurmctld up?)",
                "slurm: scontrol did not answer within 3 s (is slurmctld up?)",
                "slurm: squeue did not answer within 3 s (is slurmctld up?)",
            )
        ) or errors[0].startswith("slurm: slurmctld does not answer")
        records = await audit(eng, fin.run_id)
        assert records[-1].event == "finished" and records[-1].outcome == "failed" and records[-1].error == errors[0]

        try:  # a new request while slurmctld is down:
            fin, events = await run(eng, "resume", nodes="gpu006")  # fails as a run, or is refused while
            summary, run_id = fin.summary, fin.run_id  # resolving its nodes (the drain above
        except DcopsError as exc:  # rode out 30 s, so the node list is
            summary = str(exc)  # read again) -- audited either way
            run_id = max(await eng.store.query(AuditQuery(limit=5)), key=lambda r: r.seq).run_id
        assert "is slurmctld up?" in summary or "does not answer" in summary, summary
        assert (await audit(eng, run_id))[-1].outcome == "failed"
    finally:
        await eng.aclose()


async def test_shell_syntax_in_node_names_is_refused_and_in_reasons_is_stored_verbatim(
    engine: Engine, cluster: SlurmLab, tmp_path: Path
) -> None:
    from dcops.actions import parse_command
    from dcops.actions.errors import UsageError

    marker = tmp_path / "pwned"
    for nodes in (f"gpu001;touch {marker}", "gpu001 gpu002", "$(id)", "gpu[001-002]|id"):
        with pytest.raises(UsageError, match="malformed hostlist"):
            await run(engine, "drain", nodes=nodes, reason="x")
    command = parse_command(f'drain gpu014 --reason "psu \\"A\\"; touch {marker} $(touch {marker}) `id`"')
    fin, _ = await run(engine, command.action, **command.params)
    assert fin.outcome == "ok"
    assert cluster.node("gpu014")["Reason"] == f'psu "A"; touch {marker} $(touch {marker}) `id` [unix:oncall1 via cli]'
    assert not marker.exists()
    invalid = await engine.store.query(AuditQuery(event="invalid"))
    assert len(invalid) == 4 and all("malformed hostlist" in r.error for r in invalid)


async def test_drain_through_the_engine_reaches_a_node_whose_slurmd_is_down(engine: Engine, cluster: SlurmLab) -> None:
    cluster.stop_slurmd("gpu016")
    fin, events = await run(engine, "drain", nodes="gpu016", reason="slurmd crashed")
    assert fin.outcome == "ok", fin.summary
    node = cluster.node("gpu016")  # NOT_RESPONDING joins once slurmctld's ping notices
    assert node["State"] in ("IDLE+DRAIN", "IDLE+DRAIN+NOT_RESPONDING", "DOWN+DRAIN+NOT_RESPONDING")
    assert node["Reason"] == "slurmd crashed [unix:oncall1 via cli]"

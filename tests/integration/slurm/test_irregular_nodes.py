"""drain / resume / jobs / cancel / requeue across the lab's irregularly named nodes (partition
``irregular``: dgx-h100-01/02, n01-ib/n02-ib, rack1-gpu01/rack2-gpu01, cn9/cn10/cn011) on the real
slurmctld, through the engine, with ``[slurm] mode`` = cli and = rest (slurmrestd reads, the CLI
for what 22.05's REST cannot do). Before dcops wrote Slurm's dialect, draining n01-ib and n02-ib
sent ``NodeName=n[01-02]-ib`` and slurmctld refused it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from test_slurm_actions import ALLOW_ALL, audit, lab_config, result, run, sacct_states

from dcops.actions import open_engine
from dcops.actions.backends import slurm_runner
from dcops.actions.backends.slurm_cli import SlurmCli
from dcops.actions.backends.slurm_session import ScontrolSession
from dcops.actions.engine import Engine
from dcops.actions.errors import BackendError
from dcops.actions.events import Step
from dcops.actions.rbac import Policy
from tests.lab.slurm import SlurmLab

IB = ["n01-ib", "n02-ib"]
RACKS = ["rack1-gpu01", "rack2-gpu01"]
ALL = ["cn9", "cn10", "cn011", "dgx-h100-01", "dgx-h100-02", "n01-ib", "n02-ib", "rack1-gpu01", "rack2-gpu01"]


@pytest.fixture(params=["cli", "rest"])
async def engine(
    request: pytest.FixtureRequest, tmp_path: Path, cluster: SlurmLab, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Engine]:
    slurm: dict = {}
    if request.param == "rest":
        monkeypatch.setenv("DCOPS_TEST_SLURM_JWT", cluster.token)
        slurm = dict(mode="rest", rest_url=cluster.rest_url, rest_user="root", token_env="DCOPS_TEST_SLURM_JWT")
    eng = await open_engine(lab_config(tmp_path, cluster, **slurm), policy=Policy.from_toml(ALLOW_ALL))
    yield eng
    await eng.aclose()


@pytest.fixture
def scontrol_calls(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Every Slurm command line the CLI adapter runs (still run for real), and every update it
    sends the long-lived scontrol, spelled as the one-shot command would be."""
    calls: list[list[str]] = []
    original = slurm_runner.LocalRunner.__call__
    original_update = ScontrolSession.update_nodes

    async def recording(self: slurm_runner.LocalRunner, argv):  # noqa: ANN001, ANN202
        calls.append(list(argv))
        return await original(self, argv)

    async def recording_update(self: ScontrolSession, hostlist: str, state: str, reason: str | None):  # noqa: ANN202
        out = await original_update(self, hostlist, state, reason)
        if out is not None:  # served by the session (else the one-shot command runs and is recorded)
            calls.append(["scontrol", "update", f"NodeName={hostlist}", f"State={state}"])
        return out

    monkeypatch.setattr(slurm_runner.LocalRunner, "__call__", recording)
    monkeypatch.setattr(ScontrolSession, "update_nodes", recording_update)
    return calls


def updates(calls: list[list[str]]) -> list[str]:
    return [
        w.removeprefix("NodeName=")
        for c in calls
        if c[:2] == ["scontrol", "update"]
        for w in c
        if w.startswith("NodeName=")
    ]


async def test_drain_requeue_resume_across_names_slurm_cannot_collapse(
    engine: Engine, cluster: SlurmLab, scontrol_calls: list[list[str]]
) -> None:
    job = cluster.sbatch("-p", "irregular", "-N2", "-w", "n01-ib,n02-ib")
    cluster.wait_job(job, "RUNNING")
    fin, events = await run(
        engine, "drain", nodes="n01-ib,n02-ib,rack1-gpu01,rack2-gpu01", reason="ib flap", requeue_jobs=True
    )
    assert fin.outcome == "ok", fin.summary
    assert result(events).summary == (
        f"drained 4 node(s) n01-ib,n02-ib,rack[1-2]-gpu[01]; 1 job(s) requeued: {job} (on n01-ib,n02-ib)"
    )  # every job and every node it ran on
    assert ("ok", "job requeued (it ran on n01-ib,n02-ib)") in [
        (e.status, e.detail) for e in events if isinstance(e, Step) and e.target == job
    ]
    assert updates(scontrol_calls) == ["n01-ib,n02-ib,rack1-gpu01,rack2-gpu01"]
    for n in IB + RACKS:
        assert "DRAIN" in cluster.node(n)["State"] and cluster.node(n)["Reason"] == "ib flap [unix:oncall1 via cli]"
    cluster.wait_job(job, "PENDING")  # requeued, and its nodes are drained
    assert "Restarts=1" in cluster.run("scontrol", "-o", "show", "job", job).stdout
    assert (await audit(engine, fin.run_id))[0].targets == IB + RACKS

    fin, events = await run(engine, "resume", nodes="n01-ib,n02-ib,rack[1-2]-gpu[01]")
    assert fin.outcome == "ok" and result(events).summary == "resumed 4 node(s) n01-ib,n02-ib,rack[1-2]-gpu[01]"
    for n in IB + RACKS:
        assert "DRAIN" not in cluster.node(n)["State"]
    again = cluster.sbatch("-p", "irregular", "-N2", "-w", "n01-ib,n02-ib")  # (a requeued job waits ~2 min)
    cluster.wait_job(again, "RUNNING")
    fin, events = await run(engine, "jobs", node="n02-ib")
    assert [r[0] for r in result(events).table.rows] == [again]
    fin, events = await run(engine, "nodes", job=again)
    assert [r[0] for r in result(events).table.rows] == IB
    fin, _ = await run(engine, "cancel", jobs=[job, again], confirm="2")
    assert fin.outcome == "ok" and sacct_states(cluster, job, again) == ["CANCELLED", "CANCELLED"]


async def test_drain_cancel_jobs_on_a_whole_irregular_partition_then_resume_a_mix(
    engine: Engine, cluster: SlurmLab
) -> None:
    job = cluster.sbatch("-p", "irregular", "-N2", "-w", "rack1-gpu01,rack2-gpu01")
    cluster.wait_job(job, "RUNNING")
    fin, events = await run(
        engine,
        "drain",
        nodes="cn[9-10,011],dgx-h100-[01-02],rack1-gpu01,rack2-gpu01",
        reason="maintenance",
        cancel_jobs=True,
        wait=True,
        wait_timeout=30,
        confirm="1",
    )  # the implied cancel of the one job is confirmed like a direct cancel
    assert fin.outcome == "ok", fin.summary
    assert result(events).summary.startswith(
        "drained 7 node(s) cn[9-10,011],dgx-h100-[01-02],rack[1-2]-gpu[01]; 1 job(s) cancelled"
    )
    assert sacct_states(cluster, job) == ["CANCELLED"]
    for n in ["cn9", "cn10", "cn011", "dgx-h100-01", "dgx-h100-02", *RACKS]:
        assert cluster.node(n)["State"] == "IDLE+DRAIN"
    # resume the whole partition: n01-ib and n02-ib were never drained (scontrol refuses the call
    # with "Invalid node state specified" after resuming the others): still a success
    fin, events = await run(engine, "resume", nodes=",".join(ALL))
    assert fin.outcome == "ok", fin.summary
    assert all(cluster.node(n)["State"] in ("IDLE", "IDLE+NOT_RESPONDING") for n in ALL)


async def test_a_dry_run_and_a_bad_hostlist_change_nothing(engine: Engine, cluster: SlurmLab) -> None:
    fin, events = await run(engine, "drain", nodes="dgx-h100-[01-02]", reason="x", dry_run=True)
    assert fin.outcome == "dry-run"
    assert result(events).summary.startswith("would drain 2 node(s) dgx-h100-[01-02]")
    from dcops.actions.errors import UsageError

    with pytest.raises(UsageError, match=r"write such names out"):
        await run(engine, "drain", nodes="n[01-02]-ib", reason="x")  # python-hostlist's form
    with pytest.raises(UsageError, match=r"write rack\[1-2\]-gpu\[01\]"):
        await run(engine, "drain", nodes="rack[1-2]-gpu01", reason="x")
    with pytest.raises(UsageError, match="empty node list"):
        await run(engine, "drain", nodes=",", reason="x")
    assert all("DRAIN" not in cluster.node(n)["State"] for n in ALL)


async def test_long_node_lists_are_sent_in_chunks(
    cli: SlurmCli, cluster: SlurmLab, scontrol_calls: list[list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A node list longer than one command line allows goes out as several scontrol calls (the
    limit is shrunk here to make nine names overflow it); each is in Slurm's dialect."""
    monkeypatch.setattr("dcops.actions.hostlists.ARG_LIMIT", 30)
    await cli.drain(ALL, "chunked")
    sent = updates(scontrol_calls)
    assert len(sent) > 1 and all(len(s) <= 30 for s in sent)
    assert sorted(n for s in sent for n in cluster.run("scontrol", "show", "hostnames", s).stdout.split()) == sorted(
        ALL
    )
    assert all(cluster.node(n) == {"State": "IDLE+DRAIN", "Reason": "chunked"} for n in ALL)
    await cli.resume(ALL)
    assert all("DRAIN" not in cluster.node(n)["State"] for n in ALL)


async def test_a_failing_chunk_says_what_earlier_chunks_changed(
    cli: SlurmCli, cluster: SlurmLab, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("dcops.actions.hostlists.ARG_LIMIT", 30)
    with pytest.raises(BackendError) as err:
        await cli.drain(["cn9", "cn10", "cn011", "dgx-h100-01", "dgx-h100-02", "zz-nosuch-node1"], "partial")
    assert "Invalid node name" in str(err.value)
    assert "State=DRAIN was already set on cn[9-10,011],dgx-h100-[01-02]" in str(err.value)
    assert "\n" not in str(err.value)


async def test_python_hostlists_form_is_what_slurmctld_refused(cluster: SlurmLab) -> None:
    """The regression itself, on the real controller: the form the old collapse produced fails."""
    res = cluster.run("scontrol", "update", "NodeName=n[01-02]-ib", "State=DRAIN", "Reason=x", check=False)
    assert res.returncode != 0 and "Invalid node name" in res.stderr + res.stdout
    assert all("DRAIN" not in cluster.node(n)["State"] for n in IB)

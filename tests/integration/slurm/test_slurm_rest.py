"""The slurmrestd adapter (v0.0.38, JWT) against the lab, checked against the CLI adapter and
against Slurm's own commands."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from pydantic import SecretStr

from dcops.actions.backends.models import JobFilter
from dcops.actions.backends.slurm_cli import SlurmCli
from dcops.actions.backends.slurm_rest import SlurmRest
from dcops.actions.errors import BackendError, BackendUnavailable
from tests.lab.slurm import SlurmLab

COMPARED = (
    "name",
    "state",
    "flags",
    "reason",
    "partitions",
    "gres",
    "gpus",
    "gpus_used",
    "cpus",
    "memory_mb",
    "features",
    "jobs",
)


@pytest.fixture
async def rest(cluster: SlurmLab, cli: SlurmCli) -> AsyncIterator[SlurmRest]:
    adapter = SlurmRest(cluster.rest_url, user="root", token=SecretStr(cluster.token), fallback=cli, timeout=10)
    yield adapter
    await adapter.aclose()


async def test_rest_and_cli_see_the_same_nodes_and_jobs(rest: SlurmRest, cli: SlurmCli, cluster: SlurmLab) -> None:
    job = cluster.sbatch("-N2", "-w", "gpu[001-002]", "--gres=gpu:h100:2")
    cluster.wait_job(job, "RUNNING")
    await cli.drain(["gpu005"], "bad dimm")
    via_rest = {n.name: n.model_dump(include=set(COMPARED)) for n in await rest.nodes()}
    via_cli = {n.name: n.model_dump(include=set(COMPARED)) for n in await cli.nodes()}
    assert via_rest == via_cli
    assert via_rest["gpu001"]["jobs"] == (job,) and via_rest["gpu005"]["flags"] == ("DRAIN",)
    assert (
        [(j.job_id, j.state, j.nodes) for j in await rest.jobs()]
        == [(j.job_id, j.state, j.nodes) for j in await cli.jobs()]
        == [(job, "RUNNING", ("gpu001", "gpu002"))]
    )


async def test_cancel_hold_release_through_rest(rest: SlurmRest, cluster: SlurmLab) -> None:
    running = cluster.sbatch("-N1", "-w", "gpu012", "--exclusive")
    cluster.wait_job(running, "RUNNING")
    waiting = cluster.sbatch("-N1", "-w", "gpu012")
    await rest.hold([waiting])
    assert cluster.run("squeue", "-h", "-j", waiting, "-o", "%r").stdout.strip().startswith("JobHeld")
    await rest.release([waiting])
    assert not cluster.run("squeue", "-h", "-j", waiting, "-o", "%r").stdout.strip().startswith("JobHeld")
    await rest.cancel([running, waiting])
    states = cluster.run("squeue", "-h", "-t", "all", "-j", f"{running},{waiting}", "-o", "%T").stdout.split()
    assert set(states) <= {"CANCELLED", "COMPLETING"} and len(states) == 2
    with pytest.raises(BackendError, match="Invalid job id specified"):
        await rest.cancel(["987654"])


async def test_drain_and_requeue_go_through_the_cli(rest: SlurmRest, cluster: SlurmLab) -> None:
    job = cluster.sbatch("-N1", "-w", "gpu004")
    cluster.wait_job(job, "RUNNING")
    await rest.drain(["gpu004"], "xid 79 [unix:oncall1 via cli]")
    await rest.requeue([job])
    node = cluster.node("gpu004")
    assert "DRAIN" in node["State"].split("+") and node["Reason"] == "xid 79 [unix:oncall1 via cli]"
    cluster.wait_job(job, "PENDING")
    [found] = await rest.jobs(JobFilter(job_ids=(job,)))
    assert found.restarts == 1


async def test_a_bad_token_is_a_clear_error(cluster: SlurmLab, cli: SlurmCli) -> None:
    adapter = SlurmRest(cluster.rest_url, user="root", token=SecretStr("not-a-jwt"), fallback=cli, timeout=5)
    try:
        with pytest.raises(BackendError) as err:
            await adapter.nodes()
    finally:
        await adapter.aclose()
    assert "token" in str(err.value) or "slurmrestd" in str(err.value)
    assert "not-a-jwt" not in str(err.value)


async def test_slurmrestd_unreachable_is_unavailable(cli: SlurmCli) -> None:
    adapter = SlurmRest("http://127.0.0.1:9", user="root", token=SecretStr("x"), fallback=cli, timeout=2)
    try:
        with pytest.raises(BackendUnavailable, match="cannot reach slurmrestd at http://127.0.0.1:9"):
            await adapter.jobs()
    finally:
        await adapter.aclose()

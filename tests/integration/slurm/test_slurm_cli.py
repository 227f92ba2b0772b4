"""dcops' Slurm CLI adapter against the lab's real Slurm 22.05 cluster: reads, node state changes
and job control, each read back from Slurm's own commands."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest

from dcops.actions.backends.models import JobFilter
from dcops.actions.backends.slurm_cli import SlurmCli
from dcops.actions.backends.slurm_runner import LocalRunner
from dcops.actions.errors import BackendError, BackendUnavailable, UsageError
from tests.lab.slurm import SlurmLab, all_node_names


async def test_nodes_report_partitions_gres_features_and_running_jobs(cli: SlurmCli, cluster: SlurmLab) -> None:
    job = cluster.sbatch("-N2", "-w", "gpu[003-004]", "--gres=gpu:h100:4")
    cluster.wait_job(job, "RUNNING")
    nodes = {n.name: n for n in await cli.nodes()}
    assert sorted(nodes) == sorted(all_node_names())
    assert nodes["gpu001"].partitions == ("gpu",) and nodes["gpu013"].partitions == ("debug",)
    assert nodes["n01-ib"].partitions == ("irregular",) and nodes["n01-ib"].gpus == 0
    assert (nodes["gpu001"].gres, nodes["gpu001"].gpus, nodes["gpu001"].cpus) == ("gpu:h100:8", 8, 16)
    assert nodes["gpu001"].features == ("h100", "ib") and nodes["gpu001"].memory_mb == 64000
    assert (nodes["gpu003"].state, nodes["gpu003"].jobs, nodes["gpu003"].gpus_used) == ("mixed", (job,), 4)
    assert (nodes["gpu005"].state, nodes["gpu005"].jobs, nodes["gpu005"].gpus_used) == ("idle", (), 0)


async def test_nodes_by_name_keep_the_order_asked(cli: SlurmCli) -> None:
    assert [n.name for n in await cli.nodes(["gpu014", "gpu002"])] == ["gpu014", "gpu002"]


async def test_jobs_filter_by_user_partition_node_state_and_id(cli: SlurmCli, cluster: SlurmLab) -> None:
    running = cluster.sbatch("-p", "debug", "-N1", "-w", "gpu013")
    big = cluster.sbatch("-p", "debug", "-N4", "--exclusive")  # waits for gpu013
    cluster.wait_job(running, "RUNNING")
    all_jobs = {j.job_id: j for j in await cli.jobs()}
    assert all_jobs[running].state == "RUNNING" and all_jobs[running].nodes == ("gpu013",)
    assert all_jobs[big].state == "PENDING" and all_jobs[big].partition == "debug"
    assert [j.job_id for j in await cli.jobs(JobFilter(node="gpu013"))] == [running]
    assert [j.job_id for j in await cli.jobs(JobFilter(state="pending"))] == [big]
    assert {j.job_id for j in await cli.jobs(JobFilter(partition="debug", user="root"))} == {running, big}
    assert await cli.jobs(JobFilter(user="nobody-here")) == []
    assert await cli.jobs(JobFilter(partition="gpu")) == []
    assert [j.user for j in await cli.jobs(JobFilter(job_ids=(big,)))] == ["root"]


async def test_drain_with_a_reason_holding_shell_syntax_stores_it_verbatim(
    cli: SlurmCli, cluster: SlurmLab, tmp_path: Path
) -> None:
    marker = tmp_path / f"pwned-{uuid.uuid4().hex}"
    reason = f"xid 79; touch {marker} $(touch {marker}) `id` | State=DOWN [unix:oncall1 via cli]"
    await cli.drain(["gpu001", "gpu002"], reason)
    for name in ("gpu001", "gpu002"):
        node = cluster.node(name)
        assert node["State"] == "IDLE+DRAIN" and node["Reason"].startswith(reason)
    assert not marker.exists()
    infos = await cli.nodes(["gpu001"])
    assert infos[0].reason == reason and infos[0].display_state == "drained"


async def test_node_names_with_shell_syntax_are_refused_before_slurm(cli: SlurmCli) -> None:
    with pytest.raises(UsageError, match="invalid node name"):
        await cli.drain(["gpu001;reboot"], "x")
    with pytest.raises(UsageError, match="one line"):
        await cli.drain(["gpu001"], "two\nlines")
    with pytest.raises(UsageError, match="invalid job id"):
        await cli.cancel(["1; id"])


async def test_resume_mixes_drained_down_and_idle_nodes(cli: SlurmCli, cluster: SlurmLab) -> None:
    await cli.drain(["gpu001"], "maintenance")
    cluster.run("scontrol", "update", "nodename=gpu002", "state=DOWN", "reason=cable")
    assert cluster.node("gpu002")["State"].startswith("DOWN")
    await cli.resume(["gpu001", "gpu002", "gpu003"])  # gpu003 is already in service
    for name in ("gpu001", "gpu002", "gpu003"):
        assert "DRAIN" not in cluster.node(name)["State"] and not cluster.node(name)["State"].startswith("DOWN")


async def test_a_busy_node_drains_and_reports_draining(cli: SlurmCli, cluster: SlurmLab) -> None:
    job = cluster.sbatch("-N1", "-w", "gpu006")
    cluster.wait_job(job, "RUNNING")
    await cli.drain(["gpu006"], "xid 48")
    [node] = await cli.nodes(["gpu006"])
    assert node.drain_flag and node.display_state == "draining" and node.jobs == (job,)
    assert cluster.job_state(job) == "RUNNING"  # drain lets the job finish


async def test_cancel_and_requeue_read_back_from_squeue(cli: SlurmCli, cluster: SlurmLab) -> None:
    a = cluster.sbatch("-N1", "-w", "gpu007")
    b = cluster.sbatch("-N1", "-w", "gpu008")
    cluster.wait_job(a, "RUNNING")
    cluster.wait_job(b, "RUNNING")
    await cli.cancel([a])
    assert cluster.run("squeue", "-h", "-t", "all", "-j", a, "-o", "%T").stdout.strip() in ("CANCELLED", "COMPLETING")
    await cli.requeue([b])
    cluster.wait_job(b, "PENDING")  # via COMPLETING, as Slurm requeues
    assert "Restarts=1" in cluster.run("scontrol", "-o", "show", "job", b).stdout
    [requeued] = await cli.jobs(JobFilter(job_ids=(b,)))
    assert (requeued.state, requeued.restarts) == ("PENDING", 1)


async def test_hold_and_release_a_pending_job(cli: SlurmCli, cluster: SlurmLab) -> None:
    blocker = cluster.sbatch("-N1", "-w", "gpu011", "--exclusive")
    cluster.wait_job(blocker, "RUNNING")
    waiting = cluster.sbatch("-N1", "-w", "gpu011")
    await cli.hold([waiting])
    assert cluster.run("squeue", "-h", "-j", waiting, "-o", "%T %r").stdout.split() in (
        ["PENDING", "JobHeldAdmin"],
        ["PENDING", "JobHeldUser"],
    )
    [held] = await cli.jobs(JobFilter(job_ids=(waiting,)))
    assert held.state == "PENDING" and held.reason.startswith("JobHeld")
    await cli.release([waiting])
    state, reason = cluster.run("squeue", "-h", "-j", waiting, "-o", "%T %r").stdout.split()
    assert state == "PENDING" and not reason.startswith("JobHeld")
    with pytest.raises(BackendError, match="scontrol failed: .*Invalid job id"):
        await cli.hold(["987654"])


async def test_cancel_with_a_signal_keeps_the_job_running(cli: SlurmCli, cluster: SlurmLab, tmp_path: Path) -> None:
    flag = tmp_path / "got-usr1"
    job = cluster.sbatch("-N1", "-w", "gpu009", wrap=f"trap 'touch {flag}' USR1; while true; do sleep 0.2; done")
    cluster.wait_job(job, "RUNNING")
    time.sleep(0.5)  # let the shell install its trap
    await cli.cancel([job], signal="USR1")
    deadline = time.monotonic() + 10
    while not flag.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert flag.exists() and cluster.job_state(job) == "RUNNING"


async def test_cancelling_an_unknown_job_is_an_error(cli: SlurmCli) -> None:
    with pytest.raises(BackendError, match="Invalid job id specified"):
        await cli.cancel(["987654"])


async def test_drain_a_node_whose_slurmd_is_down(cli: SlurmCli, cluster: SlurmLab) -> None:
    cluster.stop_slurmd("gpu010")
    await cli.drain(["gpu010"], "slurmd dead")
    assert "DRAIN" in cluster.node("gpu010")["State"]
    assert cluster.node("gpu010")["Reason"].startswith("slurmd dead")


async def test_slurmctld_down_gives_one_clear_error_within_the_timeout(cluster: SlurmLab) -> None:
    cli = SlurmCli(LocalRunner(timeout=3.0, env=cluster.env))
    cluster.stop_slurmctld()
    t0 = time.monotonic()
    with pytest.raises(BackendUnavailable) as err:
        await cli.nodes()
    assert time.monotonic() - t0 < 6
    assert str(err.value) in (
        "slurm: sinfo did not answer within 3 s (is slurmctld up?)",
        "slurm: scontrol did not answer within 3 s (is slurmctld up?)",
        "slurm: squeue did not answer within 3 s (is slurmctld up?)",
    ) or str(err.value).startswith("slurm: slurmctld does not answer")
    assert "\n" not in str(err.value)


async def test_a_read_without_jobs_sees_a_fresh_health_mark_but_no_jobs(cli: SlurmCli, cluster: SlurmLab) -> None:
    """resume's health check reads with ``jobs=False`` (no squeue): state and reason must still be
    what Slurm holds right now (a health check may have drained the node a moment ago)."""
    job = cluster.sbatch("-N1", "-w", "gpu010")
    cluster.wait_job(job, "RUNNING")
    cluster.run("scontrol", "update", "NodeName=gpu010", "State=DRAIN", "Reason=NHC: xid 79 on GPU 3")
    try:
        (lean,) = await cli.nodes(["gpu010"], jobs=False)
        (full,) = await cli.nodes(["gpu010"])
        assert lean.reason.startswith("NHC: xid 79") and lean.unavailable and lean.jobs == ()
        assert full.reason == lean.reason and full.jobs == (job,)
    finally:
        cluster.run("scontrol", "update", "NodeName=gpu010", "State=RESUME")

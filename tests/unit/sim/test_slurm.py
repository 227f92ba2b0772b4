"""The simulated Slurm: the starting picture and every state transition the port offers."""

from __future__ import annotations

from collections import Counter

import pytest

from dcops.actions.backends.models import JobFilter
from dcops.actions.backends.ports import InventoryPort, SlurmPort
from dcops.actions.errors import BackendError
from dcops.actions.sim import ManualClock, SimCluster

THREE_DAYS = 3 * 86400.0


async def test_ports_satisfy_protocols(backends) -> None:
    assert isinstance(backends.slurm, SlurmPort)
    assert isinstance(backends.inventory, InventoryPort)


async def test_layout_partitions_and_labels(backends) -> None:
    refs = await backends.inventory.nodes()
    assert [r.name for r in refs][:2] == ["gpu001", "gpu002"] and refs[-1].name == "gpu064"
    gpu = [r.name for r in refs if r.partitions == ("gpu",)]
    debug = [r.name for r in refs if r.partitions == ("debug",)]
    assert gpu[0] == "gpu001" and gpu[-1] == "gpu056" and len(gpu) == 56
    assert debug == [f"gpu{i:03d}" for i in range(57, 65)]
    first = refs[0]
    assert "rack=r01" in first.labels and "ib=ndr" in first.labels
    assert first.bmc == "sim://bmc/gpu001" and first.kube_name == "gpu001" and first.ssh_host == "gpu001"
    assert "rack=r02" in refs[8].labels


async def test_starting_picture_is_realistic(backends) -> None:
    nodes = {n.name: n for n in await backends.slurm.nodes()}
    states = Counter(n.display_state for n in nodes.values())
    assert states["allocated"] + states["mixed"] > 40
    assert 1 <= states["idle"] <= 12
    assert nodes["gpu009"].state == "down" and "NOT_RESPONDING" in nodes["gpu009"].flags
    assert nodes["gpu052"].display_state == "drained" and "ECC" in nodes["gpu052"].reason
    assert nodes["gpu001"].gres == "gpu:h100:8" and nodes["gpu001"].cpus == 128
    jobs = await backends.slurm.jobs()
    users = {j.user for j in jobs}
    assert {"alice", "bob", "carol"} <= users
    assert any(j.node_count > 1 and j.state == "RUNNING" for j in jobs)
    reasons = {j.reason for j in jobs if j.state == "PENDING"}
    assert {"Resources", "Priority", "JobHeldUser"} <= reasons


async def test_unknown_node_and_job_name_the_culprit(backends) -> None:
    with pytest.raises(BackendError, match="gpu999"):
        await backends.slurm.drain(["gpu001", "gpu999"], "x")
    with pytest.raises(BackendError, match="424242"):
        await backends.slurm.cancel(["424242"])
    with pytest.raises(BackendError, match="gpu777"):
        await backends.slurm.nodes(["gpu777"])


async def test_drain_busy_node_is_draining_until_its_jobs_end(backends, clock: ManualClock) -> None:
    busy = next(n for n in await backends.slurm.nodes() if n.state == "allocated" and n.name != "gpu017")
    await backends.slurm.drain([busy.name], "xid 79 [alice via cli]")
    (node,) = await backends.slurm.nodes([busy.name])
    assert node.display_state == "draining" and node.reason == "xid 79 [alice via cli]" and node.unavailable
    clock.advance(THREE_DAYS)
    (node,) = await backends.slurm.nodes([busy.name])
    assert node.display_state == "drained" and node.jobs == ()
    await backends.slurm.resume([busy.name])
    (node,) = await backends.slurm.nodes([busy.name])
    assert not node.drain_flag and node.reason == ""


async def test_drain_idle_node_is_drained_at_once(backends) -> None:
    await backends.slurm.drain(["gpu012"], "maintenance")
    (node,) = await backends.slurm.nodes(["gpu012"])
    assert node.display_state == "drained"


async def test_drained_node_gets_no_new_jobs(backends, clock: ManualClock) -> None:
    await backends.slurm.drain(["gpu012"], "maintenance")
    clock.advance(THREE_DAYS)
    (node,) = await backends.slurm.nodes(["gpu012"])
    assert node.jobs == () and node.display_state == "drained"


async def test_resume_brings_down_node_to_idle(backends, clock: ManualClock) -> None:
    await backends.slurm.resume(["gpu009"])
    (node,) = await backends.slurm.nodes(["gpu009"])
    assert node.state == "idle" and not node.drain_flag
    assert "NOT_RESPONDING" in node.flags, "its slurmd is still silent"
    clock.advance(400)
    (node,) = await backends.slurm.nodes(["gpu009"])
    assert node.state == "down" and node.reason == "Not responding"


async def test_time_scale_speeds_up_simulated_time() -> None:
    clock = ManualClock()
    sim = SimCluster(clock=clock, time_scale=60.0)
    start = sim.now()
    clock.advance(10)
    assert sim.now() - start == 600.0


async def test_cancel_frees_the_nodes(backends) -> None:
    (node,) = await backends.slurm.nodes(["gpu003"])
    job_id = node.jobs[0]
    await backends.slurm.cancel([job_id])
    (job,) = await backends.slurm.jobs(JobFilter(job_ids=(job_id,)))
    assert job.state == "CANCELLED"
    (node,) = await backends.slurm.nodes(["gpu003"])
    assert job_id not in node.jobs
    with pytest.raises(BackendError, match="already"):
        await backends.slurm.cancel([job_id])


async def test_signal_other_than_kill_keeps_job_running(backends) -> None:
    running = (await backends.slurm.jobs(JobFilter(state="running")))[0]
    await backends.slurm.cancel([running.job_id], signal="USR1")
    (job,) = await backends.slurm.jobs(JobFilter(job_ids=(running.job_id,)))
    assert job.state == "RUNNING"


async def test_requeue_pends_then_runs_again(backends, clock: ManualClock) -> None:
    (node,) = await backends.slurm.nodes(["gpu003"])
    job_id = node.jobs[0]
    (before,) = await backends.slurm.jobs(JobFilter(job_ids=(job_id,)))
    await backends.slurm.requeue([job_id])
    (job,) = await backends.slurm.jobs(JobFilter(job_ids=(job_id,)))
    assert job.state == "PENDING" and job.restarts == 1 and job.reason == "BeginTime"
    clock.advance(60)
    (job,) = await backends.slurm.jobs(JobFilter(job_ids=(job_id,)))
    assert job.state == "RUNNING" and job.nodes == before.nodes
    pending = (await backends.slurm.jobs(JobFilter(state="PENDING")))[0]
    with pytest.raises(BackendError, match=pending.job_id):
        await backends.slurm.requeue([pending.job_id])


async def test_hold_and_release(backends) -> None:
    pending = [j for j in await backends.slurm.jobs(JobFilter(state="PENDING")) if j.reason == "Priority"][0]
    await backends.slurm.hold([pending.job_id])
    (job,) = await backends.slurm.jobs(JobFilter(job_ids=(pending.job_id,)))
    assert job.reason == "JobHeldUser"
    await backends.slurm.release([pending.job_id])
    (job,) = await backends.slurm.jobs(JobFilter(job_ids=(pending.job_id,)))
    assert job.state == "PENDING" and job.reason != "JobHeldUser"
    running = (await backends.slurm.jobs(JobFilter(state="RUNNING")))[0]
    with pytest.raises(BackendError, match="no longer pending"):
        await backends.slurm.hold([running.job_id])


async def test_job_filter(backends) -> None:
    alice = await backends.slurm.jobs(JobFilter(user="alice"))
    assert alice and all(j.user == "alice" for j in alice)
    on_node = await backends.slurm.jobs(JobFilter(node="gpu002"))
    assert on_node and all("gpu002" in j.nodes for j in on_node)
    debug = await backends.slurm.jobs(JobFilter(partition="debug"))
    assert debug and all(j.partition == "debug" for j in debug)


async def test_finished_jobs_age_out_of_the_list(backends, clock: ManualClock) -> None:
    (node,) = await backends.slurm.nodes(["gpu003"])
    job_id = node.jobs[0]
    await backends.slurm.cancel([job_id])
    assert job_id in {j.job_id for j in await backends.slurm.jobs()}
    clock.advance(600)
    assert job_id not in {j.job_id for j in await backends.slurm.jobs()}


def test_same_seed_same_story() -> None:
    a, b = SimCluster(seed=3, clock=ManualClock()), SimCluster(seed=3, clock=ManualClock())
    assert [(j.job_id, j.user, j.nodes) for j in a.jobs.values()] == [
        (j.job_id, j.user, j.nodes) for j in b.jobs.values()
    ]


async def test_ten_thousand_nodes_build() -> None:
    sim = SimCluster(nodes=10_000, clock=ManualClock())
    nodes = await sim.backends().slurm.nodes()
    assert len(nodes) == 10_000 and nodes[0].name == "gpu00001" and nodes[-1].name == "gpu10000"
    assert sum(1 for n in nodes if n.partitions == ("debug",)) == 1250


def test_small_clusters_work() -> None:
    for count in (1, 2, 5, 16):
        sim = SimCluster(nodes=count, clock=ManualClock())
        assert len(sim.nodes) == count

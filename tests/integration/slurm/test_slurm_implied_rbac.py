"""drain --cancel-jobs against the lab's real Slurm: the implied cancel is decided on the job and
every node it runs on (read from slurmctld), confirmed like a direct cancel, and a refusal leaves
the job running and the node undrained. Outcomes are read back with squeue/sinfo and the audit log."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from dcops.actions import Request, open_engine
from dcops.actions.engine import Engine
from dcops.actions.errors import ConfirmationRequired, DeniedError
from dcops.actions.rbac import Policy
from dcops.actions.store.base import AuditQuery
from tests.integration.slurm.test_slurm_actions import lab_config, sacct_states
from tests.lab.slurm import SlurmLab

POLICY = """
[roles.drainer]
actions = ["drain"]

[roles.canceller]
actions = ["cancel"]
scope = { nodes = "gpu[001-011]" }

[[bindings]]
principals = ["unix:alice"]
roles = ["drainer", "canceller"]
"""


@pytest.fixture
async def engine(tmp_path: Path, cluster: SlurmLab) -> AsyncIterator[Engine]:
    eng = await open_engine(lab_config(tmp_path, cluster), policy=Policy.from_toml(POLICY))
    yield eng
    await eng.aclose()


def drain(nodes: str, confirm: str | None = None) -> Request:
    return Request(
        principal="unix:alice",
        channel="cli",
        action="drain",
        confirm=confirm,
        params={"nodes": nodes, "reason": "bad gpu", "cancel_jobs": True},
    )


async def test_a_job_reaching_outside_the_cancel_scope_refuses_the_drain(engine: Engine, cluster: SlurmLab) -> None:
    job = cluster.sbatch("-N2", "-w", "gpu011,gpu012")
    cluster.wait_job(job, "RUNNING")
    with pytest.raises(DeniedError) as exc:  # gpu011 is in the cancel scope, gpu012 is not
        await engine.submit(drain("gpu011", confirm="1"))
    assert f"job {job} (on gpu[011-012]) is outside unix:alice's scope for cancel" in str(exc.value)
    assert cluster.job_state(job) == "RUNNING"
    assert "DRAIN" not in cluster.node("gpu011")["State"]
    events = [r.event for r in sorted(await engine.store.query(AuditQuery(action="drain")), key=lambda r: r.seq)]
    assert events == ["received", "denied"]


async def test_a_job_inside_it_is_cancelled_after_typed_confirmation(engine: Engine, cluster: SlurmLab) -> None:
    job = cluster.sbatch("-N2", "-w", "gpu010,gpu011")
    cluster.wait_job(job, "RUNNING")
    with pytest.raises(ConfirmationRequired) as need:
        await engine.submit(drain("gpu011"))
    assert need.value.token == "1" and f"{job} (on gpu[010-011])" in str(need.value)
    assert cluster.job_state(job) == "RUNNING"
    run = await engine.submit(drain("gpu011", confirm="1"))
    fin = await run.wait()
    assert fin.outcome == "ok", fin.summary
    assert f"{job} (on gpu[010-011])" in fin.summary
    assert sacct_states(cluster, job) == ["CANCELLED"]
    started = [r for r in await engine.store.query(AuditQuery(run_id=run.run_id)) if r.event == "started"][0]
    assert f"performs cancel on job {job} (on gpu[010-011])" in started.detail

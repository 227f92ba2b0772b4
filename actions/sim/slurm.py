"""SimSlurm: the SlurmPort over the simulated cluster, with scontrol/scancel semantics.

drain: idle nodes become drained, busy ones draining until their jobs end; resume clears DRAIN
and returns a down node to idle; down kills the node's jobs (NODE_FAIL); cancel, requeue (PENDING,
restarts+1, eligible again after a BeginTime delay), hold and release (priority 0, JobHeldUser)
behave as their Slurm commands do, and refuse with Slurm's message where Slurm would.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from ..backends.models import JobFilter, JobInfo, NodeInfo
from ..errors import BackendError
from .cluster import SimCluster
from .scenario import CPUS_PER_NODE, GPUS_PER_NODE, GRES, MEMORY_MB
from .state import SimJob, SimNode

_KILL_SIGNALS = {None, "", "KILL", "SIGKILL", "9", "TERM", "SIGTERM", "15"}


def _dt(t: float | None) -> datetime | None:
    return None if t is None else datetime.fromtimestamp(t, tz=UTC)


def format_time_limit(seconds: int) -> str:
    """Slurm's ``[days-]hours:minutes:seconds``."""
    days, rest = divmod(int(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    clock = f"{hours:02d}:{minutes:02d}:{secs:02d}"
    return f"{days}-{clock}" if days else clock


def node_info(node: SimNode) -> NodeInfo:
    used = node.gpus_used
    if node.down:
        state = "down"
    elif used == 0:
        state = "idle"
    elif used >= GPUS_PER_NODE:
        state = "allocated"
    else:
        state = "mixed"
    flags = tuple(f for f, on in (("DRAIN", node.drain), ("NOT_RESPONDING", node.not_responding)) if on)
    return NodeInfo(
        name=node.name,
        state=state,
        flags=flags,
        reason=node.reason,
        partitions=(node.partition,),
        gres=GRES,
        gpus=GPUS_PER_NODE,
        gpus_used=used,
        cpus=CPUS_PER_NODE,
        cpus_alloc=used * (CPUS_PER_NODE // GPUS_PER_NODE),
        memory_mb=MEMORY_MB,
        features=(f"rack={node.rack}", "ib=ndr", "h100", "nvlink"),
        jobs=tuple(node.alloc),
    )


def job_info(job: SimJob) -> JobInfo:
    return JobInfo(
        job_id=job.job_id,
        name=job.name,
        user=job.user,
        partition=job.partition,
        state=job.state,
        nodes=job.nodes,
        node_count=job.node_count,
        gpus=job.node_count * job.gpus_per_node,
        submit_time=_dt(job.submit_time),
        start_time=_dt(job.start_time),
        time_limit=format_time_limit(job.time_limit),
        reason="None" if job.state == "RUNNING" else job.reason,
        restarts=job.restarts,
        exit_code=job.exit_code,
    )


def _matches(job: SimJob, flt: JobFilter) -> bool:
    return (
        (flt.user is None or job.user == flt.user)
        and (flt.partition is None or job.partition == flt.partition)
        and (flt.node is None or flt.node in job.nodes)
        and (flt.state is None or job.state == flt.state.upper())
        and (not flt.job_ids or job.job_id in flt.job_ids)
    )


class SimSlurm:
    """The SlurmPort. Unknown nodes and job ids raise BackendError naming them."""

    def __init__(self, sim: SimCluster) -> None:
        self.sim = sim

    async def nodes(self, names: Sequence[str] | None = None, *, jobs: bool = True) -> list[NodeInfo]:
        self.sim.advance()
        chosen = self.sim.nodes.values() if names is None else self.sim.nodes_named(names, "slurm")
        return [node_info(n) for n in chosen]

    async def jobs(self, filter: JobFilter | None = None) -> list[JobInfo]:
        now = self.sim.advance()
        flt = filter or JobFilter()
        pool = (
            [self.sim.jobs[j] for j in flt.job_ids if j in self.sim.jobs] if flt.job_ids else self.sim.visible_jobs(now)
        )
        return [job_info(j) for j in pool if _matches(j, flt)]

    async def drain(self, nodes: Sequence[str], reason: str) -> None:
        if not reason.strip():
            raise BackendError("slurm: a drain needs a reason (scontrol: You must specify a reason)")
        self.sim.advance()
        for node in self.sim.nodes_named(nodes, "slurm"):
            self.sim.drain(node, reason)

    async def resume(self, nodes: Sequence[str]) -> None:
        now = self.sim.advance()
        for node in self.sim.nodes_named(nodes, "slurm"):
            self.sim.resume(node, now)
        self.sim.advance()

    def _jobs(self, job_ids: Sequence[str]) -> list[SimJob]:
        return [self.sim.job(j) for j in job_ids]

    async def cancel(self, job_ids: Sequence[str], signal: str | None = None) -> None:
        now = self.sim.advance()
        jobs = self._jobs(job_ids)
        for job in jobs:
            if job.finished:
                raise BackendError(f"slurm: job {job.job_id}: Job/step already completing or completed")
        if signal not in _KILL_SIGNALS:
            return  # scancel --signal delivers it; the job keeps running
        for job in jobs:
            if job.state == "RUNNING":
                self.sim.end_job(job, now, "CANCELLED", "0:15")
            else:
                job.state, job.end_time, job.exit_code = "CANCELLED", now, "0:0"
        self.sim.advance()

    async def requeue(self, job_ids: Sequence[str]) -> None:
        now = self.sim.advance()
        jobs = self._jobs(job_ids)
        for job in jobs:
            if job.state == "PENDING":
                raise BackendError(f"slurm: job {job.job_id}: Job is pending execution, nothing to requeue")
        for job in jobs:
            self.sim.requeue_job(job, now)
        self.sim.advance()

    def _pending(self, job_ids: Sequence[str]) -> list[SimJob]:
        self.sim.advance()
        jobs = self._jobs(job_ids)
        for job in jobs:
            if job.state != "PENDING":
                raise BackendError(f"slurm: job {job.job_id}: Job is no longer pending execution ({job.state})")
        return jobs

    async def hold(self, job_ids: Sequence[str]) -> None:
        for job in self._pending(job_ids):
            job.held, job.reason = True, "JobHeldUser"

    async def release(self, job_ids: Sequence[str]) -> None:
        jobs = self._pending(job_ids)
        for job in jobs:
            job.held = False
            job.reason = "Priority"
        self.sim.wake()
        self.sim.advance()

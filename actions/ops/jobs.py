"""Job actions: list, cancel (or signal), requeue, hold, release (Slurm); a dry run names the jobs and
the nodes they run on."""

from __future__ import annotations

from collections.abc import AsyncIterator

from pydantic import Field, field_validator, model_validator

from ..backends.models import JobFilter
from ..context import ActionContext
from ..events import ActionEvent, Result, Step, Table
from ..hostlists import collapse
from ..registry import Kind, MutatingParams, Params, TargetKind, action


class JobsParams(Params):
    user: str | None = Field(None, description="only this user's jobs")
    partition: str | None = Field(None, description="only jobs in this partition")
    node: str | None = Field(None, description="only jobs on this node")
    state: str | None = Field(None, description="RUNNING, PENDING, ...")


@action("jobs", example='jobs --state RUNNING', help="list jobs (like squeue)", params=JobsParams, kind=Kind.READ, targets=TargetKind.NONE,
        category="jobs")
async def jobs(ctx: ActionContext, p: JobsParams) -> AsyncIterator[ActionEvent]:
    slurm = ctx.backends.require("slurm")
    found = await slurm.jobs(JobFilter(user=p.user, partition=p.partition, node=p.node, state=p.state))
    rows = [[j.job_id, j.partition, j.name, j.user, j.state, j.node_count, ",".join(j.nodes), j.reason]
            for j in found]
    used = " ".join(f"--{k} {v}" for k, v in p.model_dump(exclude_none=True).items())
    summary = f"{len(rows)} jobs" if rows or not used else f"no jobs match {used}"   # an empty filter says so
    yield Result(summary=summary, table=Table(
        columns=["job", "partition", "name", "user", "state", "nodes", "nodelist", "reason"], rows=rows),
        data=[j.model_dump(mode="json") for j in found])


class JobIdsParams(MutatingParams):
    jobs: list[str] = Field(..., min_length=1, description="job ids")

    @field_validator("jobs")
    @classmethod
    def _ids(cls, v: list[str]) -> list[str]:
        for j in v:
            if not j.replace("_", "").isdigit():
                raise ValueError(f"{j!r} is not a Slurm job id (digits, or ARRAYID_TASK)")
        return v


class CancelParams(JobIdsParams):
    jobs: list[str] = Field(default_factory=list, description="job ids (or --user)")
    signal: str | None = Field(None, description="send this signal instead of cancelling (e.g. USR1)")
    user: str | None = Field(None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$",
                             description="every running or pending job of this user (like scancel -u)")

    @model_validator(mode="after")
    def _ids_or_user(self) -> "CancelParams":
        if bool(self.jobs) == bool(self.user):
            raise ValueError("give job ids or --user USER, not both or neither")
        return self


def _job_action(verb: str, past: str, port_call: str, *, kind: Kind, help: str, params: type[JobIdsParams],
                example: str):
    async def run(ctx: ActionContext, p: JobIdsParams) -> AsyncIterator[ActionEvent]:
        slurm = ctx.backends.require("slurm")
        ids = ctx.job_ids
        if ctx.dry_run:
            found = await slurm.jobs(JobFilter(job_ids=tuple(ids)))
            rows = [[j.job_id, j.user, j.state, ",".join(j.nodes)] for j in found]
            nodes = sorted({n for j in found for n in j.nodes})
            what = f"send {p.signal} to" if getattr(p, "signal", None) else verb
            yield Result(summary=f"would {what} {len(ids)} job(s): {', '.join(ids)}"
                                 + (f" running on {collapse(nodes)}" if nodes else ""),
                         table=Table(columns=["job", "user", "state", "nodes"], rows=rows),
                         data={"jobs": ids, "nodes": nodes})
            return
        call = getattr(slurm, port_call)
        if port_call == "cancel":
            await call(ids, getattr(p, "signal", None))
        else:
            await call(ids)
        for j in ids:
            yield Step(target=j, status="ok", detail=past)
        after = await slurm.jobs(JobFilter(job_ids=tuple(ids)))
        rows = [[j.job_id, j.state, j.reason] for j in after]
        yield Result(summary=f"{past} {len(ids)} job(s): {', '.join(ids)}",
                     table=Table(columns=["job", "state", "reason"], rows=rows), data={"jobs": ids})

    action(verb, help=help, params=params, kind=kind, targets=TargetKind.JOBS, positional=("jobs",),
           category="jobs", example=example)(run)
    return run


cancel = _job_action("cancel", "cancelled", "cancel", kind=Kind.DESTRUCTIVE, help="cancel jobs (or signal them)",
                     params=CancelParams, example="cancel {job}")
requeue = _job_action("requeue", "requeued", "requeue", kind=Kind.WRITE, help="requeue jobs (they restart later)",
                      params=JobIdsParams, example="requeue {job}")
hold = _job_action("hold", "held", "hold", kind=Kind.WRITE, help="hold pending jobs", params=JobIdsParams,
                   example="hold {pending_job}")
release = _job_action("release", "released", "release", kind=Kind.WRITE, help="release held jobs",
                      params=JobIdsParams, example="release {pending_job}")

"""Job actions: list, cancel (or signal), requeue, hold, release (Slurm); a dry run names the jobs and
the nodes they run on."""

from __future__ import annotations

from collections.abc import AsyncIterator

from pydantic import Field, field_validator, model_validator

from ..backends.models import JobFilter
from ..backends.ports import SlurmPort
from ..context import ActionContext
from ..events import ActionEvent, Result, Step
from ..hostlists import collapse
from ..registry import Kind, MutatingParams, Params, TargetKind, action
from ..result_models import JobRow
from ..result_rows import Row

# squeue's job states and their short codes
JOB_STATES = (
    "PENDING",
    "RUNNING",
    "SUSPENDED",
    "COMPLETING",
    "COMPLETED",
    "CANCELLED",
    "FAILED",
    "TIMEOUT",
    "NODE_FAIL",
    "PREEMPTED",
    "BOOT_FAIL",
    "DEADLINE",
    "OUT_OF_MEMORY",
    "CONFIGURING",
    "REQUEUED",
    "REQUEUE_FED",
    "REQUEUE_HOLD",
    "RESIZING",
    "REVOKED",
    "SIGNALING",
    "SPECIAL_EXIT",
    "STAGE_OUT",
    "STOPPED",
    "RESV_DEL_HOLD",
)
JOB_STATE_CODES = {
    "PD": "PENDING",
    "R": "RUNNING",
    "S": "SUSPENDED",
    "CG": "COMPLETING",
    "CD": "COMPLETED",
    "CA": "CANCELLED",
    "F": "FAILED",
    "TO": "TIMEOUT",
    "NF": "NODE_FAIL",
    "PR": "PREEMPTED",
    "BF": "BOOT_FAIL",
    "DL": "DEADLINE",
    "OOM": "OUT_OF_MEMORY",
    "CF": "CONFIGURING",
    "RQ": "REQUEUED",
    "RF": "REQUEUE_FED",
    "RH": "REQUEUE_HOLD",
    "RS": "RESIZING",
    "RV": "REVOKED",
    "SI": "SIGNALING",
    "SE": "SPECIAL_EXIT",
    "SO": "STAGE_OUT",
    "ST": "STOPPED",
    "RD": "RESV_DEL_HOLD",
}


class JobsParams(Params):
    user: str | None = Field(None, description="only this user's jobs")
    partition: str | None = Field(None, description="only jobs in this partition")
    node: str | None = Field(None, description="only jobs on this node")
    state: str | None = Field(None, description="RUNNING, PENDING, ... (Slurm job states)")

    @field_validator("state")
    @classmethod
    def _state(cls, v: str | None) -> str | None:
        if v is None:
            return v
        state = v.strip().upper()
        state = JOB_STATE_CODES.get(state, state)
        if state not in JOB_STATES:
            raise ValueError(
                f"{v[:40]!r} is not a Slurm job state; accepted: {', '.join(JOB_STATES)} "
                "(or their short codes PD, R, CG, CD, CA, F, TO, NF, PR, S, ...)"
            )
        return state


class JobPlanRow(Row):
    """A job a dry run would act on, and where it runs."""

    job: str
    user: str
    state: str
    nodes: list[str]


class JobStateRow(Row):
    """A job after the action: its state now and Slurm's reason."""

    job: str
    state: str
    reason: str


@action(
    "jobs",
    example="jobs --state RUNNING",
    help="list jobs (like squeue)",
    params=JobsParams,
    kind=Kind.READ,
    targets=TargetKind.NONE,
    category="jobs",
    rows=JobRow,
)
async def jobs(ctx: ActionContext, p: JobsParams) -> AsyncIterator[ActionEvent]:
    slurm = ctx.backends.get(SlurmPort)
    found = await slurm.jobs(JobFilter(user=p.user, partition=p.partition, node=p.node, state=p.state))
    rows = [
        JobRow(
            job=j.job_id,
            partition=j.partition,
            name=j.name,
            user=j.user,
            state=j.state,
            node_count=j.node_count,
            nodelist=list(j.nodes),
            reason=j.reason,
        )
        for j in found
    ]
    used = " ".join(f"--{k} {v}" for k, v in p.model_dump(exclude_none=True).items())
    summary = f"{len(rows)} jobs" if rows or not used else f"no jobs match {used}"  # an empty filter says so
    yield Result(summary=summary, rows=rows, row_model=JobRow, data=[j.model_dump(mode="json") for j in found])


class JobIdsParams(MutatingParams):
    jobs: list[str] = Field(..., min_length=1, description="job ids")

    @field_validator("jobs")
    @classmethod
    def _ids(cls, v: list[str]) -> list[str]:
        for j in v:
            if not j.replace("_", "").isdigit():
                raise ValueError(f"{j!r} is not a Slurm job id (digits, or ARRAYID_TASK)")
        return v


# what scancel --signal accepts: a name (with or without SIG) or a number
SIGNALS = (
    "HUP",
    "INT",
    "QUIT",
    "ILL",
    "TRAP",
    "ABRT",
    "BUS",
    "FPE",
    "KILL",
    "USR1",
    "SEGV",
    "USR2",
    "PIPE",
    "ALRM",
    "TERM",
    "STKFLT",
    "CHLD",
    "CONT",
    "STOP",
    "TSTP",
    "TTIN",
    "TTOU",
    "URG",
    "XCPU",
    "XFSZ",
    "VTALRM",
    "PROF",
    "WINCH",
    "IO",
    "PWR",
    "SYS",
)


class CancelParams(JobIdsParams):
    jobs: list[str] = Field(default_factory=list, description="job ids (or --user)")
    signal: str | None = Field(None, description="send this signal instead of cancelling (e.g. USR1, TERM, 10)")
    user: str | None = Field(
        None,
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9._-]+$",
        description="every running or pending job of this user (like scancel -u)",
    )

    @model_validator(mode="after")
    def _ids_or_user(self) -> CancelParams:
        if bool(self.jobs) == bool(self.user):
            raise ValueError("give job ids or --user USER, not both or neither")
        return self

    @field_validator("signal")
    @classmethod
    def _signal(cls, v: str | None) -> str | None:
        if v is None:
            return v
        name = v.strip().upper().removeprefix("SIG")
        if name in SIGNALS:
            return name
        if name.isascii() and name.isdigit() and 1 <= int(name) <= 64:
            return str(int(name))
        raise ValueError(
            f"{v[:40]!r} is not a signal; accepted: {', '.join(SIGNALS)} (with or without SIG), "
            "or a number from 1 to 64"
        )


def _job_action(
    verb: str, past: str, port_call: str, *, kind: Kind, help: str, params: type[JobIdsParams], example: str
):
    async def run(ctx: ActionContext, p: JobIdsParams) -> AsyncIterator[ActionEvent]:
        slurm = ctx.backends.get(SlurmPort)
        ids = ctx.job_ids
        if ctx.dry_run:
            found = await slurm.jobs(JobFilter(job_ids=tuple(ids)))
            plan = [JobPlanRow(job=j.job_id, user=j.user, state=j.state, nodes=list(j.nodes)) for j in found]
            nodes = sorted({n for j in found for n in j.nodes})
            signal = getattr(p, "signal", None)  # `signal` has one; cancel/hold/requeue do not
            what = f"send {signal} to" if signal else verb
            yield Result(
                summary=f"would {what} {len(ids)} job(s): {', '.join(ids)}"
                + (f" running on {collapse(nodes)}" if nodes else ""),
                rows=plan,
                row_model=JobPlanRow,
                data={"jobs": ids, "nodes": nodes},
            )
            return
        call = getattr(slurm, port_call)
        if port_call == "cancel":
            await call(ids, getattr(p, "signal", None))
        else:
            await call(ids)
        for j in ids:
            yield Step(target=j, status="ok", detail=past)
        after = await slurm.jobs(JobFilter(job_ids=tuple(ids)))
        rows = [JobStateRow(job=j.job_id, state=j.state, reason=j.reason) for j in after]
        yield Result(
            summary=f"{past} {len(ids)} job(s): {', '.join(ids)}", rows=rows, row_model=JobStateRow, data={"jobs": ids}
        )

    action(
        verb,
        help=help,
        params=params,
        kind=kind,
        targets=TargetKind.JOBS,
        positional=("jobs",),
        category="jobs",
        example=example,
        rows=(JobStateRow, JobPlanRow),
    )(run)
    return run


cancel = _job_action(
    "cancel",
    "cancelled",
    "cancel",
    kind=Kind.DESTRUCTIVE,
    help="cancel jobs (or signal them)",
    params=CancelParams,
    example="cancel {job}",
)
requeue = _job_action(
    "requeue",
    "requeued",
    "requeue",
    kind=Kind.WRITE,
    help="requeue jobs (they restart later)",
    params=JobIdsParams,
    example="requeue {job}",
)
hold = _job_action(
    "hold", "held", "hold", kind=Kind.WRITE, help="hold pending jobs", params=JobIdsParams, example="hold {pending_job}"
)
release = _job_action(
    "release",
    "released",
    "release",
    kind=Kind.WRITE,
    help="release held jobs",
    params=JobIdsParams,
    example="release {pending_job}",
)

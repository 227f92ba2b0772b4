"""Node actions: list, drain, resume (Slurm; Kubernetes joins in where configured)."""

from __future__ import annotations

import warnings
from collections.abc import AsyncIterator

from pydantic import Field, model_validator

from ..backends.models import JobFilter
from ..backends.ports import SlurmPort
from ..context import ActionContext
from ..errors import UsageError
from ..events import ActionEvent, Result
from ..hostlists import expand
from ..registry import Kind, MutatingParams, Params, TargetKind, action
from ..result_models import NodeRow
from ..result_rows import joined_model
from ..validation import SlurmReason
from . import _silences, _validation
from ._drain_through import check_scheduler_exists
from ._slurm_nodes import DrainedRow, DrainPlanRow, ResumedRow, ResumePlanRow, health_gate, slurm_drain, slurm_resume
from .kube_nodes import (
    KubeDrainedRow,
    KubeDrainPlanRow,
    KubeResumedRow,
    KubeResumePlanRow,
    kube_drain,
    kube_resume,
    parts,
)
from .validate import ValidationRow

# what drain / resume answer with: Slurm's rows, Kubernetes' rows, or both joined per node
DRAIN_ROWS = (
    DrainedRow,
    DrainPlanRow,
    KubeDrainedRow,
    KubeDrainPlanRow,
    joined_model(DrainedRow, KubeDrainedRow),
    joined_model(DrainPlanRow, KubeDrainPlanRow),
)
RESUME_ROWS = (
    ResumedRow,
    ResumePlanRow,
    KubeResumedRow,
    KubeResumePlanRow,
    joined_model(ResumedRow, KubeResumedRow),
    joined_model(ResumePlanRow, KubeResumePlanRow),
    ValidationRow,
)


class NodesParams(Params):
    nodes: str = Field("", description="hostlist (default: every node)")
    state: str | None = Field(None, description="only nodes in this state (idle, drained, down, ...)")
    partition: str | None = Field(None, description="only nodes in this partition")
    job: str | None = Field(None, description="only the nodes this job runs on")


@action(
    "nodes",
    example="nodes gpu[001-004]",
    help="list nodes with Slurm state, reason and jobs",
    params=NodesParams,
    kind=Kind.READ,
    targets=TargetKind.NONE,
    positional=("nodes",),
    category="nodes",
    rows=NodeRow,
)
async def list_nodes(ctx: ActionContext, p: NodesParams) -> AsyncIterator[ActionEvent]:
    slurm = ctx.backends.get(SlurmPort)
    names = expand(p.nodes) if p.nodes else None
    if p.job is not None:
        found = await slurm.jobs(JobFilter(job_ids=(p.job,)))
        if not found:
            raise UsageError(f"unknown job id {p.job}")
        on_job = list(found[0].nodes)
        names = [n for n in names if n in on_job] if names is not None else on_job
    rows = []
    for n in await slurm.nodes(names):
        if p.state and n.display_state != p.state.lower() and n.state != p.state.lower():
            continue
        if p.partition and p.partition not in n.partitions:
            continue
        rows.append(
            NodeRow(
                node=n.name,
                state=n.display_state,
                flags=list(n.flags),
                partitions=list(n.partitions),
                gpus_used=n.gpus_used,
                gpus_total=n.gpus,
                jobs=list(n.jobs),
                reason=n.reason,
            )
        )
    used = " ".join(f"--{k} {v}" for k, v in p.model_dump(exclude_none=True, exclude_defaults=True).items())
    summary = f"{len(rows)} nodes" if rows or not used else f"no nodes match {used}"  # an empty filter says so
    yield Result(summary=summary, rows=rows, row_model=NodeRow)


class DrainParams(MutatingParams):
    nodes: str = Field(..., description="hostlist of nodes to drain")
    reason: SlurmReason = Field(..., min_length=1, max_length=200, description="why (shown in sinfo)")
    wait: bool = Field(False, description="wait until the jobs on the nodes have finished")
    wait_timeout: float = Field(3600.0, gt=0, le=7 * 86400, description="seconds --wait waits at most")
    requeue_jobs: bool = Field(False, description="requeue the jobs running on the nodes")
    cancel_jobs: bool = Field(False, description="cancel the jobs running on the nodes")
    silence: bool = Field(False, description="silence the nodes' alerts in Alertmanager until resume")
    silence_hours: float | None = Field(
        None, gt=0, le=24 * 14, description="maintenance window of --silence (default [alertmanager] silence_hours)"
    )

    @model_validator(mode="after")
    def _one_fate(self) -> DrainParams:
        if self.requeue_jobs and self.cancel_jobs:
            raise ValueError("give --requeue-jobs or --cancel-jobs, not both")
        return self


@action(
    "drain",
    example='drain gpu001 --reason "xid 79"',
    help="drain nodes: no new jobs; running jobs finish (or --wait, --requeue-jobs, --cancel-jobs)",
    params=DrainParams,
    kind=Kind.WRITE,
    targets=TargetKind.NODES,
    positional=("nodes",),
    category="nodes",
    takes_out_of_service=True,
    check=check_scheduler_exists,
    rows=DRAIN_ROWS,
    implies=lambda p: ("cancel",) if p.cancel_jobs else ("requeue",) if p.requeue_jobs else (),
)
async def drain(ctx: ActionContext, p: DrainParams) -> AsyncIterator[ActionEvent]:
    slurm_part = slurm_drain(
        ctx,
        ctx.nodes,
        p.reason,
        wait=p.wait,
        wait_timeout=p.wait_timeout,
        requeue_jobs=p.requeue_jobs,
        cancel_jobs=p.cancel_jobs,
    )
    ok = True
    try:
        if p.silence:  # silenced before the drain: its own alerts are expected
            async for event in _silences.silence_nodes(ctx, ctx.nodes, p.reason, p.silence_hours):
                yield event
        async for event in parts(ctx, slurm_part, kube_drain(ctx)):  # Slurm and/or Kubernetes
            if isinstance(event, Result) and not event.ok:
                ok = False
            yield event
    except BaseException:
        if p.silence and not ctx.dry_run:  # not in maintenance after all: no silence left behind
            async for _ in _silences.expire_own(ctx, "the drain did not complete"):
                pass
        raise
    if p.silence and not ok and not ctx.dry_run:
        async for event in _silences.expire_own(ctx, "the drain failed"):
            yield event


# the option is `resume --validate`; the field shadows pydantic's deprecated BaseModel.validate on purpose
warnings.filterwarnings("ignore", message='Field name "validate" in "ResumeParams" shadows')


class ResumeParams(MutatingParams):
    nodes: str = Field(..., description="hostlist of nodes to return to service")
    force: bool = Field(False, description="resume nodes a health check marked bad (needs --reason)")
    reason: str | None = Field(None, min_length=1, max_length=200, description="why a forced resume is safe")
    validate: bool = Field(  # type: ignore[assignment]  # --validate shadows the deprecated BaseModel.validate
        False, description="return the nodes only if they pass `validate` (dcgmi diag, GPUs, NVLink, IB)"
    )
    level: int | None = Field(
        None, ge=1, le=4, description="dcgmi diag level for --validate (default [validate] level)"
    )

    @model_validator(mode="after")
    def _force_needs_reason(self) -> ResumeParams:
        if self.force and not (self.reason or "").strip():
            raise ValueError("--force needs --reason saying why the node is fit again")
        return self


@action(
    "resume",
    example="resume gpu001",
    help="return drained or down nodes to service (health-marked ones only with --force --reason)",
    params=ResumeParams,
    kind=Kind.WRITE,
    targets=TargetKind.NODES,
    positional=("nodes",),
    category="nodes",
    check=check_scheduler_exists,
    rows=RESUME_ROWS,
    implies=lambda p: ("validate",) if p.validate else (),
)  # --validate runs `validate` on the nodes: RBAC decides it
async def resume(ctx: ActionContext, p: ResumeParams) -> AsyncIterator[ActionEvent]:
    slurm_part = None
    force, force_reason = p.force, p.reason
    gate = None
    if ctx.backends.has(SlurmPort):
        gate = _validation.Gate(ctx, p.validate, p.level)
        async for event in gate.run():  # validate first when asked or required: a failure returns nothing
            yield event
        if gate.refused:
            return
        if gate.passed and not force:  # validation is the evidence a health-marked node is fit
            force, force_reason = True, gate.reason
    if ctx.backends.has(SlurmPort):  # refuse health-marked nodes before either system acts
        infos = await health_gate(ctx, ctx.nodes, force=force, fresh=gate.fresh if gate is not None else None)
        slurm_part = slurm_resume(ctx, ctx.nodes, infos, force=force, force_reason=force_reason)
    async for event in parts(ctx, slurm_part, kube_resume(ctx)):  # Slurm and/or Kubernetes
        yield event
    async for event in _silences.expire_for_nodes(ctx, ctx.nodes):  # maintenance is over
        yield event

"""Kubernetes Job actions: ``k8s-jobs`` lists batch/v1 Jobs, ``restart-job`` runs one again.

A restart deletes the Job and its pods and creates it anew from its own spec (Kubernetes has
no restart verb). Restarting a Job that still has running pods kills them, so that needs
``--force``; a failed or complete Job restarts without it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from pydantic import Field, field_validator

from ..backends.models import KubeJob
from ..backends.ports import KubePort
from ..context import ActionContext
from ..errors import UsageError
from ..events import ActionEvent, Result, Step
from ..registry import Kind, MutatingParams, Params, TargetKind, action
from ..result_rows import Row

STATUSES = ("Running", "Pending", "Complete", "Failed", "Suspended")


def _dcops_nodes(ctx: ActionContext, nodes: tuple[str, ...]) -> list[str]:
    section = ctx.config.kube
    return [section.dcops_name(n) if section is not None else n for n in nodes]


class KubeJobRow(Row):
    """One Kubernetes Job: status, pod counts, and the (dcops names of the) nodes its pods ran on."""

    namespace: str
    job: str
    status: str
    active: int
    succeeded: int
    failed: int
    nodes: list[str]


class RestartedJobRow(Row):
    """The Job restart-job acted on: before, and (after a real run) its status now."""

    job: str = Field(description="NAMESPACE/NAME")
    status_before: str
    active: int
    failed: int
    nodes: list[str]
    status_now: str | None = Field(default=None, description="None in a dry run")


class KubeJobsParams(Params):
    namespace: str | None = Field(None, description="only Jobs in this namespace (default: all namespaces)")
    status: str | None = Field(None, description="only Jobs in this status: " + ", ".join(STATUSES))

    @field_validator("status")
    @classmethod
    def _status(cls, v: str | None) -> str | None:
        if v is None:
            return v
        for s in STATUSES:
            if s.lower() == v.lower():
                return s
        raise ValueError(f"{v!r} is not a Job status; use one of {', '.join(STATUSES)}")


@action(
    "k8s-jobs",
    example="k8s-jobs --status Failed",
    help="list Kubernetes Jobs with status, pods and nodes",
    params=KubeJobsParams,
    kind=Kind.READ,
    targets=TargetKind.NONE,
    category="jobs",
    rows=KubeJobRow,
)
async def k8s_jobs(ctx: ActionContext, p: KubeJobsParams) -> AsyncIterator[ActionEvent]:
    kube = ctx.backends.get(KubePort)
    found = [j for j in await kube.jobs(p.namespace) if p.status is None or j.status == p.status]
    rows = [
        KubeJobRow(
            namespace=j.namespace,
            job=j.name,
            status=j.status,
            active=j.active,
            succeeded=j.succeeded,
            failed=j.failed,
            nodes=_dcops_nodes(ctx, j.nodes),
        )
        for j in found
    ]
    yield Result(
        summary=f"{len(rows)} Kubernetes job(s)",
        rows=rows,
        row_model=KubeJobRow,
        data=[j.model_dump(mode="json") for j in found],
    )


class RestartJobParams(MutatingParams):
    job: str = Field(..., description="the Job as NAMESPACE/NAME (NAME alone means namespace 'default')")
    force: bool = Field(False, description="restart even if the Job still has running pods (they are killed)")

    @field_validator("job")
    @classmethod
    def _job(cls, v: str) -> str:
        ns, _, name = v.rpartition("/")
        if (
            not name
            or "/" in ns
            or any(
                not part.replace("-", "").replace(".", "").isalnum() or part != part.lower()
                for part in filter(None, (ns, name))
            )
        ):
            raise ValueError(f"{v!r} is not NAMESPACE/NAME (lower-case letters, digits, '-' and '.')")
        return f"{ns or 'default'}/{name}"


async def _find(ctx: ActionContext, namespace: str, name: str) -> KubeJob:
    for job in await ctx.backends.get(KubePort).jobs(namespace):
        if job.name == name:
            return job
    raise UsageError(f"no Kubernetes Job {namespace}/{name}; list them with: k8s-jobs --namespace {namespace}")


@action(
    "restart-job",
    example="restart-job ml-eval/llm-eval-nightly",
    help="run a Kubernetes Job again: delete it and its pods, create it anew from its spec",
    params=RestartJobParams,
    kind=Kind.WRITE,
    targets=TargetKind.NONE,
    positional=("job",),
    category="jobs",
    rows=RestartedJobRow,
)
async def restart_job(ctx: ActionContext, p: RestartJobParams) -> AsyncIterator[ActionEvent]:
    kube = ctx.backends.get(KubePort)
    namespace, name = p.job.split("/", 1)
    before = await _find(ctx, namespace, name)
    if before.active and not p.force:
        raise UsageError(
            f"job {p.job} is {before.status} with {before.active} active pod(s); restarting kills "
            f"them: add --force to restart it anyway"
        )
    row = RestartedJobRow(
        job=p.job,
        status_before=before.status,
        active=before.active,
        failed=before.failed,
        nodes=_dcops_nodes(ctx, before.nodes),
    )
    if ctx.dry_run:
        yield Result(
            summary=f"would delete job {p.job} ({before.status}) and its pods, then create it again from its spec",
            rows=[row],
            row_model=RestartedJobRow,
            data={"job": p.job, "before": before.model_dump(mode="json")},
        )
        return
    yield Step(target=p.job, status="running", detail="deleting and recreating", keep=False)
    await kube.restart_job(namespace, name)
    after = await _find(ctx, namespace, name)
    yield Step(target=p.job, status="ok", detail=f"restarted: was {before.status}, now {after.status}")
    yield Result(
        summary=f"restarted job {p.job}: was {before.status}, now {after.status}",
        rows=[row.model_copy(update={"status_now": after.status})],
        row_model=RestartedJobRow,
        data={"job": p.job, "before": before.model_dump(mode="json"), "after": after.model_dump(mode="json")},
    )

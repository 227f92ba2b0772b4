"""The Kubernetes side of ``drain`` and ``resume``, and how it joins the Slurm side.

A dcops node is also a Kubernetes node when ``[kube] node_map`` maps it (default: the same name)
to a node the API server lists. ``drain`` cordons and evicts there (DaemonSet and mirror pods
stay; PodDisruptionBudgets are honoured, refused evictions retried until ``[kube] drain_timeout``);
``resume`` uncordons. :func:`joined` runs the Slurm part (when Slurm is configured) and then the
Kubernetes part (when Kubernetes is configured) and merges their results into one, so a cluster
with either or both gets one answer per run.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

from pydantic import Field

from ..backends.models import DrainReport
from ..backends.ports import KubePort, SlurmPort
from ..context import ActionContext
from ..errors import BackendError, DcopsError
from ..events import ActionEvent, Log, Result, Table
from ..fanout import StepReporter
from ..hostlists import collapse
from ..result_rows import Row, join_rows, joined_model

MAX_PARALLEL_NODES = 4


def kube_name(ctx: ActionContext, node: str) -> str:
    return ctx.config.kube.kube_name(node) if ctx.config.kube is not None else node


async def kube_members(ctx: ActionContext, nodes: Sequence[str]) -> dict[str, str]:
    """dcops node -> Kubernetes node name, for the nodes that are Kubernetes nodes."""
    kube = ctx.backends.get(KubePort)
    known = {n.name for n in await kube.nodes()}
    return {n: kube_name(ctx, n) for n in nodes if kube_name(ctx, n) in known}


def _blocked_text(report: DrainReport) -> str:
    return "; ".join(f"{b.namespace}/{b.name} ({b.reason})" for b in report.blocked)


class KubeDrainPlanRow(Row):
    """What a drain dry run would evict from a Kubernetes node, and what would refuse now (PDBs)."""

    node: str
    k8s_node: str
    would_evict: list[str] = Field(description="NAMESPACE/POD")
    would_block_now: str = Field(description="pods a PodDisruptionBudget would refuse to evict now ('-': none)")


class KubeDrainedRow(Row):
    """A Kubernetes node after the drain."""

    node: str
    k8s_node: str
    k8s_state: str
    evicted: int = Field(description="pods evicted")
    blocked_by: str = Field(description="pods that blocked the drain ('-': none)")


class KubeResumePlanRow(Row):
    node: str
    k8s_node: str
    k8s_state_now: str = Field(title="k8s state now", description="cordoned or schedulable")


class KubeResumedRow(Row):
    node: str
    k8s_node: str
    k8s_state: str = Field(description="schedulable, or why it was not uncordoned")


def _drain_settings(ctx: ActionContext) -> tuple[float, int | None]:
    section = ctx.config.kube
    return (section.drain_timeout, section.grace_period) if section is not None else (300.0, None)


async def kube_drain(ctx: ActionContext) -> AsyncIterator[ActionEvent]:
    """Cordon and evict on the target nodes that are Kubernetes nodes (dry-run: list the evictions)."""
    kube = ctx.backends.get(KubePort)
    members = await kube_members(ctx, ctx.nodes)
    others = [n for n in ctx.nodes if n not in members]
    if others:
        yield Log(message=f"not Kubernetes nodes, nothing to evict: {collapse(others)}")
    timeout, grace = _drain_settings(ctx)
    reports: dict[str, DrainReport] = {}

    if ctx.dry_run:
        for node, kname in members.items():
            reports[node] = await kube.drain(kname, timeout=timeout, grace_period=grace, dry_run=True)
        plan = [
            KubeDrainPlanRow(
                node=n, k8s_node=r.node, would_evict=list(r.evicted), would_block_now=_blocked_text(r) or "-"
            )
            for n, r in reports.items()
        ]
        pods = sum(len(r.evicted) for r in reports.values())
        blocked = sum(len(r.blocked) for r in reports.values())
        yield Result(
            summary=f"kubernetes: would cordon {len(members)} node(s) and evict {pods} pod(s)"
            + (f"; {blocked} of them would be refused right now" if blocked else ""),
            rows=plan,
            row_model=KubeDrainPlanRow,
            data={n: r.model_dump(mode="json") for n, r in reports.items()},
        )
        return

    async def one(node: str, step: StepReporter) -> str:
        step.update(f"k8s: cordoning {members[node]} and evicting pods")
        report = await kube.drain(members[node], timeout=timeout, grace_period=grace)
        reports[node] = report
        if report.blocked:
            raise BackendError(
                f"k8s: {members[node]} cordoned but not drained (drain timeout {timeout:.0f}s); "
                f"{len(report.blocked)} pod(s) block: {_blocked_text(report)}"
            )
        return f"k8s: cordoned {members[node]}, evicted {len(report.evicted)} pod(s)"

    fan = ctx.fanout(list(members), one, max_parallel=MAX_PARALLEL_NODES, label="kubernetes drain")
    async for event in fan:
        yield event
    rows = [
        KubeDrainedRow(
            node=n, k8s_node=r.node, k8s_state="cordoned", evicted=len(r.evicted), blocked_by=_blocked_text(r) or "-"
        )
        for n, r in reports.items()
    ]
    yield Result(
        summary=f"kubernetes: {fan.summary('drained')}",
        ok=not fan.failed and not fan.skipped,
        rows=rows,
        row_model=KubeDrainedRow,
        data={n: r.model_dump(mode="json") for n, r in reports.items()},
    )


async def kube_resume(ctx: ActionContext) -> AsyncIterator[ActionEvent]:
    """Uncordon the target nodes that are Kubernetes nodes."""
    kube = ctx.backends.get(KubePort)
    state = {n.name: n for n in await kube.nodes()}
    members = {n: kube_name(ctx, n) for n in ctx.nodes if kube_name(ctx, n) in state}
    if ctx.dry_run:
        plan = [
            KubeResumePlanRow(node=n, k8s_node=k, k8s_state_now="cordoned" if state[k].unschedulable else "schedulable")
            for n, k in members.items()
        ]
        yield Result(
            summary=f"kubernetes: would uncordon {len(members)} node(s)",
            rows=plan,
            row_model=KubeResumePlanRow,
            data={"nodes": members},
        )
        return

    async def one(node: str, step: StepReporter) -> str:
        await kube.uncordon(members[node])
        return f"k8s: uncordoned {members[node]}"

    fan = ctx.fanout(list(members), one, max_parallel=MAX_PARALLEL_NODES, label="kubernetes uncordon")
    async for event in fan:
        yield event
    rows = [
        KubeResumedRow(
            node=n, k8s_node=members[n], k8s_state="schedulable" if n in fan.ok else fan.failed.get(n, "skipped")
        )
        for n in members
    ]
    yield Result(
        summary=f"kubernetes: {fan.summary('uncordoned')}",
        ok=not fan.failed and not fan.skipped,
        rows=rows,
        row_model=KubeResumedRow,
        data={"nodes": members},
    )


def _merge_tables(first: Table | None, second: Table | None) -> Table | None:
    """One row per node: the first table's columns, then the second's (both key rows by column 0)."""
    if first is None or second is None:
        return first or second
    extra = {row[0]: row[1:] for row in second.rows}
    blank = [""] * (len(second.columns) - 1)
    rows = [list(row) + list(extra.pop(row[0], blank)) for row in first.rows]
    rows += [[key] + [""] * (len(first.columns) - 1) + list(vals) for key, vals in extra.items()]
    return Table(columns=list(first.columns) + list(second.columns[1:]), rows=rows, title=first.title)


async def joined(
    ctx: ActionContext, slurm_part: AsyncIterator[ActionEvent] | None, kube_part: AsyncIterator[ActionEvent] | None
) -> AsyncIterator[ActionEvent]:
    """Run the Slurm part, then the Kubernetes part; pass their events through and end with one
    Result that says what both did (ok only if both are). Either part may be None. With both, a
    part that fails does not stop the other (the operator wants the node out of service in each
    system that can do it) and its error becomes its half of the result."""
    results: list[Result] = []
    both = slurm_part is not None and kube_part is not None
    for label, part in (("slurm", slurm_part), ("kubernetes", kube_part)):
        if part is None:
            continue
        try:
            async for event in part:
                if isinstance(event, Result):
                    results.append(event)
                else:
                    yield event
        except DcopsError as exc:
            if not both:
                raise
            yield Log(message=f"{label} part failed: {exc}", level="error")
            results.append(Result(summary=f"{label} failed: {exc}", ok=False))
    if not results:
        raise BackendError("this cluster has neither a slurm nor a kube backend configured")
    if len(results) == 1:
        yield results[0]
        return
    slurm, kube = results[0], results[-1]
    data: dict[str, Any] = {"slurm": slurm.data, "kube": kube.data}
    if slurm.row_model is not None and kube.row_model is not None:  # typed: one joined row per node
        model = joined_model(slurm.row_model, kube.row_model)
        yield Result(
            summary=f"{slurm.summary}; {kube.summary}",
            ok=slurm.ok and kube.ok,
            data=data,
            rows=join_rows(slurm.rows or [], kube.rows or [], model),
            row_model=model,
            title=slurm.table.title if slurm.table else "",
        )
        return
    yield Result(
        summary=f"{slurm.summary}; {kube.summary}",
        ok=slurm.ok and kube.ok,  # a failed half: no rows
        table=_merge_tables(slurm.table, kube.table),
        data=data,
        rows=(slurm.rows if slurm.row_model else kube.rows),
        row_model=slurm.row_model or kube.row_model,
    )


def parts(
    ctx: ActionContext, slurm_part: AsyncIterator[ActionEvent] | None, kube_part: AsyncIterator[ActionEvent]
) -> AsyncIterator[ActionEvent]:
    """What ``drain``/``resume`` run: Slurm when configured, Kubernetes when configured (with
    neither, a dry run says it would change nothing; a real run was refused before it started)."""
    has_slurm, has_kube = ctx.backends.has(SlurmPort), ctx.backends.has(KubePort)
    if not has_slurm and not has_kube:
        return _nothing_to_do(ctx)
    return joined(ctx, slurm_part if has_slurm else None, kube_part if has_kube else None)


async def _nothing_to_do(ctx: ActionContext) -> AsyncIterator[ActionEvent]:
    from ._drain_through import NO_SCHEDULER

    if not ctx.dry_run:
        raise BackendError(NO_SCHEDULER)
    yield Result(summary=f"would change nothing: {NO_SCHEDULER}", data={"nodes": list(ctx.nodes)})

"""Node actions: list, drain, resume (Slurm; Kubernetes joins in where configured)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from pydantic import Field

from ..context import ActionContext
from ..events import ActionEvent, Log, Result, Step, Table
from ..hostlists import collapse
from ..registry import Kind, MutatingParams, Params, TargetKind, action
from .kube_nodes import kube_drain, kube_resume, parts


class NodesParams(Params):
    nodes: str = Field("", description="hostlist (default: every node)")
    state: str | None = Field(None, description="only nodes in this state (idle, drained, down, ...)")
    partition: str | None = Field(None, description="only nodes in this partition")


@action("nodes", example='nodes gpu[001-004]', help="list nodes with Slurm state, reason and jobs", params=NodesParams, kind=Kind.READ,
        targets=TargetKind.NONE, positional=("nodes",), category="nodes")
async def list_nodes(ctx: ActionContext, p: NodesParams) -> AsyncIterator[ActionEvent]:
    slurm = ctx.backends.require("slurm")
    from ..hostlists import expand

    names = expand(p.nodes) if p.nodes else None
    rows = []
    for n in await slurm.nodes(names):
        if p.state and n.display_state != p.state.lower() and n.state != p.state.lower():
            continue
        if p.partition and p.partition not in n.partitions:
            continue
        rows.append([n.name, n.display_state, ",".join(n.flags), ",".join(n.partitions),
                     f"{n.gpus_used}/{n.gpus}", ",".join(n.jobs), n.reason])
    yield Result(summary=f"{len(rows)} nodes", table=Table(
        columns=["node", "state", "flags", "partitions", "gpus", "jobs", "reason"], rows=rows))


class DrainParams(MutatingParams):
    nodes: str = Field(..., description="hostlist of nodes to drain")
    reason: str = Field(..., min_length=1, max_length=200, description="why (shown in sinfo)")


@action("drain", example='drain gpu001 --reason "xid 79"', help="drain nodes: no new jobs; running jobs finish", params=DrainParams, kind=Kind.WRITE,
        targets=TargetKind.NODES, positional=("nodes",), category="nodes", takes_out_of_service=True)
async def drain(ctx: ActionContext, p: DrainParams) -> AsyncIterator[ActionEvent]:
    async for event in parts(ctx, _slurm_drain(ctx, p), kube_drain(ctx)):   # Slurm and/or Kubernetes
        yield event


async def _slurm_drain(ctx: ActionContext, p: DrainParams) -> AsyncIterator[ActionEvent]:
    slurm = ctx.backends.require("slurm")
    nodes = ctx.nodes
    reason = ctx.stamp(p.reason)
    infos = {n.name: n for n in await slurm.nodes(nodes)}
    jobs = sorted({j for n in nodes for j in (infos[n].jobs if n in infos else ())})
    if ctx.dry_run:
        rows = [[n, infos[n].display_state if n in infos else "?", ",".join(infos[n].jobs) if n in infos else ""]
                for n in nodes]
        yield Result(summary=f"would drain {len(nodes)} node(s) {collapse(nodes)} with reason {reason!r}; "
                             f"{len(jobs)} running job(s) would finish first",
                     table=Table(columns=["node", "state now", "jobs"], rows=rows),
                     data={"nodes": nodes, "jobs": jobs, "reason": reason})
        return
    await slurm.drain(nodes, reason)
    for n in nodes:
        yield Step(target=n, status="ok", detail=f"drain requested: {reason}")
    after = {n.name: n for n in await slurm.nodes(nodes)}
    rows = [[n, after[n].display_state if n in after else "?", after[n].reason if n in after else ""] for n in nodes]
    yield Result(summary=f"drained {len(nodes)} node(s) {collapse(nodes)}", table=Table(
        columns=["node", "state", "reason"], rows=rows), data={"nodes": nodes, "jobs": jobs})


class ResumeParams(MutatingParams):
    nodes: str = Field(..., description="hostlist of nodes to return to service")


@action("resume", example='resume gpu001', help="return drained or down nodes to service", params=ResumeParams, kind=Kind.WRITE,
        targets=TargetKind.NODES, positional=("nodes",), category="nodes")
async def resume(ctx: ActionContext, p: ResumeParams) -> AsyncIterator[ActionEvent]:
    async for event in parts(ctx, _slurm_resume(ctx, p), kube_resume(ctx)):   # Slurm and/or Kubernetes
        yield event


async def _slurm_resume(ctx: ActionContext, p: ResumeParams) -> AsyncIterator[ActionEvent]:
    slurm = ctx.backends.require("slurm")
    nodes = ctx.nodes
    infos = {n.name: n for n in await slurm.nodes(nodes)}
    if ctx.dry_run:
        rows = [[n, infos[n].display_state if n in infos else "?", infos[n].reason if n in infos else ""] for n in nodes]
        yield Result(summary=f"would resume {len(nodes)} node(s) {collapse(nodes)}",
                     table=Table(columns=["node", "state now", "reason"], rows=rows), data={"nodes": nodes})
        return
    already = [n for n in nodes if n in infos and not infos[n].unavailable]
    if already:
        yield Log(message=f"already in service: {collapse(already)}")
    await slurm.resume(nodes)
    for n in nodes:
        yield Step(target=n, status="ok", detail="resumed")
    after = {n.name: n for n in await slurm.nodes(nodes)}
    rows = [[n, after[n].display_state if n in after else "?"] for n in nodes]
    yield Result(summary=f"resumed {len(nodes)} node(s) {collapse(nodes)}",
                 table=Table(columns=["node", "state"], rows=rows), data={"nodes": nodes})

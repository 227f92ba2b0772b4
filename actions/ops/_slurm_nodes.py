"""The Slurm side of ``drain`` and ``resume``: drain with a stamped reason and then, on request,
requeue or cancel the jobs still on the nodes and wait until they are gone; resume, refusing nodes a
health check marked bad unless forced with a reason.

A node counts as "marked bad by a health check" when its Slurm reason starts with one of
``[slurm] health_reason_prefixes`` (default ``NHC:`` — what LBNL's Node Health Check writes when
it drains a node — and ``health:``). Forcing such a node back is allowed, but the operator's reason
goes into the audit log next to the health check's.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence

from pydantic import Field

from ..backends.models import JobFilter, NodeInfo
from ..backends.ports import SlurmPort
from ..config.slurm import SlurmSection
from ..context import ActionContext
from ..errors import DcopsError, DeniedError
from ..events import ActionEvent, Log, Progress, Result, Step
from ..hostlists import collapse
from ..result_rows import Row


class DrainPlanRow(Row):
    """What a drain dry run would do to a node."""

    node: str
    state_now: str = Field(title="state now", description="? when Slurm does not know the node")
    jobs: list[str] = Field(description="ids of the jobs running on it")
    would_become: str = Field(description="draining (jobs still run) or drained")


class DrainedRow(Row):
    """A node after the drain: its state, the jobs still on it, and the (stamped) reason."""

    node: str
    state: str
    jobs: list[str]
    reason: str


class ResumePlanRow(Row):
    """What a resume dry run would do to a node (a health-marked node is refused without --force)."""

    node: str
    state_now: str = Field(title="state now")
    reason: str
    plan: str


class ResumedRow(Row):
    """A resumed node and the reason it had been out of service."""

    node: str
    state: str
    previous_reason: str


POLL = 0.5  # seconds between state reads while waiting for jobs to finish
OUTAGE_GRACE = 30.0  # seconds a --wait rides out a controller that stopped answering
BUSY = ("allocated", "mixed", "completing")


def _by_name(infos: Sequence[NodeInfo]) -> dict[str, NodeInfo]:
    return {n.name: n for n in infos}


def jobs_on(infos: dict[str, NodeInfo], nodes: Sequence[str]) -> list[str]:
    """Job ids running on any of ``nodes``, each once, in node order."""
    return list(dict.fromkeys(j for n in nodes if n in infos for j in infos[n].jobs))


def is_idle(info: NodeInfo) -> bool:
    """Drained and empty: no job left, nothing completing."""
    return not info.jobs and info.state not in BUSY and "COMPLETING" not in info.flags


def _job_fate(requeue: bool, cancel: bool, wait: bool) -> str:
    if requeue:
        return "requeued"
    if cancel:
        return "cancelled"
    return "waited for" if wait else "left to finish"


async def slurm_drain(
    ctx: ActionContext,
    nodes: list[str],
    reason: str,
    *,
    wait: bool,
    wait_timeout: float,
    requeue_jobs: bool,
    cancel_jobs: bool,
) -> AsyncIterator[ActionEvent]:
    slurm = ctx.backends.get(SlurmPort)
    stamped = ctx.stamp(reason)
    fate = _job_fate(requeue_jobs, cancel_jobs, wait)
    if ctx.dry_run:
        infos = _by_name(await slurm.nodes(nodes))
        jobs = jobs_on(infos, nodes)
        found = {j.job_id: j for j in await slurm.jobs(JobFilter(job_ids=tuple(jobs)))} if jobs else {}
        plan = [
            DrainPlanRow(
                node=n,
                state_now=infos[n].display_state if n in infos else "?",
                jobs=list(infos[n].jobs) if n in infos else [],
                would_become=("draining" if infos[n].jobs else "drained") if n in infos else "?",
            )
            for n in nodes
        ]
        detail = "; ".join(
            f"{j} ({found[j].user}, {found[j].node_count} node(s): {collapse(found[j].nodes)})" if j in found else j
            for j in jobs
        )
        yield Result(
            summary=f"would drain {len(nodes)} node(s) {collapse(nodes)} with reason {stamped!r}; "
            f"{len(jobs)} job(s) on them would be {fate}" + (f": {detail}" if jobs else ""),
            rows=plan,
            row_model=DrainPlanRow,
            data={
                "nodes": nodes,
                "jobs": jobs,
                "reason": stamped,
                "jobs_would_be": fate,
                "job_details": [found[j].model_dump(mode="json") for j in jobs if j in found],
            },
        )
        return

    if requeue_jobs or cancel_jobs or wait:
        await slurm.drain(nodes, stamped)  # then read: exactly the jobs left on the nodes
        infos = _by_name(await slurm.nodes(nodes))
    elif all(n in ctx.extras.get("slurm_nodes", {}) for n in nodes):
        # the engine's blast-radius guard read every node's state just before this run (without
        # jobs: one sinfo). A node whose record says it holds nothing has no job; only the nodes
        # that may carry one are asked for their jobs, beside the write (draining changes no job)
        infos = {n: ctx.extras["slurm_nodes"][n] for n in nodes}
        busy = [n for n in nodes if infos[n].may_have_jobs]
        if busy:
            read, _ = await asyncio.gather(slurm.nodes(busy), slurm.drain(nodes, stamped))
            infos.update(_by_name(read))
        else:
            await slurm.drain(nodes, stamped)
    else:  # draining changes no job: read beside the write
        read, _ = await asyncio.gather(slurm.nodes(nodes), slurm.drain(nodes, stamped))
        infos = _by_name(read)
    jobs = jobs_on(infos, nodes)
    last = len(nodes) - 1
    for i, n in enumerate(nodes):  # one write drained them all: one audit transaction for the steps
        running = infos[n].jobs if n in infos else ()
        detail = (
            f"drained: {stamped}"
            if not running
            else f"draining ({len(running)} job(s): {','.join(running)}): {stamped}"
        )
        yield Step(target=n, status="ok", detail=detail, more=i < last)

    ok = True
    job_nodes: dict[str, list[str]] = {}
    if jobs and (requeue_jobs or cancel_jobs):
        decided = None if ctx.implied is None else ctx.implied.get("requeue" if requeue_jobs else "cancel", {})
        late = [j for j in jobs if decided is not None and j not in decided]
        jobs = [j for j in jobs if j not in late]
        for j in late:  # RBAC never decided these: leave them alone
            yield Step(
                target=j,
                status="skipped",
                detail=f"started after the request was decided; not {fate} "
                f"(it runs on {collapse(_nodes_of(infos, j))}; ask again)",
            )
        job_nodes = {j: list(decided[j]) if decided and decided.get(j) else _nodes_of(infos, j) for j in jobs}
        try:
            if jobs and requeue_jobs:
                await slurm.requeue(jobs)
            elif jobs:
                await slurm.cancel(jobs)
            for j in jobs:
                yield Step(target=j, status="ok", detail=f"job {fate} (it ran on {collapse(job_nodes[j])})")
        except DcopsError as exc:
            ok = False
            for j in jobs:
                yield Step(target=j, status="failed", detail=f"could not be {fate}: {exc}")

    still: list[str] = []
    if wait:
        async for event in _wait_empty(slurm, nodes, wait_timeout, infos):
            if isinstance(event, list):
                still = event
            else:
                yield event
        ok = ok and not still
        infos = _by_name(await slurm.nodes(nodes))

    rows = [
        DrainedRow(
            node=n,
            state=_after(infos[n], wait, fate) if n in infos else "?",
            jobs=list(infos[n].jobs) if n in infos else [],
            reason=stamped,
        )
        for n in nodes
    ]
    summary = f"drained {len(nodes)} node(s) {collapse(nodes)}"
    if jobs:
        summary += f"; {len(jobs)} job(s) {fate}"
        if job_nodes:
            summary += ": " + ", ".join(f"{j} (on {collapse(job_nodes[j])})" for j in jobs)
    if still:
        summary += f"; jobs still running after {wait_timeout:g} s on {collapse(still)} (nodes stay drained)"
    elif wait:
        summary += "; all jobs finished"
    yield Result(
        summary=summary,
        ok=ok,
        rows=rows,
        row_model=DrainedRow,
        data={"nodes": nodes, "jobs": jobs, "reason": stamped, "still_busy": still, "job_nodes": job_nodes},
    )


def _after(info: NodeInfo, waited: bool, fate: str) -> str:
    """The node's state once the drain is in: read after waiting, else derived from its jobs."""
    if waited:
        return info.display_state
    if not info.jobs:
        return "drained"
    return f"draining (jobs {fate})" if fate in ("requeued", "cancelled") else "draining"


def _nodes_of(infos: dict[str, NodeInfo], job: str) -> list[str]:
    return [n for n, info in infos.items() if job in info.jobs]


async def _wait_empty(
    slurm,
    nodes: list[str],
    timeout: float,  # noqa: ANN001 - a SlurmPort
    infos: dict[str, NodeInfo],
) -> AsyncIterator[ActionEvent | list[str]]:
    """Poll until every node is drained and empty; yields a Step per node as it empties and, last,
    the list of nodes still busy at the deadline (empty when all finished).

    The drain itself is already written when this runs, so a controller that stops answering for a
    while (slurmctld restarted) is waited out, said once in a Log line, rather than failing a drain
    that Slurm will keep; one that stays silent for ``OUTAGE_GRACE`` seconds fails the run with
    Slurm's own error (an operator must not wait an hour on a dead controller)."""
    deadline = time.monotonic() + timeout
    pending = [n for n in nodes if not (n in infos and is_idle(infos[n]))]
    for n in nodes:
        if n not in pending:
            yield Step(target=n, status="ok", detail="no jobs left")
    yield Progress(done=len(nodes) - len(pending), total=len(nodes), label="waiting for jobs to finish")
    unreachable: str | None = None
    silent_since = 0.0
    while pending and time.monotonic() < deadline:
        await asyncio.sleep(min(POLL, max(0.0, deadline - time.monotonic())))
        try:
            now = _by_name(await slurm.nodes(pending))
        except DcopsError as exc:
            if unreachable is None:
                silent_since = time.monotonic()
                yield Log(
                    message=f"Slurm is not answering ({exc}); the drain stands, still waiting "
                    f"(up to {OUTAGE_GRACE:.0f} s for it to come back)"
                )
            elif time.monotonic() - silent_since > OUTAGE_GRACE:
                raise
            unreachable = str(exc)
            continue
        if unreachable is not None:
            yield Log(message="Slurm answers again; still waiting for jobs to finish")
            unreachable = None
        done = [n for n in pending if n in now and is_idle(now[n])]
        for n in done:
            yield Step(target=n, status="ok", detail="no jobs left")
        if done:
            pending = [n for n in pending if n not in done]
            yield Progress(done=len(nodes) - len(pending), total=len(nodes), label="waiting for jobs to finish")
    for n in pending:
        why = (
            f"could not confirm: Slurm did not answer ({unreachable}); node stays drained"
            if unreachable
            else f"jobs still running after {timeout:g} s; node stays drained"
        )
        yield Step(target=n, status="failed", detail=why)
    yield pending


def health_prefixes(ctx: ActionContext) -> tuple[str, ...]:
    section = ctx.config.slurm or SlurmSection()
    return tuple(section.health_reason_prefixes)


def health_marked(infos: dict[str, NodeInfo], nodes: Sequence[str], prefixes: Sequence[str]) -> list[str]:
    return [n for n in nodes if n in infos and any(infos[n].reason.startswith(p) for p in prefixes)]


async def health_gate(
    ctx: ActionContext, nodes: list[str], *, force: bool, fresh: dict[str, NodeInfo] | None = None
) -> dict[str, NodeInfo]:
    """Read the nodes and refuse (before Slurm or Kubernetes is touched) to resume any a health
    check marked bad, unless forced; a dry run only reports it. Returns what was read: state and
    reason, read fresh for this run (a health check may have drained a node a moment ago), without the
    jobs on the nodes (resume does not need them: one Slurm query fewer). ``fresh``: the same read
    made a moment ago in this run (resume's validation gate), never one from an earlier run."""
    infos = fresh if fresh is not None else _by_name(await ctx.backends.get(SlurmPort).nodes(nodes, jobs=False))
    marked = health_marked(infos, nodes, health_prefixes(ctx))
    if marked and not force and not ctx.dry_run:
        first = infos[marked[0]].reason
        raise DeniedError(
            f"resume refused: {collapse(marked)} marked bad by a health check ({first!r}); "
            "fix the node, or resume it with --force --reason TEXT"
        )
    return infos


async def slurm_resume(
    ctx: ActionContext, nodes: list[str], infos: dict[str, NodeInfo], *, force: bool, force_reason: str | None
) -> AsyncIterator[ActionEvent]:
    """Resume after :func:`health_gate` let the request through (``infos`` is what it read)."""
    slurm = ctx.backends.get(SlurmPort)
    marked = health_marked(infos, nodes, health_prefixes(ctx))
    if ctx.dry_run:
        plan = [
            ResumePlanRow(
                node=n,
                state_now=infos[n].display_state if n in infos else "?",
                reason=infos[n].reason if n in infos else "",
                plan=(
                    "would resume (forced past the health check)" if force else "refused: marked bad by a health check"
                )
                if n in marked
                else "would resume",
            )
            for n in nodes
        ]
        refused = marked and not force
        yield Result(
            summary=f"would resume {len(nodes)} node(s) {collapse(nodes)}"
            if not refused
            else f"resume would be refused: {collapse(marked)} marked bad by a health check (needs --force --reason)",
            rows=plan,
            row_model=ResumePlanRow,
            data={"nodes": nodes, "health_marked": marked},
        )
        return
    already = [n for n in nodes if n in infos and not infos[n].unavailable]
    if already:
        yield Log(message=f"already in service: {collapse(already)}")
    await slurm.resume(nodes)
    last = len(nodes) - 1
    for i, n in enumerate(nodes):  # one write resumed them all: one audit transaction for the steps
        detail = "resumed"
        if n in marked:
            detail = f"resumed past health mark {infos[n].reason!r}: {ctx.stamp(force_reason or '')}"
        yield Step(target=n, status="ok", detail=detail, more=i < last)
    rows = [ResumedRow(node=n, state="resumed", previous_reason=infos[n].reason if n in infos else "") for n in nodes]
    yield Result(
        summary=f"resumed {len(nodes)} node(s) {collapse(nodes)}"
        + (f" (forced past health marks on {collapse(marked)})" if marked else ""),
        rows=rows,
        row_model=ResumedRow,
        data={"nodes": nodes, "forced": marked},
    )

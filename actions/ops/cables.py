"""InfiniBand cable actions: ``triage-cable`` (read) and ``reset-counters`` (destructive, one port).

``triage-cable NODE[:DEVICE[:PORT]]`` judges the links of that port with evidence from both ends;
``triage-cable --auto`` screens every link on counters, then triages the worst. Follow-ups (drain
both ends, reset counters after a reseat) are offered as command lines in ``Result.data["followups"]``
for a front end to submit: they pass RBAC, guards and audit like anything typed.

Counters are never reset fabric-wide: ``reset-counters`` clears exactly one HCA port, is
destructive (confirmation, audit) and takes that node's lock.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Literal

from pydantic import Field

from ..backends.ports import SshPort
from ..context import ActionContext
from ..errors import BackendError, UsageError
from ..events import ActionEvent, Log, Result, Step
from ..fabric import setup
from ..fabric.triage import Triage, rank_fabric, triage_links
from ..registry import Kind, MutatingParams, Params, TargetKind, action
from ..result_rows import Row


class TriageParams(Params):
    port: str = Field("", description="NODE, NODE:DEVICE or NODE:DEVICE:PORT (e.g. gpu023:mlx5_0:1)")
    auto: bool = Field(False, description="screen every link and triage the worst ones")
    top: int = Field(5, ge=1, le=100, description="with --auto: how many of the worst links to triage")


class EvidenceRow(Row):
    """One evidence line of a triaged link; the link, its verdict and suspect end are on its first
    line only (the per-link records, with every field, are in ``data["links"]``)."""

    link: str = Field(description="A<->B (first line of the link only)")
    verdict: str = Field(description="healthy, degrading, bad cable, ... (first line only)")
    suspect: str = Field(description="the end most likely at fault, '-' when none (first line only)")
    evidence: str = Field(description="a counter, mlxlink/ibstat reading, the jobs on it, or a next step")


def _rows(triaged: list[Triage]) -> list[EvidenceRow]:
    rows: list[EvidenceRow] = []
    for t in triaged:
        v = t.verdict
        lines = v.evidence + [f"missing: {m}" for m in v.missing]
        if t.jobs:
            lines.append("jobs: " + "; ".join(f"{n}: {', '.join(j) or 'none'}" for n, j in sorted(t.jobs.items())))
        if t.jobs_missing:
            lines.append(f"missing: {t.jobs_missing}")
        lines += [f"next: {s}" for s in t.next_actions]
        for i, line in enumerate(lines):
            rows.append(
                EvidenceRow(
                    link=str(v.link) if i == 0 else "",
                    verdict=v.kind if i == 0 else "",
                    suspect=(str(v.suspect) if v.suspect else "-") if i == 0 else "",
                    evidence=line,
                )
            )
    return rows


def _summary(t: Triage) -> str:
    v = t.verdict
    text = f"{v.link}: {v.kind} — {v.evidence[0]}"
    if v.missing or t.jobs_missing:
        text += f" (from what was available; missing: {len(v.missing) + bool(t.jobs_missing)} source(s))"
    return text


@action(
    "triage-cable",
    example="triage-cable gpu023:mlx5_0:1",
    help="judge an InfiniBand link from both ends (counters, BER, port state): healthy, degrading, bad cable, bad port, flapping, congestion (or unknown without evidence)",
    params=TriageParams,
    kind=Kind.READ,
    targets=TargetKind.NONE,
    positional=("port",),
    category="fabric",
    timeout=120,
    rows=EvidenceRow,
)
async def triage_cable(ctx: ActionContext, p: TriageParams) -> AsyncIterator[ActionEvent]:
    if bool(p.port) == p.auto:
        raise UsageError("give a port (triage-cable gpu023:mlx5_0:1) or --auto, not both or neither")
    topo = setup.topology(ctx)
    assert topo is not None  # required=True raises instead of returning None
    src = setup.sources(ctx)
    if p.auto:
        yield Log(message=f"screening {len(topo.links)} links on 12/125-min counter growth")
        triaged, screened, unknown = await rank_fabric(topo, src, p.top)
        if triaged:
            summary = f"{len(triaged)} of {screened} links need attention; worst: {_summary(triaged[0])}"
        elif unknown:
            summary = f"unknown: {unknown} of {screened} links could not be judged (counters missing)"
        else:
            summary = f"all {screened} links healthy"
    else:
        links = list(dict.fromkeys(link for _, link in topo.select(p.port)))
        for link in links:
            yield Step(target=str(link), status="running", detail="collecting counters, mlxlink, ibstat", keep=False)
        triaged = await triage_links(links, src)
        for t in triaged:
            yield Step(target=str(t.verdict.link), status="ok", detail=t.verdict.kind)
        summary = "; ".join(_summary(t) for t in triaged)
    followups = [f for t in triaged for f in t.followups]
    severity: Literal["ok", "warning", "bad"] = (
        "bad"
        if any(t.verdict.is_fault for t in triaged)
        else "warning"
        if any(t.verdict.kind in ("degrading", "unknown") for t in triaged)
        else "ok"
    )
    yield Result(
        summary=summary,
        ok=True,
        severity=severity,
        rows=_rows(triaged),
        row_model=EvidenceRow,
        title="cable triage",
        data={"links": [t.as_data() for t in triaged], "followups": list(dict.fromkeys(followups))},
    )


class ResetCountersParams(MutatingParams):
    nodes: str = Field(..., description="the one node whose HCA port to clear")
    device: str = Field(..., pattern=r"^[A-Za-z0-9_.-]+$", description="HCA device, e.g. mlx5_0")
    port: int = Field(1, ge=1, le=255, description="HCA port number")


@action(
    "reset-counters",
    example="reset-counters gpu023 --device mlx5_0",
    help="clear the error counters of ONE HCA port (mlxlink --pc), e.g. after a reseat; never fabric-wide",
    params=ResetCountersParams,
    kind=Kind.DESTRUCTIVE,
    targets=TargetKind.NODES,
    positional=("nodes",),
    category="fabric",
    timeout=60,
)
async def reset_counters(ctx: ActionContext, p: ResetCountersParams) -> AsyncIterator[ActionEvent]:
    if len(ctx.nodes) != 1:
        raise UsageError(
            f"reset-counters clears one port on one node, got {len(ctx.nodes)} nodes; "
            "counters are never reset fabric-wide"
        )
    node = ctx.nodes[0]
    port = f"{node}:{p.device}:{p.port}"
    topo = setup.topology(ctx, required=False)
    if topo is not None:
        topo.select(port)  # a clear error for a port that is not cabled
    argv = ["mlxlink", "-d", p.device, "--pc"]
    if ctx.dry_run:
        yield Result(
            summary=f"would clear the counters of {port} by running {' '.join(argv)} on {node}",
            data={"port": port, "argv": argv},
        )
        return
    ssh = ctx.backends.get(SshPort)
    res = await ssh.run(node, argv, timeout=30)
    if not res.ok:
        raise BackendError(
            f"reset-counters on {port}: {res.error or (res.stderr.strip() or f'exit {res.exit_status}').splitlines()[-1]}"
        )
    yield Step(target=node, status="ok", detail=f"counters of {p.device} port {p.port} cleared")
    yield Result(
        summary=f"cleared the counters of {port}; run triage-cable {port} in 12 min to see if errors return",
        data={"port": port, "followups": [f"triage-cable {port}"]},
    )

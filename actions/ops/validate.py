"""``validate`` (the checks a node must pass before it returns to service) and ``gpu-reset`` (the
first step for a recoverable XID: ``nvidia-smi -r -i N``, refused while a process uses the GPU).
``resume --validate`` uses the same checks (see ``nodes.py``)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from pydantic import Field

from ..backends.ports import SshPort
from ..checks.smi import APPS_QUERY, GPU_QUERY, parse_apps, parse_gpus
from ..checks.verdict import NodeVerdict, validate_node
from ..context import ActionContext
from ..errors import BackendError, DeniedError, UsageError
from ..events import ActionEvent, Progress, Result, Step
from ..hostlists import collapse
from ..registry import Kind, MutatingParams, TargetKind, action
from ..result_rows import Row


class ValidateParams(MutatingParams):
    nodes: str = Field(..., description="hostlist of nodes to validate")
    level: int | None = Field(None, ge=1, le=4, description="dcgmi diag level 1-4 (default [validate] level)")


async def run_checks(ctx: ActionContext, nodes: list[str], level: int) -> AsyncIterator[ActionEvent | NodeVerdict]:
    """Validate nodes concurrently; yields a Step per node as it finishes, then each NodeVerdict."""
    ssh = ctx.backends.get(SshPort)
    cfg = ctx.config.validate_
    for n in nodes:
        yield Step(
            target=n, status="running", detail=f"validating (dcgmi diag -r {level}, nvidia-smi, ibstat)", keep=False
        )
    pending = {asyncio.ensure_future(validate_node(ssh, n, level, cfg)) for n in nodes}
    done_count = 0
    verdicts: list[NodeVerdict] = []
    try:
        while pending:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for fut in done:
                v = fut.result()
                verdicts.append(v)
                done_count += 1
                yield Step(target=v.node, status="ok" if v.passed else "failed", detail=f"validation {v.line()}")
            yield Progress(done=done_count, total=len(nodes), label="validating")
    finally:
        for fut in pending:
            fut.cancel()
    for v in sorted(verdicts, key=lambda v: nodes.index(v.node)):
        yield v


class ValidationRow(Row):
    """A node's validation: pass or FAIL, and each check's answer ("ok", "FAIL: why", "?" not run)."""

    node: str
    verdict: str = Field(description="pass or FAIL")
    gpus: str
    nvlink: str
    ib: str
    dcgm: str


def verdict_rows(verdicts: list[NodeVerdict]) -> list[ValidationRow]:
    rows = []
    for v in verdicts:
        by = {c.name: c for c in v.checks}
        checks = {
            k: (("ok" if by[k].ok else "FAIL: ") + ("" if by[k].ok else by[k].detail) if k in by else "?")
            for k in ("gpus", "nvlink", "ib", "dcgm")
        }
        rows.append(ValidationRow(node=v.node, verdict="pass" if v.passed else "FAIL", **checks))
    return rows


@action(
    "validate",
    example="validate gpu001 --level 1",
    help="check nodes before they return to service: dcgmi diag, GPU count/driver, NVLink, IB ports (over SSH)",
    params=ValidateParams,
    kind=Kind.WRITE,
    targets=TargetKind.NODES,
    positional=("nodes",),
    category="nodes",
    timeout=4 * 3600,
    rows=ValidationRow,
)
async def validate(ctx: ActionContext, p: ValidateParams) -> AsyncIterator[ActionEvent]:
    level = p.level or ctx.config.validate_.level
    if ctx.dry_run:
        yield Result(
            summary=f"would run dcgmi diag -r {level} -j, nvidia-smi (GPUs, driver, NVLink) and ibstat on "
            f"{len(ctx.nodes)} node(s) {collapse(ctx.nodes)}",
            data={"nodes": ctx.nodes, "level": level},
        )
        return
    verdicts: list[NodeVerdict] = []
    async for item in run_checks(ctx, ctx.nodes, level):
        if isinstance(item, NodeVerdict):
            verdicts.append(item)
        else:
            yield item
    bad = [v for v in verdicts if not v.passed]
    summary = f"{len(verdicts) - len(bad)} of {len(verdicts)} node(s) passed validation (level {level})" + (
        "; failed: " + "; ".join(f"{v.node}: {v.failed[0].name}: {v.failed[0].detail}" for v in bad[:5]) if bad else ""
    )
    yield Result(
        summary=summary,
        ok=not bad,
        rows=verdict_rows(verdicts),
        row_model=ValidationRow,
        data=[{"node": v.node, "passed": v.passed, "checks": [c.__dict__ for c in v.checks]} for v in verdicts],
    )


class GpuResetParams(MutatingParams):
    nodes: str = Field(..., description="the node (one)")
    gpu: int = Field(..., ge=0, le=15, description="GPU index as nvidia-smi numbers it")


@action(
    "gpu-reset",
    example="gpu-reset gpu017 --gpu 3",
    help="reset one GPU (nvidia-smi -r -i N): the first step for a recoverable XID; refused while processes use it",
    params=GpuResetParams,
    kind=Kind.DESTRUCTIVE,
    targets=TargetKind.NODES,
    positional=("nodes",),
    category="nodes",
    timeout=300,
)
async def gpu_reset(ctx: ActionContext, p: GpuResetParams) -> AsyncIterator[ActionEvent]:
    if len(ctx.nodes) != 1:
        raise UsageError(f"gpu-reset resets one GPU of one node, got {len(ctx.nodes)} nodes")
    node = ctx.nodes[0]
    ssh = ctx.backends.get(SshPort)
    gpus_res, apps_res = await asyncio.gather(
        ssh.run(node, ["nvidia-smi", f"--query-gpu={GPU_QUERY}", "--format=csv,noheader"], timeout=60),
        ssh.run(node, ["nvidia-smi", f"--query-compute-apps={APPS_QUERY}", "--format=csv,noheader"], timeout=60),
    )
    if apps_res.error or apps_res.exit_status not in (0, 15):
        raise BackendError(
            f"gpu-reset {node}: cannot list GPU processes: {apps_res.error or apps_res.stderr.strip()[:200]}"
        )
    gpus = {g.index: g for g in parse_gpus(gpus_res.stdout)}
    if p.gpu not in gpus:
        raise UsageError(
            f"gpu-reset: {node} has no GPU {p.gpu} (GPUs {','.join(map(str, sorted(gpus))) or 'none visible'})"
        )
    bus = gpus[p.gpu].bus_id
    users = [(pid, name) for b, pid, name in parse_apps(apps_res.stdout) if b.lower() == bus.lower()]
    if users:
        who = ", ".join(f"pid {pid} ({name})" for pid, name in users[:5])
        raise DeniedError(
            f"gpu-reset refused: GPU {p.gpu} of {node} is in use by {who}; drain the node and "
            f"requeue or wait for its jobs first"
        )
    argv = ["nvidia-smi", "-r", "-i", str(p.gpu)]
    if ctx.dry_run:
        yield Result(
            summary=f"would reset GPU {p.gpu} ({bus}) of {node} with {' '.join(argv)}; no process uses it",
            data={"node": node, "gpu": p.gpu, "argv": argv},
        )
        return
    res = await ssh.run(node, argv, timeout=240)
    if not res.ok:
        why = res.error or (res.stderr.strip() or res.stdout.strip() or f"exit {res.exit_status}").splitlines()[0]
        yield Step(target=node, status="failed", detail=f"GPU {p.gpu} reset failed: {why}")
        yield Result(summary=f"GPU {p.gpu} of {node} was not reset: {why}", ok=False)
        return
    yield Step(target=node, status="ok", detail=f"GPU {p.gpu} ({bus}) reset")
    yield Result(
        summary=f"reset GPU {p.gpu} of {node}; run `validate {node}` before it takes jobs again",
        data={"node": node, "gpu": p.gpu, "followups": [f"validate {node}"]},
    )

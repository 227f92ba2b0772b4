"""Firmware actions over Redfish: ``firmware`` (inventory), ``firmware-check`` (against a baseline)
and ``firmware-update`` (a rolling, resumable update).

A rolling update takes each node through: drain (Slurm) and wait idle -> SimpleUpdate per image
-> task monitored to its end -> reset when a task says the image waits for one -> inventory read
again to verify every new version -> resume. At most ``--max-parallel`` nodes are out at once and
no new node starts once failures exceed ``--max-failures``. Each node's progress is journaled, so
``dcops resume RUN_ID`` skips finished nodes, re-attaches to update tasks that were running, and
finishes the rest. A node that fails stays drained with a reason naming the step that failed.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Literal
from urllib.parse import urlparse

from pydantic import Field, field_validator, model_validator

from ..backends.models import FirmwareComponent
from ..backends.ports import RedfishPort, SlurmPort
from ..context import ActionContext
from ..errors import DcopsError, UsageError
from ..events import ActionEvent, Log, Result, Table
from ..fanout import StepReporter
from ..registry import Kind, MutatingParams, Params, TargetKind, action
from ._baseline import Baseline, compare_versions, compliance, family, load_baseline
from ._node_steps import (StepFailed, drain_and_wait_idle, hold_drained, slurm_node, until, wait_power,
                          wait_slurm_responding)

INVENTORY_PARALLEL = 64     # the adapter bounds requests per BMC and across the fleet itself


async def _inventories(ctx: ActionContext, nodes: Sequence[str], results: dict[str, list[FirmwareComponent]],
                       label: str) -> AsyncIterator[ActionEvent]:
    redfish: RedfishPort = ctx.backends.require("redfish")

    async def read(node: str, rep: StepReporter) -> str:
        results[node] = await redfish.firmware_inventory(node)
        return f"{len(results[node])} components"

    fan = ctx.fanout(nodes, read, max_parallel=INVENTORY_PARALLEL, label=label)
    async for ev in fan:
        if getattr(ev, "kind", "") == "step" and ev.status == "ok":
            continue                              # one line per node is noise for a read
        yield ev
    ctx.extras.setdefault("inventory_failed", {}).update(fan.failed)


# ---------------------------------------------------------------- firmware (inventory)

class FirmwareParams(Params):
    nodes: str = Field(..., description="hostlist of nodes whose BMCs to read")


@action("firmware", example="firmware gpu[001-016]", help="firmware inventory per component across nodes (Redfish)",
        params=FirmwareParams, kind=Kind.READ, targets=TargetKind.NODES, positional=("nodes",), category="firmware")
async def firmware(ctx: ActionContext, p: FirmwareParams) -> AsyncIterator[ActionEvent]:
    found: dict[str, list[FirmwareComponent]] = {}
    async for ev in _inventories(ctx, ctx.nodes, found, "reading firmware inventory"):
        yield ev
    failed: dict[str, str] = ctx.extras.get("inventory_failed", {})
    columns: list[str] = []
    for comps in found.values():
        columns += [c.id for c in comps if c.id not in columns]
    rows = []
    for node in ctx.nodes:
        by_id = {c.id: c.version for c in found.get(node, [])}
        rows.append([node, *(by_id.get(c, "") for c in columns), failed.get(node, "")])
    spread = []
    for cid in columns:
        counts: dict[str, int] = {}
        for comps in found.values():
            for c in comps:
                if c.id == cid:
                    counts[c.version] = counts.get(c.version, 0) + 1
        if len(counts) > 1:
            spread.append(f"{cid}: " + ", ".join(f"{v} x{n}" for v, n in sorted(counts.items())))
    summary = f"{len(found)}/{len(ctx.nodes)} nodes read"
    summary += "; versions differ: " + "; ".join(spread) if spread else "; every component at one version"
    if failed:
        summary += f"; {len(failed)} unreadable"
    yield Result(summary=summary, ok=not failed, table=Table(columns=["node", *columns, "error"], rows=rows,
                                                             title="firmware inventory"),
                 data={n: {c.id: c.version for c in comps} for n, comps in found.items()} | {"errors": failed})


# ---------------------------------------------------------------- firmware-check

def _existing_file(path: str | None) -> str | None:
    if path is not None and not Path(path).expanduser().is_file():
        raise ValueError(f"baseline file {path} does not exist")
    return path


class FirmwareCheckParams(Params):
    nodes: str = Field(..., description="hostlist of nodes to check")
    baseline: str = Field(..., description="baseline file (TOML/JSON: component -> version, or {version, image})")
    fail_on_drift: bool = Field(False, description="fail (exit 1) when any node is off the baseline, for CI and cron")

    _baseline_exists = field_validator("baseline")(_existing_file)


@action("firmware-check", example="firmware-check gpu[001-016] --baseline {baseline}",
        help="compare firmware to a baseline: compliant / outdated / newer / unknown per node and component",
        params=FirmwareCheckParams, kind=Kind.READ, targets=TargetKind.NODES, positional=("nodes",),
        category="firmware")
async def firmware_check(ctx: ActionContext, p: FirmwareCheckParams) -> AsyncIterator[ActionEvent]:
    base = load_baseline(p.baseline)
    found: dict[str, list[FirmwareComponent]] = {}
    async for ev in _inventories(ctx, ctx.nodes, found, "reading firmware inventory"):
        yield ev
    failed: dict[str, str] = ctx.extras.get("inventory_failed", {})
    rows: list[list[Any]] = []
    data: dict[str, dict[str, str]] = {}
    counts = {"compliant": 0, "outdated": 0, "newer": 0, "unknown": 0}
    for node in ctx.nodes:
        if node in failed:
            rows.append([node, "*", "", "", "unknown", failed[node]])
            data[node] = {"*": "unknown"}
            counts["unknown"] += 1
            continue
        data[node] = {}
        comps = {c.id: c for c in found[node]}
        for cid, comp in comps.items():
            wanted = base.for_component(cid)
            status = compliance(comp.version, wanted)
            note = "" if wanted else "not in the baseline"
            rows.append([node, cid, comp.version, wanted.version if wanted else "", status, note])
            data[node][cid] = status
            counts[status] += 1
        for key, wanted in base.entries.items():
            if not any(cid == key or family(cid) == key for cid in comps):
                rows.append([node, key, "", wanted.version, "unknown", "not in the BMC's inventory"])
                data[node][key] = "unknown"
                counts["unknown"] += 1
    off = sorted(n for n, d in data.items() if any(s in ("outdated", "newer") for s in d.values()))
    summary = (f"{len(ctx.nodes) - len(off) - len(failed)}/{len(ctx.nodes)} nodes match {p.baseline}; "
               + ", ".join(f"{v} {k}" for k, v in counts.items() if v))
    if off:
        summary += f"; off baseline: {', '.join(off[:20])}{' ...' if len(off) > 20 else ''}"
    drifted = bool(off) and p.fail_on_drift
    if drifted:
        summary += " (--fail-on-drift)"
    yield Result(summary=summary, ok=not failed and not drifted, data={"nodes": data, "counts": counts},
                 table=Table(columns=["node", "component", "installed", "baseline", "status", "note"], rows=rows,
                             title=f"firmware vs {p.baseline}"))


# ---------------------------------------------------------------- firmware-update

class FirmwareUpdateParams(MutatingParams):
    nodes: str = Field(..., description="hostlist of nodes to update")
    baseline: str | None = Field(None, description="baseline file with version and image per component")
    image: str | None = Field(None, description="image URL (http/https) to install, with --component")
    component: str | None = Field(None, description="component or family the image is for (BIOS, BMC, GPU, HCA)")
    version: str | None = Field(None, description="version the image installs (default: from the image name)")
    max_parallel: int = Field(4, ge=1, le=256, description="nodes out of service at once")
    max_failures: int = Field(0, ge=0, description="halt the rollout when more nodes than this have failed")
    reset_type: Literal["ForceRestart", "GracefulRestart", "PowerCycle"] = Field(
        "ForceRestart", description="Redfish ResetType used when an update needs a reset")
    drain_timeout: float = Field(3600.0, gt=0, description="seconds to wait for running jobs to finish")
    task_timeout: float = Field(1800.0, gt=0, description="seconds an update task may take")
    boot_timeout: float = Field(900.0, gt=0, description="seconds for a node to come back after the reset")
    reason: str = Field("firmware update", max_length=120, description="drain reason (run id is added)")

    _baseline_exists = field_validator("baseline")(_existing_file)

    @model_validator(mode="after")
    def _one_source(self) -> "FirmwareUpdateParams":
        if bool(self.baseline) == bool(self.image):
            raise ValueError("give either --baseline FILE or --image URL --component C")
        if self.image and not self.component:
            raise ValueError("--image needs --component (BIOS, BMC, GPU, HCA, or an inventory id like GPU3)")
        if self.image and not self.image.startswith(("http://", "https://")):
            raise ValueError("--image must be an http:// or https:// URL the BMC can fetch")
        return self


@dataclass(frozen=True)
class Install:
    image: str
    components: tuple[str, ...]
    version: str | None          # what the inventory must show afterwards (None: "changed")


def version_from_image(url: str) -> str | None:
    """``.../bios-2.4.0.bin`` -> ``2.4.0``: vendors name packages <component>-<version>.<ext>."""
    stem = PurePosixPath(urlparse(url).path).name
    for suffix in (".bin", ".fwpkg", ".img", ".hpm", ".exe", ".tar.gz", ".zip"):
        stem = stem.removesuffix(suffix)
    _, sep, version = stem.partition("-")
    return version if sep and version and any(ch.isdigit() for ch in version) else None


def plan_node(p: FirmwareUpdateParams, base: Baseline | None, inventory: list[FirmwareComponent]) -> list[Install]:
    """What one node needs: one install per image, for the components that are not at the target."""
    by_image: dict[str, list[str]] = {}
    versions: dict[str, str | None] = {}
    for comp in inventory:
        if base is not None:
            wanted = base.for_component(comp.id)
            if wanted is None or compliance(comp.version, wanted) != "outdated":
                continue
            if not wanted.image:
                raise UsageError(f"baseline {base.source}: {wanted.key} {wanted.version} has no image URL to install")
            image, version = wanted.image, wanted.version
        else:
            assert p.image and p.component
            if p.component not in (comp.id, family(comp.id)):
                continue
            image, version = p.image, p.version or version_from_image(p.image)
            if version is not None and compare_versions(comp.version, version) == 0:
                continue
        if comp.updateable:
            by_image.setdefault(image, []).append(comp.id)
            versions[image] = version
    return [Install(img, tuple(ids), versions[img]) for img, ids in by_image.items()]


class Rollout:
    """One node's procedure, journaled step by step so a resumed run continues where it stopped."""

    def __init__(self, ctx: ActionContext, p: FirmwareUpdateParams, base: Baseline | None) -> None:
        self.ctx, self.p, self.base = ctx, p, base
        self.redfish: RedfishPort = ctx.backends.require("redfish")
        self.slurm: SlurmPort = ctx.backends.require("slurm")

    async def save(self, node: str, state: dict[str, Any]) -> None:
        await self.ctx.journal.put(f"node/{node}", state)

    async def run(self, node: str, rep: StepReporter) -> str:
        state: dict[str, Any] = await self.ctx.journal.get(f"node/{node}") or {}
        if state.get("phase") == "done":
            return f"already done in run {state.get('run')}: {state.get('detail', '')}".strip()
        where = "reading the firmware inventory"
        try:
            before = await self.redfish.firmware_inventory(node)
            plan = plan_node(self.p, self.base, before)
            if not plan and not state.get("drained"):
                state.update(phase="done", run=self.ctx.run_id, detail="already at the target versions")
                await self.save(node, state)
                return "already at the target versions; not drained"
            if not state.get("drained"):
                where = "draining"
                found = await slurm_node(self.slurm, node)
                if found.drain_flag and "firmware-update run" not in found.reason:   # someone else's drain
                    state["found_drained"] = found.reason or "drained before the firmware update"
                rep.update("draining and waiting for jobs to finish")
                await drain_and_wait_idle(self.slurm, node, self.ctx.stamp(f"{self.p.reason} (run {self.ctx.run_id})"),
                                          self.p.drain_timeout)
                state.update(phase="drained", drained=True, tasks=state.get("tasks", {}))
                await self.save(node, state)
                rep.step_done("drained")
            reset_needed = bool(state.get("reset_needed"))
            for inst in plan:
                where = f"updating {','.join(inst.components)} from {inst.image}"
                reset_needed |= await self.install(node, inst, state, rep)
            if reset_needed:
                where = f"reset ({self.p.reset_type})"
                rep.update(f"resetting ({self.p.reset_type}) to activate the staged firmware")
                await self.redfish.reset(node, self.p.reset_type)
                await asyncio.sleep(1.0)               # let the BMC start the transition before polling
                await wait_power(self.redfish, node, "On", self.p.boot_timeout)
                state.update(phase="reset", reset_needed=False)
                await self.save(node, state)
                where = "waiting for the node to come back"
                await wait_slurm_responding(self.slurm, node, self.p.boot_timeout)
                rep.step_done(f"reset ({self.p.reset_type}) and back")
            where = "verifying the new versions"
            after = {c.id: c.version for c in await self.redfish.firmware_inventory(node)}
            old = {c.id: c.version for c in before}
            changes = self.verify(plan, old, after, state)
            detail = "; ".join(changes) if changes else "already at the target versions"
            if state.get("found_drained"):
                where = "restoring the drain it had"
                await self.slurm.drain([node], state["found_drained"])
                detail += f"; left drained as found ({state['found_drained']})"
            else:
                where = "resuming"
                await self.slurm.resume([node])
            state.update(phase="done", run=self.ctx.run_id, detail=detail)
            await self.save(node, state)
            return f"updated, verified{'' if state.get('found_drained') else ' and resumed'}: {detail}"
        except DcopsError as exc:
            reason = f"firmware-update run {self.ctx.run_id} failed {where}: {exc}"
            if state.get("drained"):
                await hold_drained(self.slurm, node, self.ctx.stamp(reason))
            state.update(phase="failed", detail=reason)
            await self.save(node, state)
            suffix = "; node left drained" if state.get("drained") else "; node not touched"
            raise StepFailed(f"failed {where}: {exc}{suffix}") from None

    async def install(self, node: str, inst: Install, state: dict[str, Any], rep: StepReporter) -> bool:
        """SimpleUpdate (or re-attach to the task a killed run started) and follow it to its end."""
        tasks: dict[str, str] = state.setdefault("tasks", {})
        uri = tasks.get(inst.image)
        status = None
        if uri:
            try:
                status = await self.redfish.task(node, uri)
            except DcopsError:
                uri = None                              # the BMC forgot it (rebooted): start again
            if status is not None and status.finished and not status.succeeded:
                uri = status = None                     # a retry of a node that failed before
        if not uri:
            uri = await self.redfish.simple_update(node, inst.image, inst.components)
            tasks[inst.image] = uri
            await self.save(node, state)
            rep.step_done(f"update of {','.join(inst.components)} started: task {uri}")
        last = ""

        async def finished() -> Any:
            nonlocal last
            st = await self.redfish.task(node, uri)
            line = f"{','.join(inst.components)}: task {st.state}" + (f" {st.percent}%" if st.percent is not None else "")
            if line != last:
                rep.update(line)
                last = line
            return st if st.finished else None

        status = await until(finished, timeout=self.p.task_timeout, what=f"update task {uri}")
        if not status.succeeded:
            why = next((m for m in reversed(status.messages) if m), "no message")
            raise StepFailed(f"task {uri} ended {status.state}: {why}")
        if status.reset_required:
            state["reset_needed"] = True
            await self.save(node, state)
        rep.step_done(f"{','.join(inst.components)}: task Completed"
                      + (" (reset required to activate)" if status.reset_required else ""))
        return status.reset_required

    @staticmethod
    def verify(plan: list[Install], old: dict[str, str], after: dict[str, str], state: dict[str, Any]) -> list[str]:
        changes, wrong = [], []
        for inst in plan:
            for cid in inst.components:
                now = after.get(cid, "")
                ok = (compare_versions(now, inst.version) == 0) if inst.version else now != old.get(cid)
                (changes if ok else wrong).append(f"{cid} {old.get(cid, '?')} -> {now or '?'}"
                                                  + ("" if ok else f" (expected {inst.version or 'a change'})"))
        if wrong:
            raise StepFailed(f"the inventory does not show the new firmware: {'; '.join(wrong)}")
        return changes


@action("firmware-update", example="firmware-update gpu[061-062] --image http://files.example/bios-2.4.1.bin --component BIOS --max-parallel 2",
        help="rolling firmware update: drain, SimpleUpdate, follow the task, reset, verify, resume",
        params=FirmwareUpdateParams, kind=Kind.WRITE, targets=TargetKind.NODES, positional=("nodes",),
        approval=True, resumable=True, category="firmware")
async def firmware_update(ctx: ActionContext, p: FirmwareUpdateParams) -> AsyncIterator[ActionEvent]:
    base = load_baseline(p.baseline) if p.baseline else None
    ctx.backends.require("redfish")
    ctx.backends.require("slurm")
    if ctx.dry_run:
        async for ev in _plan_only(ctx, p, base):
            yield ev
        return
    if ctx.resumed_from:
        done = [k.removeprefix("node/") for k, v in (await ctx.journal.items()).items()
                if k.startswith("node/") and isinstance(v, dict) and v.get("phase") == "done"]
        yield Log(message=f"{len(done)} node(s) finished in run {ctx.resumed_from} are skipped")
    rollout = Rollout(ctx, p, base)
    fan = ctx.fanout(ctx.nodes, rollout.run, max_parallel=p.max_parallel, max_failures=p.max_failures,
                     label="firmware update")
    async for ev in fan:
        yield ev
    rows = [[n, "ok", d] for n, d in fan.ok.items()] + [[n, "failed", d] for n, d in fan.failed.items()] + \
           [[n, "skipped", d] for n, d in fan.skipped.items()]
    summary = fan.summary("updated")
    if fan.halted:
        summary += f"; rollout halted: failures exceeded --max-failures {p.max_failures}"
    yield Result(summary=summary, ok=fan.all_ok, table=Table(columns=["node", "result", "detail"], rows=rows),
                 data={"updated": sorted(fan.ok), "failed": fan.failed, "skipped": sorted(fan.skipped)})


async def _plan_only(ctx: ActionContext, p: FirmwareUpdateParams, base: Baseline | None) -> AsyncIterator[ActionEvent]:
    found: dict[str, list[FirmwareComponent]] = {}
    async for ev in _inventories(ctx, ctx.nodes, found, "reading firmware inventory"):
        yield ev
    rows = []
    for node in ctx.nodes:
        if node not in found:
            rows.append([node, "", "", ctx.extras.get("inventory_failed", {}).get(node, "unreadable")])
            continue
        plan = plan_node(p, base, found[node])
        rows += [[node, ",".join(i.components), i.version or "?", i.image] for i in plan] or [[node, "", "", "nothing to do"]]
    todo = sorted({r[0] for r in rows if r[1]})
    yield Result(summary=f"would update {len(todo)} of {len(ctx.nodes)} node(s), {p.max_parallel} at a time",
                 table=Table(columns=["node", "components", "to version", "image"], rows=rows), data={"nodes": todo})

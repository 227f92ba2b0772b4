"""Firmware actions over Redfish: ``firmware`` (inventory), ``firmware-check`` (against a baseline)
and ``firmware-update`` (a rolling, resumable update).

A rolling update takes each node through: inventory and plan -> the BMC's update path read from
its UpdateService (before anything is drained) -> drain (through Slurm and/or Kubernetes, whichever
the cluster has: :mod:`._drain_through`; with neither, only with ``--no-drain``) and wait idle -> one push per image
(SimpleUpdate, or MultipartHttpPushUri with Targets for bundles) -> task followed per DSP0266 until
it ends or waits for a reset -> the activation the firmware asks for, done with the reset types the
system offers (an AC power cycle is ForceOff, Off, On where PowerCycle is not offered) -> inventory
read again to verify each component against its own version -> resume. At most ``--max-parallel`` nodes are out at once and
no new node starts once failures exceed ``--max-failures``. Each node's progress is journaled, so
``dcops resume RUN_ID`` skips finished nodes, re-attaches to update tasks that were running, and
finishes the rest. A node that fails stays drained with a reason naming the step that failed.
Redfish update semantics and the HGX bundle/AC-cycle facts: docs/redfish.md.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Literal
from urllib.parse import urlparse

from pydantic import Field, computed_field, field_validator, model_validator

from ..backends.models import FirmwareComponent
from ..backends.ports import RedfishPort
from ..context import ActionContext
from ..errors import DcopsError, UsageError
from ..events import ActionEvent, Log, Result
from ..fanout import StepReporter
from ..hostlists import collapse as collapse_hosts
from ..registry import Kind, MutatingParams, Params, TargetKind, action
from ..result_models import NodeOutcomeRow
from ..result_rows import Row, hidden
from ..validation import SlurmReason
from . import _silences
from ._baseline import (
    Baseline,
    Compliance,
    Wanted,
    compare_versions,
    compliance,
    family,
    incomparable_reason,
    load_baseline,
)
from ._drain_through import DrainThrough, check_drain_possible, no_drain_risks, plan_text
from ._firmware_view import collapse, component_dicts, drift, inventory_rows
from ._node_steps import StepFailed, until, wait_power

INVENTORY_PARALLEL = 64  # the adapter bounds requests per BMC and across the fleet itself


async def _inventories(
    ctx: ActionContext, nodes: Sequence[str], results: dict[str, list[FirmwareComponent]], label: str
) -> AsyncIterator[ActionEvent]:
    redfish: RedfishPort = ctx.backends.get(RedfishPort)

    async def read(node: str, rep: StepReporter) -> str:
        results[node] = await redfish.firmware_inventory(node)
        return f"{len(results[node])} components"

    fan = ctx.fanout(nodes, read, max_parallel=INVENTORY_PARALLEL, label=label)
    async for ev in fan:
        if ev.kind == "step" and ev.status == "ok":
            continue  # one line per node is noise for a read
        yield ev
    for warning in redfish.take_warnings():
        yield Log(level="warning", message=warning)
    ctx.extras.setdefault("inventory_failed", {}).update(fan.failed)


# ---------------------------------------------------------------- firmware (inventory)


class FirmwareParams(Params):
    nodes: str = Field(..., description="hostlist of nodes whose BMCs to read")


class FirmwareRow(Row):
    """One inventory line shared by the nodes that agree on it: a component family (or the member
    that differs from its siblings), how many members, their version, a note."""

    TABLE = ("node", "component", "count", "version", "note")

    nodes: list[str] = hidden([], description="the nodes this line holds for")
    component: str = Field(description="member ids as a hostlist expression (GPU_SXM_[1-8]); * for an unreadable node")
    count: int | None = Field(default=None, description="members on the line (None for an unreadable node)")
    version: str
    note: str

    @computed_field  # type: ignore[prop-decorator]
    @property
    def node(self) -> str:
        return collapse_hosts(self.nodes)


class FirmwareCheckRow(Row):
    """One compared line, shared by the nodes that agree on it: installed vs baseline, and the status."""

    TABLE = ("node", "component", "installed", "baseline", "status", "note")

    nodes: list[str] = hidden([], description="the nodes this line holds for")
    component: str = Field(description="member ids or the baseline's key; * for a node not compared")
    installed: str
    baseline: str
    status: str = Field(description="compliant, outdated, newer, unknown or ignored")
    note: str

    @computed_field  # type: ignore[prop-decorator]
    @property
    def node(self) -> str:
        return collapse_hosts(self.nodes)


@action(
    "firmware",
    example="firmware gpu[001-016]",
    help="firmware inventory per component across nodes (Redfish)",
    params=FirmwareParams,
    kind=Kind.READ,
    targets=TargetKind.NODES,
    positional=("nodes",),
    category="firmware",
    rows=FirmwareRow,
)
async def firmware(ctx: ActionContext, p: FirmwareParams) -> AsyncIterator[ActionEvent]:
    found: dict[str, list[FirmwareComponent]] = {}
    async for ev in _inventories(ctx, ctx.nodes, found, "reading firmware inventory"):
        yield ev
    failed: dict[str, str] = ctx.extras.get("inventory_failed", {})
    rows: list[FirmwareRow] = []
    inside: dict[str, list[str]] = {}
    same: dict[tuple[tuple[Any, ...], ...], list[str]] = {}  # nodes whose rows are identical share them
    for node in ctx.nodes:
        if node in failed:
            rows.append(FirmwareRow(nodes=[node], component="*", version="", note=failed[node]))
            continue
        same.setdefault(tuple(tuple(r[1:]) for r in inventory_rows(node, found[node])), []).append(node)
        if findings := drift(found[node]):
            inside[node] = findings
    for shape, nodes in same.items():
        rows += [FirmwareRow(nodes=nodes, component=c, count=n, version=v, note=note) for c, n, v, note in shape]
    spread: list[str] = []  # one component, different versions across nodes
    keys: list[str] = []
    for comps in found.values():
        keys += [c.key for c in comps if c.active and c.key not in keys]
    for key in keys:
        counts = Counter(c.version for comps in found.values() for c in comps if c.active and c.key == key)
        if len(counts) > 1:
            spread.append(f"{key}: " + ", ".join(f"{v} x{n}" for v, n in sorted(counts.items())))
    summary = f"{len(found)}/{len(ctx.nodes)} nodes read"
    if inside:
        first = next(iter(inside.items()))
        summary += f"; siblings differ inside {len(inside)} node(s) (e.g. {first[0]}: {first[1][0]})"
    summary += (
        "; versions differ across nodes: " + "; ".join(spread[:8]) + (" ..." if len(spread) > 8 else "")
        if spread
        else "; every component at one version across nodes"
    )
    if failed:
        summary += f"; {len(failed)} unreadable"
    data: dict[str, Any] = {n: {c.key: c.version for c in comps if c.active} for n, comps in found.items()}
    data |= {"errors": failed, "drift": inside, "components": {n: component_dicts(c) for n, c in found.items()}}
    yield Result(
        summary=summary,
        ok=not failed,
        rows=rows,
        row_model=FirmwareRow,
        title="firmware inventory (families that agree are one row, nodes that agree share rows)",
        data=data,
    )


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


@action(
    "firmware-check",
    example="firmware-check gpu[001-016] --baseline {baseline}",
    help="compare firmware to a baseline: compliant / outdated / newer / unknown per node and component",
    params=FirmwareCheckParams,
    kind=Kind.READ,
    targets=TargetKind.NODES,
    positional=("nodes",),
    category="firmware",
    rows=FirmwareCheckRow,
)
async def firmware_check(ctx: ActionContext, p: FirmwareCheckParams) -> AsyncIterator[ActionEvent]:
    """A node matches only when every running component was compared and is at its baseline version;
    a component the baseline neither covers nor ignores is "unknown" and counts against the node, as
    does a baseline entry the node does not have, and an unreadable node is "not compared"."""
    base = load_baseline(p.baseline)
    found: dict[str, list[FirmwareComponent]] = {}
    async for ev in _inventories(ctx, ctx.nodes, found, "reading firmware inventory"):
        yield ev
    failed: dict[str, str] = ctx.extras.get("inventory_failed", {})
    other = await _other_platform(ctx, base, [n for n in ctx.nodes if n not in failed])
    rows: list[FirmwareCheckRow] = []
    data: dict[str, dict[str, str]] = {}
    counts = {"compliant": 0, "outdated": 0, "newer": 0, "unknown": 0, "ignored": 0}
    verdict: dict[str, str] = {}
    same: dict[tuple[tuple[Any, ...], ...], list[str]] = {}  # nodes whose rows are identical share them
    for node in ctx.nodes:
        if node in failed or node in other:
            why = f"not compared: {failed[node]}" if node in failed else f"not compared: {other[node]}"
            rows.append(
                FirmwareCheckRow(nodes=[node], component="*", installed="", baseline="", status="unknown", note=why)
            )
            data[node] = {"*": "unknown"}
            verdict[node] = "not compared"
            continue
        data[node] = {}
        groups: dict[tuple[str, str, str, str, str], list[str]] = {}
        active = [c for c in found[node] if c.active]
        for comp in active:
            status, wanted, note = check_component(base, comp)
            data[node][comp.key] = status
            counts[status] += 1
            groups.setdefault((family(comp.key), comp.version, wanted, status, note), []).append(comp.key)
        mine = [
            [collapse(keys), version, wanted, status, note]
            for (_, version, wanted, status, note), keys in groups.items()
        ]
        for key, want in base.entries.items():
            if not any(base.matches(key, c.key) for c in active):
                mine.append([key, "", want.version, "unknown", "not in the BMC's inventory"])
                data[node][key] = "unknown"
                counts["unknown"] += 1
        same.setdefault(tuple(tuple(r) for r in mine), []).append(node)
        verdict[node] = "match" if all(s in ("compliant", "ignored") for s in data[node].values()) else "off baseline"
    for shape, nodes in same.items():
        rows += [
            FirmwareCheckRow(nodes=nodes, component=c, installed=i, baseline=b, status=st, note=note)
            for c, i, b, st, note in shape
        ]
    match = sorted(n for n, v in verdict.items() if v == "match")
    off = sorted(n for n, v in verdict.items() if v == "off baseline")
    summary = f"{len(match)}/{len(ctx.nodes)} nodes match {p.baseline}; " + ", ".join(
        f"{v} {k}" for k, v in counts.items() if v
    )
    if off:
        summary += f"; off baseline: {', '.join(off[:20])}{' ...' if len(off) > 20 else ''}"
    if failed:
        summary += f"; not compared (unreadable): {', '.join(sorted(failed)[:20])}"
    if other:
        summary += f"; not compared (another platform): {', '.join(sorted(other)[:20])}"
    drifted = bool(off) and p.fail_on_drift
    if drifted:
        summary += " (--fail-on-drift)"
    yield Result(
        summary=summary,
        ok=not failed and not drifted,
        data={"nodes": data, "counts": counts, "verdict": verdict},
        rows=rows,
        row_model=FirmwareCheckRow,
        title=f"firmware vs {p.baseline}",
    )


async def _other_platform(ctx: ActionContext, base: Baseline | None, nodes: Sequence[str]) -> dict[str, str]:
    """node -> why the baseline's ``platform`` does not fit it (its system Model), for the nodes it does not fit."""
    if base is None or base.platform is None or not nodes:
        return {}
    redfish: RedfishPort = ctx.backends.get(RedfishPort)

    async def model(node: str) -> str | None:
        try:
            return base.platform_mismatch((await redfish.system(node)).model)
        except DcopsError as exc:
            return f"cannot read the system Model to check the baseline's platform: {exc}"

    reasons = await asyncio.gather(*(model(n) for n in nodes))
    return {n: r for n, r in zip(nodes, reasons) if r}


def check_component(base: Baseline, comp: FirmwareComponent) -> tuple[Compliance, str, str]:
    """(status, baseline version, note) for one running component."""
    if base.ignores(comp.key):
        return "ignored", "", "ignored by the baseline"
    wanted = base.for_component(comp.key)
    if wanted is None:
        return "unknown", "", "not in the baseline"
    status = compliance(comp.version, wanted)
    note = ""
    if status == "unknown" and comp.version:
        note = incomparable_reason(comp.version, wanted.version)
    elif status == "outdated" and not comp.updateable:
        note = "outdated, and the BMC marks it not Updateable"
    elif wanted.key != comp.key:
        note = f"by {wanted.key}"
    return status, wanted.version, note


# ---------------------------------------------------------------- firmware-update


class FirmwareUpdateParams(MutatingParams):
    nodes: str = Field(..., description="hostlist of nodes to update")
    baseline: str | None = Field(None, description="baseline file with version and image per component")
    image: str | None = Field(None, description="image URL (http/https) to install, with --component")
    component: str | None = Field(
        None, description="component, family or glob the image is for (BIOS, GPU, HGX_FW_GPU_SXM_*, BIOS.Setup.1-1)"
    )
    version: str | None = Field(None, description="version the image installs (default: from the image name)")
    max_parallel: int = Field(4, ge=1, le=256, description="nodes out of service at once")
    max_failures: int = Field(0, ge=0, description="halt the rollout when more nodes than this have failed")
    reset_type: Literal["ForceRestart", "GracefulRestart", "PowerCycle"] | None = Field(
        None,
        description="Redfish ResetType when an update needs a reset (default: the one the BMC asks for, "
        "else ForceRestart; PowerCycle = AC power cycle)",
    )
    drain_timeout: float = Field(3600.0, gt=0, description="seconds to wait for running jobs to finish")
    task_timeout: float = Field(1800.0, gt=0, description="seconds an update task may take")
    boot_timeout: float = Field(900.0, gt=0, description="seconds for a node to come back after the reset")
    reason: SlurmReason = Field("firmware update", max_length=120, description="drain reason (run id is added)")
    silence: bool = Field(False, description="silence the nodes' alerts in Alertmanager during the update")
    silence_hours: float | None = Field(None, gt=0, le=24 * 14, description="maintenance window of --silence")
    no_drain: bool = Field(
        False,
        description="update without draining first (needed when the cluster has no "
        "scheduler; a risk the policy must allow)",
    )

    _baseline_exists = field_validator("baseline")(_existing_file)

    @model_validator(mode="after")
    def _one_source(self) -> FirmwareUpdateParams:
        if bool(self.baseline) == bool(self.image):
            raise ValueError("give either --baseline FILE or --image URL --component C")
        if self.image and not self.component:
            raise ValueError("--image needs --component (BIOS, BMC, GPU, HCA, or an inventory id like GPU3)")
        if self.image and not self.image.startswith(("http://", "https://")):
            raise ValueError("--image must be an http:// or https:// URL the BMC can fetch")
        return self


@dataclass(frozen=True)
class Install:
    """One image pushed once to one node, for every component it must change there.

    ``components`` are identities (what verify looks up after the update), ``targets`` the BMC's
    member ids (what the update's Targets name), ``versions`` what each component must show after
    (None: "a change"); a bundle carries a different version per component."""

    image: str
    components: tuple[str, ...]
    version: str | None  # the single version when all components share one, else None
    targets: tuple[str, ...] = ()
    versions: tuple[tuple[str, str | None], ...] = ()

    def wanted(self, key: str) -> str | None:
        return dict(self.versions).get(key, self.version)


def version_from_image(url: str) -> str | None:
    """``.../bios-2.4.0.bin`` -> ``2.4.0``: vendors name packages <component>-<version>.<ext>.

    None for a ``.fwpkg`` bundle: its name is a release, not the version of any one component."""
    stem = PurePosixPath(urlparse(url).path).name
    if stem.lower().endswith(".fwpkg"):
        return None
    for suffix in (".bin", ".fwpkg", ".img", ".hpm", ".exe", ".tar.gz", ".zip"):
        stem = stem.removesuffix(suffix)
    _, sep, version = stem.partition("-")
    return version if sep and version and any(ch.isdigit() for ch in version) else None


def plan_node(
    p: FirmwareUpdateParams, base: Baseline | None, inventory: list[FirmwareComponent], notes: list[str] | None = None
) -> list[Install]:
    """What one node needs: one install per image, for the components that are not at the target.

    ``notes`` collects what is outdated but will not be planned, and why: not Updateable, or a
    version of another platform's scheme (a bundle for one platform is never planned onto another)."""
    notes = notes if notes is not None else []
    by_image: dict[str, list[FirmwareComponent]] = {}
    versions: dict[str, dict[str, str | None]] = {}
    for comp in inventory:
        if not comp.active:
            continue
        version: str | None
        if base is not None:
            if base.ignores(comp.key):
                continue
            wanted = base.for_component(comp.key)
            if wanted is None:
                continue
            status = compliance(comp.version, wanted)
            if status == "unknown" and comp.version:
                notes.append(f"{comp.key}: {incomparable_reason(comp.version, wanted.version)}; not planned")
                continue
            if status != "outdated":
                continue
            if not comp.updateable:
                notes.append(
                    f"{comp.key} {comp.version} is outdated (wants {wanted.version}) but the BMC "
                    f"marks it not Updateable"
                )
                continue
            if not wanted.image:
                raise UsageError(f"baseline {base.source}: {wanted.key} {wanted.version} has no image URL to install")
            image, version = wanted.image, wanted.version
        else:
            assert p.image and p.component
            if not _names(p.component, comp):
                continue
            image, version = p.image, p.version or version_from_image(p.image)
            if version is not None:
                order = compare_versions(comp.version, version)
                if order == 0:
                    continue
                if order is None and comp.version:
                    notes.append(f"{comp.key}: {incomparable_reason(comp.version, version)}; not planned")
                    continue
        if not comp.updateable:
            notes.append(
                f"{comp.key} {comp.version} is outdated (wants {version or 'a change'}) but the BMC "
                f"marks it not Updateable"
            )
            continue
        by_image.setdefault(image, []).append(comp)
        versions.setdefault(image, {})[comp.key] = version
    plan = []
    for img, comps in by_image.items():
        vs = versions[img]
        single = set(vs.values())
        plan.append(
            Install(
                img,
                tuple(c.key for c in comps),
                single.pop() if len(single) == 1 else None,
                targets=tuple(c.id for c in comps),
                versions=tuple(vs.items()),
            )
        )
    return plan


def _names(selector: str, comp: FirmwareComponent) -> bool:
    """--component: an identity, a family (GPU, HGX_FW_GPU_SXM) or a glob (HGX_FW_*)."""
    return Baseline({selector: Wanted(selector, "")}).matches(selector, comp.key)


class Rollout:
    """One node's procedure, journaled step by step so a resumed run continues where it stopped."""

    def __init__(self, ctx: ActionContext, p: FirmwareUpdateParams, base: Baseline | None) -> None:
        self.ctx, self.p, self.base = ctx, p, base
        self.redfish: RedfishPort = ctx.backends.get(RedfishPort)
        self.drain = DrainThrough(ctx, no_drain=p.no_drain)  # Slurm and/or Kubernetes, or none

    async def save(self, node: str, state: dict[str, Any]) -> None:
        await self.ctx.journal.put(f"node/{node}", state)

    async def run(self, node: str, rep: StepReporter) -> str:
        state: dict[str, Any] = await self.ctx.journal.get(f"node/{node}") or {}
        if state.get("phase") == "done":
            return f"already done in run {state.get('run')}: {state.get('detail', '')}".strip()
        where = "reading the firmware inventory"
        held = False
        try:
            if self.base is not None and self.base.platform is not None and not state.get("drained"):
                where = "checking the baseline's platform"
                mismatch = self.base.platform_mismatch((await self.redfish.system(node)).model)
                if mismatch:
                    raise StepFailed(mismatch)
                where = "reading the firmware inventory"
            before = await self.redfish.firmware_inventory(node)
            notes: list[str] = []
            plan = plan_node(self.p, self.base, before, notes)
            stuck = ("; " + "; ".join(notes)) if notes else ""
            if not plan and not state.get("drained"):
                detail = ("nothing the BMC can update" if notes else "already at the target versions") + stuck
                state.update(phase="done", run=self.ctx.run_id, detail=detail)
                await self.save(node, state)
                return f"{detail}; not drained"
            where = "reading the BMC's update service"  # before draining: a BMC that cannot take it fails here
            path = await self.redfish.update_path(node)
            if path.method is None:
                raise StepFailed("the BMC's UpdateService offers neither SimpleUpdate nor MultipartHttpPushUri")
            if not state.get("drained"):
                where = "draining"
                await self.drain.note_found(node, state)  # someone else's drain or cordon stays
                rep.update(
                    "draining and waiting for jobs to finish" if self.drain.active else "not draining (--no-drain)"
                )
                held = self.drain.active  # from here a failure leaves the node held out
                await self.drain.drain(node, self.ctx.stamp(f"{self.p.reason} (run {self.ctx.run_id})"))
                await self.drain.wait_idle(node, self.p.drain_timeout)
                state.update(phase="drained", drained=self.drain.active, tasks=state.get("tasks", {}))
                await self.save(node, state)
                rep.step_done(self.drain.drained_text)
            reset = state.get("reset_needed") or None
            for inst in plan:
                where = f"updating {collapse(list(inst.components))} from {inst.image}"
                reset = await self.install(node, inst, state, rep) or reset
            if reset:
                where = f"activating the new firmware ({reset})"
                used = await self.activate(node, str(reset), rep)
                state.update(phase="reset", reset_needed=None)
                await self.save(node, state)
                where = "waiting for the node to come back"
                await self.drain.wait_back(node, self.p.boot_timeout)
                rep.step_done(f"{used} and back")
                for inst in plan:  # tasks that waited for the reset finish now
                    where = f"finishing the update of {collapse(list(inst.components))}"
                    await self.finish_after_reset(node, inst, state, rep)
            where = "verifying the new versions"
            after = {c.key: c.version for c in await self.redfish.firmware_inventory(node) if c.active}
            old = {c.key: c.version for c in before if c.active}
            changes = self.verify(plan, old, after, state)
            detail = ("; ".join(changes) if changes else "already at the target versions") + stuck
            where = "returning the node to service"
            note = await self.drain.release(node, state)  # resumed, or left as it was found
            detail += f"; {note}" if note else ""
            state.update(phase="done", run=self.ctx.run_id, detail=detail)
            await self.save(node, state)
            return f"updated, verified{self.drain.returned_text(state)}: {detail}"
        except DcopsError as exc:
            reason = f"firmware-update run {self.ctx.run_id} failed {where}: {exc}"
            held = held or bool(state.get("drained"))
            if held:
                await self.drain.hold(node, self.ctx.stamp(reason))
            state.update(phase="failed", detail=reason)
            await self.save(node, state)
            suffix = "; node left drained" if held else "; node not touched"
            raise StepFailed(f"failed {where}: {exc}{suffix}") from None

    async def install(self, node: str, inst: Install, state: dict[str, Any], rep: StepReporter) -> str | None:
        """Start the update (or re-attach to the task a killed run started) and follow it until it ends
        or waits for a reset; returns the reset the firmware needs to become active, if any."""
        tasks: dict[str, str] = state.setdefault("tasks", {})
        uri = tasks.get(inst.image)
        status = None
        if uri:
            try:
                status = await self.redfish.task(node, uri)
            except DcopsError:
                uri = None  # the BMC forgot it (rebooted): start again
            if status is not None and status.finished and not status.succeeded:
                uri = status = None  # a retry of a node that failed before
        names = collapse(list(inst.components))
        if not uri:
            uri = await self.redfish.start_update(node, inst.image, inst.targets)
            tasks[inst.image] = uri
            await self.save(node, state)
            rep.step_done(f"update of {names} started: task {uri}")
        status = await self.follow(node, uri, names, rep)
        if status.finished and not status.succeeded:
            why = next((m for m in reversed(status.messages) if m), "no message")
            raise StepFailed(
                f"task {uri} ended {status.state}"
                + (f" ({status.health})" if status.state == "Completed" else "")
                + f": {why}"
            )
        if status.reset_required:
            need = self.p.reset_type or status.reset_type or "ForceRestart"
            state["reset_needed"] = need
            await self.save(node, state)
            rep.step_done(f"{names}: task {status.state}, waiting for {need} to activate")
            return need
        rep.step_done(f"{names}: task Completed")
        return None

    async def follow(self, node: str, uri: str, names: str, rep: StepReporter) -> Any:
        """Poll a task until it ends or waits for a reset (then the reset is ours to do, not to wait for)."""
        last = ""

        async def settled() -> Any:
            nonlocal last
            st = await self.redfish.task(node, uri)
            line = f"{names}: task {st.state}" + (f" {st.percent}%" if st.percent is not None else "")
            if line != last:
                rep.update(line)
                last = line
            return st if st.finished or st.awaiting_reset else None

        return await until(settled, timeout=self.p.task_timeout, what=f"update task {uri}")

    async def finish_after_reset(self, node: str, inst: Install, state: dict[str, Any], rep: StepReporter) -> None:
        uri = (state.get("tasks") or {}).get(inst.image)
        if not uri:
            return
        try:
            status = await self.redfish.task(node, uri)
        except DcopsError:
            return  # the BMC dropped it with the reset: verify decides
        if status.finished and status.succeeded:
            return
        status = await self.follow(node, uri, collapse(list(inst.components)), rep)
        if status.finished and not status.succeeded:
            why = next((m for m in reversed(status.messages) if m), "no message")
            raise StepFailed(f"task {uri} ended {status.state} after the reset: {why}")
        if not status.finished:
            raise StepFailed(f"task {uri} still waits for a reset after {inst.image} was activated")

    async def activate(self, node: str, wanted: str, rep: StepReporter) -> str:
        """The reset the firmware asked for, done the way this system can: its own ResetType when it
        offers it; an AC power cycle (PowerCycle) as ForceOff, Off, On where PowerCycle is not offered
        (a DGX offers ForceOff, ForceRestart, GracefulShutdown, On); a restart as the restart it offers."""
        allowed = await self.redfish.reset_types(node)
        if not allowed or wanted in allowed:
            steps = [wanted]
        elif wanted == "PowerCycle" and "ForceOff" in allowed and ({"On", "ForceOn"} & set(allowed)):
            steps = ["ForceOff", "On" if "On" in allowed else "ForceOn"]
        else:
            pick = next((t for t in ("ForceRestart", "GracefulRestart", "PowerCycle") if t in allowed), None)
            if pick is None and "ForceOff" in allowed and "On" in allowed:
                steps = ["ForceOff", "On"]
            elif pick is None:
                raise StepFailed(f"the firmware needs {wanted} and the system offers only {', '.join(allowed)}")
            else:
                steps = [pick]
        label = " then ".join(steps)
        rep.update(f"activating the staged firmware: {label}")
        for step in steps:
            await self.redfish.reset(node, step)
            await asyncio.sleep(1.0)  # let the BMC start the transition before polling
            await wait_power(
                self.redfish, node, "Off" if step in ("ForceOff", "GracefulShutdown") else "On", self.p.boot_timeout
            )
        return label

    @staticmethod
    def verify(plan: list[Install], old: dict[str, str], after: dict[str, str], state: dict[str, Any]) -> list[str]:
        """Every planned component at ITS target version (a bundle sets GPU, ERoT and BMC to different ones)."""
        good: dict[str, list[str]] = {}
        bad: dict[str, list[str]] = {}
        for inst in plan:
            for key in inst.components:
                want = inst.wanted(key)
                now = after.get(key, "")
                ok = (compare_versions(now, want) == 0) if want else bool(now) and now != old.get(key)
                line = f"{old.get(key, '?')} -> {now or '?'}" + ("" if ok else f" (expected {want or 'a change'})")
                (good if ok else bad).setdefault(line, []).append(key)
        changes = [f"{collapse(keys)} {line}" for line, keys in good.items()]
        wrong = [f"{collapse(keys)} {line}" for line, keys in bad.items()]
        if wrong:
            raise StepFailed(f"the inventory does not show the new firmware: {'; '.join(wrong)}")
        return changes


class FirmwarePlanRow(Row):
    """What a firmware-update dry run would do on a node: components, target version, image, and
    how (the update path), or a note saying why nothing is planned."""

    TABLE = ("node", "components_shown", "to_version", "image", "note")

    node: str
    components: list[str] = hidden([], description="the inventory members to update")
    to_version: str = ""
    image: str = ""
    note: str = ""

    @computed_field(title="components")  # type: ignore[prop-decorator]
    @property
    def components_shown(self) -> str:
        return collapse(self.components) if self.components else ""


@action(
    "firmware-update",
    example="firmware-update gpu[061-062] --image http://files.example/bios-2.4.1.bin --component BIOS --max-parallel 2",
    help="rolling firmware update: drain, push the image (SimpleUpdate or multipart), follow the task, "
    "activate, verify, resume",
    params=FirmwareUpdateParams,
    kind=Kind.WRITE,
    targets=TargetKind.NODES,
    positional=("nodes",),
    approval=True,
    resumable=True,
    category="firmware",
    risks=no_drain_risks,
    check=check_drain_possible,
    rows=(NodeOutcomeRow, FirmwarePlanRow),
)
async def firmware_update(ctx: ActionContext, p: FirmwareUpdateParams) -> AsyncIterator[ActionEvent]:
    base = load_baseline(p.baseline) if p.baseline else None
    if ctx.dry_run and not ctx.backends.has(RedfishPort):  # a dry run never fails for a missing backend
        yield Result(
            summary=f"would update {len(ctx.nodes)} node(s), but there is no [redfish] section: the "
            f"firmware inventories cannot be read, so a real run would fail; nodes would be "
            f"{plan_text(ctx.backends, p.no_drain)}",
            data={"nodes": [], "drain": plan_text(ctx.backends, p.no_drain)},
        )
        return
    ctx.backends.get(RedfishPort)
    if ctx.dry_run:
        async for ev in _plan_only(ctx, p, base):
            yield ev
        return
    if ctx.resumed_from:
        done = [
            k.removeprefix("node/")
            for k, v in (await ctx.journal.items()).items()
            if k.startswith("node/") and isinstance(v, dict) and v.get("phase") == "done"
        ]
        yield Log(message=f"{len(done)} node(s) finished in run {ctx.resumed_from} are skipped")
    if p.silence:
        async for ev in _silences.silence_nodes(ctx, ctx.nodes, p.reason, p.silence_hours):
            yield ev
    rollout = Rollout(ctx, p, base)
    fan = ctx.fanout(
        ctx.nodes, rollout.run, max_parallel=p.max_parallel, max_failures=p.max_failures, label="firmware update"
    )
    async for ev in fan:
        yield ev
    if p.silence:  # updated nodes are back: their maintenance is over
        async for ev in _silences.expire_for_nodes(ctx, sorted(fan.ok)):
            yield ev
    summary = fan.summary("updated")
    if fan.halted:
        summary += f"; rollout halted: failures exceeded --max-failures {p.max_failures}"
    yield Result(
        summary=summary,
        ok=fan.all_ok,
        rows=NodeOutcomeRow.of_fanout(fan.ok, fan.failed, fan.skipped),
        row_model=NodeOutcomeRow,
        data={"updated": sorted(fan.ok), "failed": fan.failed, "skipped": sorted(fan.skipped)},
    )


async def _plan_only(ctx: ActionContext, p: FirmwareUpdateParams, base: Baseline | None) -> AsyncIterator[ActionEvent]:
    """The plan per node: which components, to which versions, from which image, by which update path;
    and what is outdated but will not be planned (not Updateable, another platform's versions)."""
    found: dict[str, list[FirmwareComponent]] = {}
    async for ev in _inventories(ctx, ctx.nodes, found, "reading firmware inventory"):
        yield ev
    redfish: RedfishPort = ctx.backends.get(RedfishPort)
    other = await _other_platform(ctx, base, [n for n in ctx.nodes if n in found])
    rows: list[FirmwarePlanRow] = []
    todo: list[str] = []
    for node in ctx.nodes:
        if node not in found or node in other:
            rows.append(
                FirmwarePlanRow(
                    node=node, note=other.get(node) or ctx.extras.get("inventory_failed", {}).get(node, "unreadable")
                )
            )
            continue
        notes: list[str] = []
        plan = plan_node(p, base, found[node], notes)
        how = ""
        if plan:
            try:
                path = await redfish.update_path(node)
                hows = {
                    "multipart": f"MultipartHttpPushUri {path.multipart}",
                    "simple": f"SimpleUpdate {path.simple_update}",
                }
                how = "; ".join(
                    dict.fromkeys(hows.get(path.method_for(i.image) or "", "no update path: would fail") for i in plan)
                )
            except DcopsError as exc:
                how = f"update path unreadable: {exc}"
            todo.append(node)
        for inst in plan:
            to = inst.version or ", ".join(
                f"{collapse([k for k, v in inst.versions if v == ver])} {ver}"
                for ver in dict.fromkeys(v for _, v in inst.versions)
            )
            rows.append(
                FirmwarePlanRow(node=node, components=list(inst.components), to_version=to, image=inst.image, note=how)
            )
        rows += [FirmwarePlanRow(node=node, note=note) for note in notes]
        if not plan and not notes:
            rows.append(FirmwarePlanRow(node=node, note="nothing to do"))
    yield Result(
        summary=f"would update {len(todo)} of {len(ctx.nodes)} node(s), {p.max_parallel} at a time; "
        f"nodes {plan_text(ctx.backends, p.no_drain)}",
        rows=rows,
        row_model=FirmwarePlanRow,
        data={"nodes": todo},
    )

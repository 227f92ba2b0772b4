"""``reimage NODES``: reinstall nodes and prove they came back on the new image.

Per node, each step an audited step event: drain -> wait idle -> arm the install -> boot it ->
wait for the new image id -> verify (image id, back in the schedulers) -> resume. Arming, booting
and reading the image id are the provisioning provider's (``[provisioning] provider``,
:mod:`dcops.actions.backends.provisioning`); the default ``redfish-pxe`` arms a one-time PXE boot
override, power cycles through the BMC and reads the id the installer writes to
``/etc/dcops-image`` over SSH, so its steps read "PXE override", "power cycle", "wait for SSH".
Draining goes through whichever schedulers the cluster has (Slurm, Kubernetes, both:
:mod:`._drain_through`); with none, a real run needs ``--no-drain``. Every wait has a timeout; a node
that fails stays drained with a reason saying at which step it stopped.

Resumable: each node's progress is journaled (``node/NAME``: phase, the image it had, the run that
finished it), so ``dcops resume RUN_ID`` after a killed console skips finished nodes and picks a
node up where it stopped. The one step that must not be repeated blindly is the power cycle: its
phase is journaled *before* the reset is sent, and a resumed run asks the provider whether the
install boot already happened (redfish-pxe: is the one-time PXE override still pending, or was it
consumed?) before booting again; if it did, the run only waits for the new image.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from pydantic import Field

from ..backends.ports import ProvisioningPort
from ..backends.provisioning import missing_sections, provisioner
from ..context import ActionContext
from ..errors import DcopsError
from ..events import ActionEvent, Log, Result
from ..fanout import StepReporter
from ..registry import Kind, MutatingParams, TargetKind, action
from ..result_models import NodeOutcomeRow
from ..validation import SlurmReason
from . import _silences
from ._drain_through import DrainThrough, check_drain_possible, no_drain_risks, plan_text
from ._node_steps import StepFailed, until


def steps(prov: ProvisioningPort | None) -> tuple[str, ...]:
    """The steps users see, named by the provider (redfish-pxe's without one: a dry run's plan)."""
    arm, boot, wait = (
        (prov.arm_step, prov.boot_step, prov.wait_step) if prov else ("PXE override", "power cycle", "wait for SSH")
    )
    return ("drain", "wait idle", arm, boot, wait, "verify", "resume")


class ReimageParams(MutatingParams):
    nodes: str = Field(..., description="hostlist of nodes to reinstall")
    image: str | None = Field(None, description="image id the nodes must report afterwards (default: any new one)")
    reason: SlurmReason = Field("reimage", max_length=120, description="drain reason (run id is added)")
    silence: bool = Field(False, description="silence the nodes' alerts in Alertmanager during the reimage")
    silence_hours: float | None = Field(None, gt=0, le=24 * 14, description="maintenance window of --silence")
    max_parallel: int = Field(4, ge=1, le=256, description="nodes reinstalled at once")
    drain_timeout: float = Field(3600.0, gt=0, description="seconds to wait for running jobs to finish")
    install_timeout: float = Field(1800.0, gt=0, description="seconds for the reinstall until SSH answers")
    ssh_timeout: float = Field(
        10.0,
        gt=0,
        description="seconds per SSH probe (the redfish-pxe provider; [provisioning.options] ssh_timeout overrides it)",
    )
    no_drain: bool = Field(
        False,
        description="reinstall without draining first (needed when the cluster has no "
        "scheduler; a risk the policy must allow)",
    )


class Reimage:
    def __init__(self, ctx: ActionContext, p: ReimageParams, prov: ProvisioningPort) -> None:
        self.ctx, self.p, self.prov = ctx, p, prov
        self.drain = DrainThrough(ctx, no_drain=p.no_drain)  # Slurm and/or Kubernetes, or none
        self.steps = steps(prov)

    async def save(self, node: str, state: dict[str, Any]) -> None:
        await self.ctx.journal.put(f"node/{node}", state)

    async def _save_quietly(self, node: str, state: dict[str, Any]) -> None:
        try:
            await self.save(node, state)
        except DcopsError:
            pass  # the failure itself is reported; the phase stays as it was

    async def run(self, node: str, rep: StepReporter) -> str:
        state: dict[str, Any] = await self.ctx.journal.get(f"node/{node}") or {}
        if state.get("phase") == "done":
            return f"already done in run {state.get('run')}: {state.get('detail', '')}".strip()
        phase = state.get("phase") if state.get("phase") in ("drained", "pxe", "reset") else None
        names = self.steps
        step = names[0]
        drained = False

        def done(detail: str) -> None:
            rep.step_done(f"step {names.index(step) + 1}/{len(names)} {step}: {detail}")

        try:
            drained = self.drain.active  # a failed request may have half-applied: hold it
            await self.drain.drain(node, self.ctx.stamp(f"{self.p.reason} (run {self.ctx.run_id})"))
            done(
                ("drain requested" if drained else "not drained (--no-drain)")
                + (f" (resuming from '{phase}')" if phase else "")
            )
            old: str | None = state.get("old")
            booted = False  # the installer boot already happened (resumed run)
            if phase == "reset":  # the boot was journaled: it may have been sent
                booted = await self.prov.install_started(node)
            if not booted:
                step = "wait idle"
                await self.drain.wait_idle(node, self.p.drain_timeout)
                if phase is None:
                    old = await self.prov.image(node)
                state.update(phase="drained", old=old)
                await self.save(node, state)
                done(
                    f"{'no jobs left' if drained else 'not waited for (not drained)'}; image now {old or 'unknown (no answer)'}"
                )
                step = names[2]
                detail = await self.prov.arm(node, self.p.image)
                state.update(phase="pxe")
                await self.save(node, state)
                done(detail)
                step = names[3]
                state.update(phase="reset")
                await self.save(node, state)  # before the boot: a resumed run must not guess
                done(await self.prov.boot(node))
            else:
                step = names[3]
                done(f"already done in run {self.ctx.resumed_from}: the install boot happened")
            step = names[4]
            new = await self.wait_new_image(node, old, assume_down=booted)
            done(f"node answers; image {old or '?'} -> {new}")
            step = "verify"
            if self.p.image and new != self.p.image:
                raise StepFailed(f"node reports image {new!r}, expected {self.p.image!r}")
            await self.prov.check_installed(node)
            await self.drain.wait_back(node, self.p.install_timeout)
            done(f"image {new}" + ("; back in the schedulers" if drained else ""))
            step = "resume"
            await self.drain.release(node, {})
            done("back in service" if drained else "nothing to resume (not drained)")
            detail = f"reimaged: {old or '?'} -> {new}"
            state.update(phase="done", run=self.ctx.run_id, detail=detail)
            await self.save(node, state)
            return detail
        except DcopsError as exc:
            if state.get("phase") not in (None, "done"):
                state["failed"] = f"stopped at step '{step}': {exc}"
                await self._save_quietly(node, state)
            if drained:
                await self.drain.hold(
                    node, self.ctx.stamp(f"reimage run {self.ctx.run_id} stopped at step '{step}': {exc}")
                )
            raise StepFailed(f"stopped at step '{step}': {exc}" + ("; node left drained" if drained else "")) from None

    async def wait_new_image(self, node: str, old: str | None, *, assume_down: bool = False) -> str:
        """Until the node answers with the new image id. When the expected id equals the old one, the node
        must first have been seen unreachable (else the old system would pass as the new one) — unless
        a resumed run knows from the BMC that the installer boot already happened (``assume_down``)."""
        seen_down = assume_down
        need_down = self.p.image is not None and self.p.image == old

        async def answered() -> str | None:
            nonlocal seen_down
            now = await self.prov.image(node)
            if now is None:
                seen_down = True
                return None
            if need_down and not seen_down:
                return None
            if self.p.image is not None:
                return now if now == self.p.image else None
            return now if now != old else None

        if not assume_down:
            await asyncio.sleep(1.0)  # the reset takes the node down first
        return await until(answered, timeout=self.p.install_timeout, what=f"{node} to answer with a new image id")


@action(
    "reimage",
    example="reimage gpu[063-064]",
    help="reinstall nodes (over PXE by default): drain, arm the install, boot, wait for the new image, verify, resume",
    params=ReimageParams,
    kind=Kind.DESTRUCTIVE,
    targets=TargetKind.NODES,
    positional=("nodes",),
    category="nodes",
    takes_out_of_service=True,
    risks=no_drain_risks,
    check=check_drain_possible,
    resumable=True,
    rows=NodeOutcomeRow,
)
async def reimage(ctx: ActionContext, p: ReimageParams) -> AsyncIterator[ActionEvent]:
    if ctx.dry_run:  # never fails for a missing backend: says what a real run would do
        missing = missing_sections(ctx.backends, ctx.config.provisioning)
        names = steps(None if missing else _provisioner(ctx, p))
        drain = plan_text(ctx.backends, p.no_drain)
        yield Result(
            summary=f"would reimage {len(ctx.nodes)} node(s), {p.max_parallel} at a time: "
            + " -> ".join(names)
            + f"; nodes {drain}"
            + (f"; a real run would fail: no {' or '.join(missing)} section" if missing else ""),
            data={"nodes": ctx.nodes, "steps": list(names), "drain": drain, "missing": missing},
        )
        return
    prov = _provisioner(ctx, p)
    if ctx.resumed_from:
        done = [
            k
            for k, v in (await ctx.journal.items()).items()
            if k.startswith("node/") and isinstance(v, dict) and v.get("phase") == "done"
        ]
        yield Log(message=f"{len(done)} node(s) finished in run {ctx.resumed_from} are skipped")
    if p.silence:
        async for ev in _silences.silence_nodes(ctx, ctx.nodes, p.reason, p.silence_hours):
            yield ev
    job = Reimage(ctx, p, prov)
    fan = ctx.fanout(ctx.nodes, job.run, max_parallel=p.max_parallel, label="reimage")
    async for ev in fan:
        yield ev
    if p.silence:  # reimaged nodes are back in service: their maintenance is over
        async for ev in _silences.expire_for_nodes(ctx, sorted(fan.ok)):
            yield ev
    yield Result(
        summary=fan.summary("reimaged"),
        ok=fan.all_ok,
        rows=NodeOutcomeRow.of_fanout(fan.ok, fan.failed, fan.skipped),
        row_model=NodeOutcomeRow,
        data={"reimaged": sorted(fan.ok), "failed": fan.failed},
    )


def _provisioner(ctx: ActionContext, p: ReimageParams) -> ProvisioningPort:
    """The configured provider (default redfish-pxe); ``--ssh-timeout`` fills the provider's
    ``ssh_timeout`` option (redfish-pxe, command) unless ``[provisioning.options]`` sets it."""
    from ..backends.provisioning import provider_spec
    from ..config.provisioning import ProvisioningSection

    section = ctx.config.provisioning or ProvisioningSection()
    model = provider_spec(section.provider).options
    if model is not None and "ssh_timeout" in model.model_fields and "ssh_timeout" not in section.options:
        section = section.model_copy(update={"options": {**section.options, "ssh_timeout": p.ssh_timeout}})
    return provisioner(ctx.backends, section)

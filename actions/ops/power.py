"""Power over Redfish: ``power NODES on|off|cycle|status`` and the read-only ``power-status``.

``power`` is one destructive action (powering off kills whatever runs on the node), so even its
``status`` form asks for confirmation; ``power-status`` is the same read without it. ``cycle``
uses ForceRestart, the reset every BMC implements (PowerCycle is optional in the schema).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Literal

from pydantic import Field, computed_field

from ..backends.models import ManagerInfo, SystemInfo
from ..backends.ports import RedfishPort
from ..context import ActionContext
from ..events import ActionEvent, Result
from ..fanout import StepReporter
from ..registry import Kind, MutatingParams, Params, TargetKind, action
from ..result_models import NodeOutcomeRow
from ..result_rows import Row, hidden
from ._node_steps import wait_power

RESETS = {"on": ("On", "On"), "off": ("ForceOff", "Off"), "cycle": ("ForceRestart", "On")}
POWER_PARALLEL = 64  # the adapter bounds requests per BMC and across the fleet itself


class PowerStateRow(Row):
    """A node's power as its BMC reports it ("?" and the error when the BMC did not answer)."""

    TABLE = ("node", "power", "boot_override_shown", "bmc_shown", "error")

    node: str
    power: str = Field(description="On, Off, PoweringOn, ... (Redfish PowerState); ? when unread")
    boot_override: str = hidden("", description="BootSourceOverrideTarget (Pxe, Hdd, None, ...)")
    boot_override_enabled: str = hidden("", description="BootSourceOverrideEnabled (Once, Continuous, Disabled)")
    bmc: str = hidden("", description="the BMC's Manager id")
    bmc_firmware: str = hidden("", description="the BMC's firmware version")
    error: str = ""

    @computed_field(title="boot override")  # type: ignore[prop-decorator]
    @property
    def boot_override_shown(self) -> str:
        return f"{self.boot_override} ({self.boot_override_enabled})" if self.boot_override else ""

    @computed_field(title="BMC (firmware)")  # type: ignore[prop-decorator]
    @property
    def bmc_shown(self) -> str:
        return f"{self.bmc} {self.bmc_firmware}".strip()


async def _status(ctx: ActionContext) -> AsyncIterator[ActionEvent]:
    redfish: RedfishPort = ctx.backends.get(RedfishPort)
    found: dict[str, SystemInfo] = {}
    bmcs: dict[str, ManagerInfo] = {}

    async def read(node: str, rep: StepReporter) -> str:
        found[node] = await redfish.system(node)
        bmcs[node] = await redfish.manager(node)
        return found[node].power_state

    fan = ctx.fanout(ctx.nodes, read, max_parallel=POWER_PARALLEL, label="reading power state")
    async for ev in fan:
        yield ev
    rows = []
    for n in ctx.nodes:
        s = found.get(n)
        m = bmcs.get(n)
        rows.append(
            PowerStateRow(
                node=n,
                power=s.power_state,
                boot_override=s.boot_source_override_target,
                boot_override_enabled=s.boot_source_override_enabled,
                bmc=m.id if m else "",
                bmc_firmware=m.firmware_version if m else "",
                error="",
            )
            if s
            else PowerStateRow(node=n, power="?", error=fan.failed.get(n, ""))
        )
    counts: dict[str, int] = {}
    for s in found.values():
        counts[s.power_state] = counts.get(s.power_state, 0) + 1
    yield Result(
        summary=", ".join(f"{v} {k}" for k, v in sorted(counts.items()))
        + (f"; {len(fan.failed)} unreadable" if fan.failed else ""),
        ok=not fan.failed,
        rows=rows,
        row_model=PowerStateRow,
        data={n: s.power_state for n, s in found.items()},
    )


class PowerParams(MutatingParams):
    nodes: str = Field(..., description="hostlist")
    op: Literal["on", "off", "cycle", "status"] = Field(..., description="on | off | cycle | status")
    graceful: bool = Field(False, description="off/cycle through the OS (GracefulShutdown/GracefulRestart)")
    timeout: float = Field(300.0, gt=0, description="seconds to wait for each node to reach the power state")
    max_parallel: int = Field(16, ge=1, le=1024, description="nodes switched at once")


@action(
    "power",
    example="power gpu[059-060] cycle",
    help="power nodes on, off or cycle through their BMCs",
    params=PowerParams,
    kind=Kind.DESTRUCTIVE,
    targets=TargetKind.NODES,
    positional=("nodes", "op"),
    category="nodes",
    rows=(NodeOutcomeRow, PowerStateRow),
)
async def power(ctx: ActionContext, p: PowerParams) -> AsyncIterator[ActionEvent]:
    if p.op == "status":
        async for ev in _status(ctx):
            yield ev
        return
    redfish: RedfishPort = ctx.backends.get(RedfishPort)
    reset_type, target = RESETS[p.op]
    if p.graceful and p.op != "on":
        reset_type = "GracefulShutdown" if p.op == "off" else "GracefulRestart"
    if ctx.dry_run:
        yield Result(
            summary=f"would send {reset_type} to {len(ctx.nodes)} node(s) and wait for power {target}",
            data={"nodes": ctx.nodes, "reset_type": reset_type},
        )
        return

    async def switch(node: str, rep: StepReporter) -> str:
        now = (await redfish.system(node)).power_state
        if p.op in ("on", "off") and now == target:
            return f"already {target}"
        await redfish.reset(node, reset_type)
        rep.update(f"{reset_type} sent; waiting for power {target}")
        if p.op == "cycle":
            await asyncio.sleep(1.0)  # the reset first takes the power down
        await wait_power(redfish, node, target, p.timeout)
        return f"{reset_type}: {now} -> {target}"

    fan = ctx.fanout(ctx.nodes, switch, max_parallel=p.max_parallel, label=f"power {p.op}")
    async for ev in fan:
        yield ev
    yield Result(
        summary=fan.summary(f"power {p.op}"),
        ok=fan.all_ok,
        rows=NodeOutcomeRow.of_fanout(fan.ok, fan.failed),
        row_model=NodeOutcomeRow,
        data={"ok": sorted(fan.ok), "failed": fan.failed},
    )


class PowerStatusParams(Params):
    nodes: str = Field(..., description="hostlist")


@action(
    "power-status",
    example="power-status gpu[001-016]",
    help="power state and boot override of nodes (BMC)",
    params=PowerStatusParams,
    kind=Kind.READ,
    targets=TargetKind.NODES,
    positional=("nodes",),
    category="nodes",
    rows=PowerStateRow,
)
async def power_status(ctx: ActionContext, p: PowerStatusParams) -> AsyncIterator[ActionEvent]:
    async for ev in _status(ctx):
        yield ev

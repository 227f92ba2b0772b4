"""A long action from the console: per-node progress while it runs, the UI keeps answering keys,
and cancel from the operations screen ends it as ``cancelled`` in the audit log."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from pydantic import Field

from dcops.actions import registry
from dcops.actions.events import Progress, Result, Step
from dcops.actions.registry import Kind, MutatingParams, TargetKind, action
from dcops.actions.store.base import AuditQuery
from dcops.console.tui.app import DcopsApp
from dcops.console.tui.screens.operations import OperationsScreen
from dcops.console.tui.widgets.vtable import VirtualTable

from .conftest import SIZE, audit, wait_for

SLOW = "tui-test-soak"


class SoakParams(MutatingParams):
    nodes: str = Field(..., description="hostlist")


if SLOW not in registry:

    @action(
        SLOW,
        help="test only: a slow per-node action",
        params=SoakParams,
        kind=Kind.WRITE,
        targets=TargetKind.NODES,
        positional=("nodes",),
        category="test",
    )
    async def soak(ctx, p: SoakParams) -> AsyncIterator:  # noqa: ANN001
        nodes = ctx.nodes
        yield Step(target=nodes[0], status="ok", detail="soaked")
        yield Progress(done=1, total=len(nodes), label="soaking")
        for i, node in enumerate(nodes[1:], start=2):
            yield Step(target=node, status="running", detail="soaking")
            await asyncio.sleep(30)  # long enough to be cancelled, never reached in CI
            yield Step(target=node, status="ok", detail="soaked")
            yield Progress(done=i, total=len(nodes), label="soaking")
        yield Result(summary=f"soaked {len(nodes)} nodes")


async def test_long_run_shows_progress_keeps_ui_live_and_cancels(config) -> None:
    app = DcopsApp(config(), principal="unix:alice")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.engine is not None, what="the engine")
        await pilot.press("colon", *f"{SLOW} gpu[050-053]", "enter")
        await pilot.press("3")
        await wait_for(
            pilot,
            lambda: (
                isinstance(app.screen, OperationsScreen)
                and app.screen.query_one("#steps-table", VirtualTable).total_count == 4
            ),
            what="the steps",
        )
        screen = app.screen
        runs = screen.query_one("#runs-table", VirtualTable)
        await wait_for(
            pilot, lambda: runs.cursor_row and runs.cursor_row["progress"].endswith("25%"), what="progress 1 of 4"
        )
        assert runs.cursor_row["state"] == "running"
        steps = {r["target"]: r["status"] for r in screen.query_one("#steps-table", VirtualTable).visible_rows}
        assert steps == {"gpu050": "ok", "gpu051": "running", "gpu052": "pending", "gpu053": "pending"}
        await pilot.press("1")  # the UI answers while the run works
        await wait_for(pilot, lambda: app.screen.query("#fleet-table"), what="the fleet screen")
        await pilot.press("3", "c")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "AskDialog", what="the stop question")
        await pilot.press("n")  # asks first: "Keep running" leaves it alone
        await pilot.pause(1.0)
        assert runs.cursor_row["state"] == "running"
        await pilot.press("c")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "AskDialog", what="the stop question")
        await pilot.press("y")
        await wait_for(pilot, lambda: runs.cursor_row["state"] == "cancelled", what="the cancelled run")
        # the row turns "cancelled" as the run settles; its "finished" record is appended right after
        finished = await audit_soon(app, pilot, AuditQuery(action=SLOW, event="finished"))
        assert len(finished) == 1 and finished[0].outcome == "cancelled"
        assert "stopped by unix:alice" in finished[0].detail
        stops = await audit_soon(app, pilot, AuditQuery(action="stop", event="finished"))
        assert len(stops) == 1 and stops[0].outcome == "ok"  # the stop itself is an audited request
        await wait_for(
            pilot,
            lambda: (
                {r["status"] for r in screen.query_one("#steps-table", VirtualTable).visible_rows} == {"ok", "skipped"}
            ),
            what="final states",
        )  # done + not started; none "running"


async def audit_soon(app, pilot, query, timeout: float = 15.0) -> list:  # noqa: ANN001 - DcopsApp, Pilot, AuditQuery
    """The audit records matching ``query`` once there are any (or none after ``timeout``)."""
    for _ in range(int(timeout / 0.1)):
        found = await audit(app, query)
        if found:
            return found
        await pilot.pause(0.1)
    return await audit(app, query)

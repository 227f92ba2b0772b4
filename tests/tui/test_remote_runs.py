"""A run another process started (the bot, an approver's CLI) shows its progress and its log in
Operations, read from the shared audit store: the requester follows the rollout their approver ran."""

from __future__ import annotations

import asyncio

from dcops.actions import Request
from dcops.actions.errors import ApprovalRequired
from dcops.console.tui.app import DcopsApp
from dcops.console.tui.widgets.vtable import VirtualTable

from .conftest import other_process, wait_for

NARROW = (100, 30)
ROLLOUT = {
    "nodes": "gpu[059-062]",
    "image": "http://files.example/bios-2.4.1.bin",
    "component": "BIOS",
    "max_parallel": 2,
}


async def test_a_remote_rollout_shows_progress_and_its_log(config) -> None:
    cfg = config(demo_time_scale=40.0)
    app = DcopsApp(cfg, principal="unix:alice")
    async with app.run_test(size=NARROW) as pilot:
        await wait_for(pilot, lambda: app.engine is not None, what="the engine")
        async with other_process(cfg) as other:
            try:
                await other.submit(
                    Request(principal="unix:alice", channel="cli", action="firmware-update", params=ROLLOUT, yes=True)
                )
                raise AssertionError("the demo policy asks a second person for firmware-update")
            except ApprovalRequired:
                pass
            pending = await other.approvals()
            theirs = await other.approve(pending[0].id, "unix:bob", "cli")  # bob's process runs it
            await pilot.press("3")
            screen = app.screen
            runs = screen.query_one("#runs-table", VirtualTable)
            await wait_for(
                pilot,
                lambda: runs.cursor_row is not None and runs.cursor_row["run_id"] == theirs.run_id,
                timeout=15,
                what="the other process's run, newest first",
            )
            assert app.engine.get_run(theirs.run_id) is None  # not ours: read from the store

            def done_here() -> int:
                return sum(
                    1 for r in screen.query_one("#steps-table", VirtualTable).visible_rows if r["status"] == "ok"
                )

            await wait_for(pilot, lambda: done_here() >= 1, timeout=60, what="a finished node shown")
            row = runs.cursor_row
            assert row["state"] == "running" and row["progress"].split()[-1] != "0%", row
            log = "\n".join(strip.text for strip in screen.query_one("#run-log").lines)
            assert "[ok] gpu059" in log or "[ok] gpu060" in log, log
            fin = await asyncio.wait_for(theirs.wait(), 90)
            assert fin.outcome == "ok"
            await wait_for(
                pilot, lambda: runs.cursor_row["state"] == "ok" and done_here() == 4, timeout=15, what="the end shown"
            )

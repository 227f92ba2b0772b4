"""The 3 a.m. scenarios end to end on the demo cluster, counting what the operator does:
XID 79 -> drain; bad cable -> drain (triage's follow-up, one key); a firmware rollout stopped
halfway -> resume the leftovers (tests/tui/test_stop_and_leftovers.py). The counts are quoted in
the report: `steps` counts command lines, single keys and typed confirmations, not characters."""

from __future__ import annotations

from dcops.actions.store.base import AuditQuery
from dcops.console.tui.app import DcopsApp
from dcops.console.tui.screens.result import ResultScreen

from .conftest import SIZE, audit, type_confirmation, wait_for


async def _drained(app, node: str) -> bool:  # noqa: ANN001
    found = await app.engine.call(app.engine.engine.backends.slurm.nodes([node]))
    return bool(found) and found[0].drain_flag


async def test_xid_79_then_drain(config) -> None:
    app = DcopsApp(config(), principal="unix:alice")
    steps = 0
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.engine is not None, what="the engine")
        await pilot.press("colon", *"gpu-health gpu017", "enter")
        steps += 1
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, ResultScreen) and app.screen.query("#result-table"),
            timeout=30,
            what="gpu-health",
        )
        shown = str(app.screen.query_one("#result-summary").render()) + " ".join(
            str(r) for r in app.screen.query_one("#result-table").visible_rows
        )
        assert "79" in shown, shown  # the XID is on the screen
        await pilot.press("escape", "colon", *'drain gpu017 --reason "xid 79 on GPU 3"', "enter")
        steps += 2
        await type_confirmation(pilot, "1")
        steps += 1
        await wait_for(pilot, lambda: "drain: ok" in app.last_message[0], timeout=30, what="the drain")
        assert await _drained(app, "gpu017")
        recs = await audit(app, AuditQuery(action="drain", event="finished", node="gpu017"))
        assert recs and recs[0].outcome == "ok" and recs[0].principal == "unix:alice"
    assert steps == 4  # :gpu-health, Esc, :drain, typed 1


async def test_bad_cable_then_drain_from_the_triage_follow_up(config) -> None:
    app = DcopsApp(config(), principal="unix:alice")
    steps = 0
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.engine is not None, what="the engine")
        await pilot.press("colon", *"triage-cable --auto", "enter")
        steps += 1
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, ResultScreen) and app.screen.query("#result-summary"),
            timeout=60,
            what="the triage",
        )
        screen = app.screen
        assert screen.followups and screen.followups[0].startswith("drain gpu023"), screen.followups
        assert "bad cable" in str(screen.query_one("#result-summary").render())
        await pilot.press("f")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "AskDialog", what="the follow-up question")
        await pilot.press("y")
        steps += 2
        await type_confirmation(pilot, "1")
        steps += 1
        await wait_for(pilot, lambda: "drain: ok" in app.last_message[0], timeout=30, what="the drain")
        assert await _drained(app, "gpu023")
    assert steps == 4  # :triage-cable --auto, f, y, typed 1

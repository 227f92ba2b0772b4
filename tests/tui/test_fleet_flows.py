"""Pilot tests of the fleet screen's main flows: drain through the confirm dialog, denial, filter."""

from __future__ import annotations

from dcops.actions.store.base import AuditQuery
from dcops.console.tui.app import DcopsApp
from dcops.console.tui.screens.confirm import ConfirmDialog
from dcops.console.tui.screens.fleet import FleetScreen
from dcops.console.tui.widgets.chrome import StatusLine
from dcops.console.tui.widgets.vtable import VirtualTable

from .conftest import SIZE, audit, wait_for


def fleet_table(app: DcopsApp) -> VirtualTable:
    return app.screen.query_one("#fleet-table", VirtualTable)


def status_text(app: DcopsApp) -> str:
    return str(app.screen.query_one(StatusLine).render())


async def open_fleet(pilot) -> VirtualTable:
    app = pilot.app
    await wait_for(
        pilot,
        lambda: isinstance(app.screen, FleetScreen) and fleet_table(app).total_count == 64,
        what="the fleet to load",
    )
    return fleet_table(app)


async def test_drain_from_fleet_through_confirm_dialog_is_audited(config) -> None:
    app = DcopsApp(config(), principal="unix:alice")
    async with app.run_test(size=SIZE) as pilot:
        table = await open_fleet(pilot)
        assert table.move_to_key("gpu003")
        await pilot.press("space")  # select gpu003 (cursor moves on)
        assert table.move_to_key("gpu004")
        await pilot.press("space")
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog), what="the confirm dialog")
        dialog = app.screen
        assert "gpu[003-004]" in dialog.message
        await wait_for(pilot, lambda: not dialog.checking, what="the plan read when the dialog opens")
        await pilot.press(*"xid 79")
        await pilot.press("enter")  # moves to the confirmation field
        await pilot.press("3")  # wrong count: the button stays disabled
        assert dialog.query_one("#confirm").disabled
        await pilot.press("backspace", "2")
        assert not dialog.query_one("#confirm").disabled
        await pilot.press("enter")
        await wait_for(pilot, lambda: "drain: ok" in status_text(app), what="the drain run to finish")
        records = await audit(app, AuditQuery(node="gpu003", action="drain", event="finished"))
        assert len(records) == 1
        assert records[0].principal == "unix:alice" and records[0].channel == "tui"
        assert records[0].outcome == "ok" and records[0].targets == ["gpu003", "gpu004"]
        # the fleet reloads after our run: both nodes now show as drained (or draining)
        await wait_for(
            pilot,
            lambda: str(next(r for r in table.visible_rows if r["node"] == "gpu003")["state"]).startswith("drain"),
            what="the fleet to show gpu003 drained",
        )


async def test_cancelling_the_confirm_dialog_changes_nothing(config) -> None:
    app = DcopsApp(config(), principal="unix:alice")
    async with app.run_test(size=SIZE) as pilot:
        table = await open_fleet(pilot)
        table.move_to_key("gpu005")
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog), what="the confirm dialog")
        await pilot.press("escape")
        await wait_for(pilot, lambda: "cancelled" in status_text(app), what="the cancel message")
        assert await audit(app, AuditQuery(action="drain")) == []


async def test_denied_drain_shows_the_rbac_reason(config) -> None:
    app = DcopsApp(config(), principal="unix:viewer")  # the demo policy's read-only persona
    async with app.run_test(size=SIZE) as pilot:
        table = await open_fleet(pilot)
        table.move_to_key("gpu007")
        await pilot.press("d")  # refused before any dialog opens
        await wait_for(pilot, lambda: "denied" in status_text(app), what="the denial")
        assert not isinstance(app.screen, ConfirmDialog)
        assert status_text(app) == "denied: no role of unix:viewer allows drain (roles: viewer)"
        # typed on the command line, the request reaches the engine, which refuses and audits it
        await pilot.press("colon", *'drain gpu007 --reason "bad gpu"', "enter")
        denied = []
        for _ in range(100):
            denied = await audit(app, AuditQuery(action="drain", event="denied"))
            if denied:
                break
            await pilot.pause(0.05)
        assert len(denied) == 1 and denied[0].principal == "unix:viewer"
        assert denied[0].detail == "denied: no role of unix:viewer allows drain (roles: viewer)"
        assert "\n" not in status_text(app) and "Traceback" not in status_text(app)


async def test_filter_regex_inverse_and_bad_pattern(config) -> None:
    app = DcopsApp(config(), principal="unix:alice")
    async with app.run_test(size=SIZE) as pilot:
        table = await open_fleet(pilot)
        await pilot.press("slash", *"gpu00[1-3]$")
        assert [r["node"] for r in table.visible_rows] == ["gpu001", "gpu002", "gpu003"]
        await pilot.press("home", "!", "end")  # "!" first inverts the filter
        assert table.row_count == 61 and "gpu001" not in {r["node"] for r in table.visible_rows}
        await pilot.press("enter")
        assert table.filter_text == "!gpu00[1-3]$" and table.has_focus
        await pilot.press("slash", "ctrl+u", *"gpu01", "[")
        hint = str(app.screen.query_one("#filter .hint").render())
        assert hint.startswith("bad filter pattern 'gpu01['")
        assert table.filter_text == "gpu01" and table.row_count == 10  # the last good pattern stays
        await pilot.press("escape")  # esc clears the filter
        assert table.row_count == 64


async def test_sort_and_multi_select(config) -> None:
    app = DcopsApp(config(), principal="unix:alice")
    async with app.run_test(size=SIZE) as pilot:
        table = await open_fleet(pilot)
        table.sort_by("state")
        states = [str(r["state"]) for r in table.visible_rows]
        assert states == sorted(states)
        await pilot.press("S")  # reverse
        assert [str(r["state"]) for r in table.visible_rows] == sorted(states, reverse=True)
        await pilot.press("slash", *"gpu01", "enter", "ctrl+a")
        assert table.selected == {f"gpu01{i}" for i in range(10)}
        assert "10 node(s) selected: gpu[010-019]" in status_text(app)


async def test_command_line_types_the_fleet_selection(config) -> None:
    app = DcopsApp(config(), principal="unix:alice")
    async with app.run_test(size=SIZE) as pilot:
        table = await open_fleet(pilot)
        await pilot.press("slash", *"^gpu00[5-7]$", "enter", "ctrl+a")
        await pilot.press("colon")
        bar = app.screen.query_one("#command")
        assert str(bar.query_one(".hint").render()) == "selection gpu[005-007]: ctrl+t types it"
        await pilot.press(*"resume", "ctrl+t", "enter")
        await wait_for(pilot, lambda: "resume: ok" in status_text(app), what="the resume run")
        finished = await audit(app, AuditQuery(action="resume", event="finished"))
        assert finished[0].targets == ["gpu005", "gpu006", "gpu007"]
        assert table.selected == {"gpu005", "gpu006", "gpu007"}

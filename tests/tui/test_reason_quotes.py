"""The TUI's two ways to drain with a reason Slurm would show otherwise than typed (a leading
double quote): the fleet's ``d`` form and the command line. Both end in the one line the CLI and
Slack give, in the status line; the refusal is audited as invalid and the node is left as it was."""

from __future__ import annotations

from dcops.actions.store.base import AuditQuery
from dcops.actions.validation import SLURM_LEADING_QUOTE
from dcops.console.tui.app import DcopsApp
from dcops.console.tui.screens.confirm import ConfirmDialog

from .conftest import SIZE, audit, wait_for
from .test_fleet_flows import open_fleet, status_text

LINE = f"drain: --reason: {SLURM_LEADING_QUOTE}"


async def refusals(app: DcopsApp, pilot, count: int) -> list:  # noqa: ANN001 - Pilot
    found: list = []
    for _ in range(200):
        found = await audit(app, AuditQuery(action="drain", event="invalid"))
        if len(found) >= count:
            break
        await pilot.pause(0.05)
    return found


async def test_the_fleet_drain_form_and_the_command_line_give_the_same_one_line(config) -> None:
    app = DcopsApp(config(), principal="unix:alice")
    async with app.run_test(size=SIZE) as pilot:
        table = await open_fleet(pilot)
        assert table.move_to_key("gpu006")
        before = next(r for r in table.visible_rows if r["node"] == "gpu006")["state"]
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog), what="the confirm dialog")
        dialog = app.screen
        await wait_for(pilot, lambda: not dialog.checking, what="the plan read when the dialog opens")
        await pilot.press(*'"xid 79" on GPU 3', "enter", "1", "enter")
        await wait_for(pilot, lambda: LINE in status_text(app), what="the refusal in the status line")
        assert "\n" not in status_text(app) and "Traceback" not in status_text(app)
        assert len(await refusals(app, pilot, 1)) == 1

        app.report("(the form's line, cleared)")
        await wait_for(pilot, lambda: LINE not in status_text(app), what="the status line to clear")
        await pilot.press("colon", *"drain gpu006 --reason '  \"psu\" swap'", "enter")
        invalid = await refusals(app, pilot, 2)
        assert len(invalid) == 2 and all(SLURM_LEADING_QUOTE in (r.error or "") for r in invalid)
        assert {r.channel for r in invalid} == {"tui"}
        await wait_for(pilot, lambda: LINE in status_text(app), what="the same line from the command line")
        assert await audit(app, AuditQuery(action="drain", event="started")) == []
        assert next(r for r in table.visible_rows if r["node"] == "gpu006")["state"] == before

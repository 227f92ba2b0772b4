"""Confirmation dialogs re-read what they are about (issue 18: a drain dialog showed a job that had
already finished): when they open, and again on Confirm; a plan that changed in between is shown,
named, and confirmed again. Jobs finish here for real in the demo's Slurm (``scancel`` on the
simulator), not by editing what the dialog shows."""

from __future__ import annotations

from dcops.actions.store.base import AuditQuery
from dcops.console.tui.app import DcopsApp
from dcops.console.tui.screens.confirm import ConfirmDialog
from dcops.console.tui.screens.fleet import FleetScreen

from .conftest import audit, screen_text, wait_for

NARROW = (100, 30)


async def _finish(app, *job_ids: str) -> None:  # noqa: ANN001
    """A job ends behind the console's back (another user's scancel, or it completed)."""
    await app.engine.call(app.engine.engine.backends.slurm.cancel(list(job_ids)))


async def _fleet(pilot, app):  # noqa: ANN001, ANN202
    await wait_for(
        pilot,
        lambda: isinstance(app.screen, FleetScreen) and app.screen.table.total_count == 64,
        what="the fleet",
        timeout=30,
    )
    return app.screen.table


async def test_the_drain_dialog_shows_jobs_as_they_are_now_not_as_the_fleet_last_saw_them(config) -> None:
    app = DcopsApp(config(), principal="unix:alice")
    async with app.run_test(size=NARROW) as pilot:
        table = await _fleet(pilot, app)
        assert table.move_to_key("gpu001")
        assert table.cursor_row["jobs"] == 1  # the fleet saw job 48213 on gpu001
        await _finish(app, "48213")  # ... which finishes before d
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog), what="the dialog")
        dialog = app.screen
        assert dialog.query_one("#confirm").disabled  # nothing to confirm before the plan is read
        await wait_for(pilot, lambda: not dialog.checking, what="the plan")
        plan = str(dialog.query_one("#plan").render())
        assert "No jobs run there now" in plan and "48213" not in plan, plan
        assert "No jobs run there now" in screen_text(app)  # on screen at 100x30, not cut off


async def test_a_plan_that_changed_before_confirm_is_shown_and_confirmed_again(config) -> None:
    app = DcopsApp(config(), principal="unix:alice")
    async with app.run_test(size=NARROW) as pilot:
        table = await _fleet(pilot, app)
        assert table.move_to_key("gpu002")
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog), what="the dialog")
        dialog = app.screen
        await wait_for(pilot, lambda: not dialog.checking, what="the plan")
        assert "48214" in str(dialog.query_one("#plan").render())
        await pilot.press(*"fan", "enter", "1")
        await _finish(app, "48214")  # the job ends while the operator types
        await pilot.press("enter")  # Confirm: the dialog reads again
        await wait_for(pilot, lambda: dialog.query_one("#plan-changed").has_class("-shown"), what="the change")
        changed = str(dialog.query_one("#plan-changed").render())
        assert "gpu002" in changed and "48214" in changed and "confirm again" in changed, changed
        assert app.screen is dialog and dialog.query_one("#confirm-input").value == ""
        assert await audit(app, AuditQuery(action="drain", event="started")) == []  # nothing ran yet
        await pilot.press("1", "enter")  # confirmed against the new plan
        for _ in range(300):
            done = await audit(app, AuditQuery(action="drain", event="finished", node="gpu002"))
            if done:
                break
            await pilot.pause(0.05)
        assert [r.outcome for r in done] == ["ok"]


async def test_an_unchanged_plan_confirms_at_once(config) -> None:
    app = DcopsApp(config(), principal="unix:alice")
    async with app.run_test(size=NARROW) as pilot:
        await wait_for(pilot, lambda: app.engine is not None, what="the engine")
        await pilot.press("colon", *"drain gpu005 --reason fan", "enter")  # the engine's own dialog, rechecked too
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog), what="the dialog")
        dialog = app.screen
        await wait_for(pilot, lambda: not dialog.checking, what="the plan")
        assert "Jobs running there now" in str(dialog.query_one("#plan").render())
        await pilot.press("1", "enter")
        await wait_for(pilot, lambda: not isinstance(app.screen, ConfirmDialog), what="the dialog to close")
        for _ in range(300):
            started = await audit(app, AuditQuery(action="drain", event="started", node="gpu005"))
            if started:
                break
            await pilot.pause(0.05)
        assert len(started) == 1 and started[0].principal == "unix:alice"


async def test_job_cancel_dialog_says_a_job_already_finished(config) -> None:
    app = DcopsApp(config(), principal="unix:alice")
    async with app.run_test(size=NARROW) as pilot:
        await wait_for(pilot, lambda: app.engine is not None, what="the engine")
        await pilot.press("2")
        await wait_for(pilot, lambda: app.screen.query_one("#jobs-table").total_count > 0, what="the jobs")
        table = app.screen.query_one("#jobs-table")
        assert table.move_to_key("48213")
        await pilot.press("space")
        assert table.move_to_key("48214")
        await pilot.press("space")
        await _finish(app, "48213")
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog), what="the dialog")
        dialog = app.screen
        await wait_for(pilot, lambda: not dialog.checking, what="the plan")
        plan = str(dialog.query_one("#plan").render())
        assert "48213: already ended (CANCELLED): nothing to cancel" in plan, plan
        assert "48214 rlhf-reward (dave): RUNNING on gpu002" in plan, plan

"""Triage at 100x30: every evidence line can be read whole, and every suggested follow-up runs with
one key (its action's key, the same as on every screen) through the engine, audited."""

from __future__ import annotations

from dcops.actions.events import Result, RunFinished, Table
from dcops.actions.store.base import AuditQuery
from dcops.console.tui.app import DcopsApp
from dcops.console.tui.screens.result import ResultScreen

from .conftest import audit, screen_text, type_confirmation, wait_for

NARROW = (100, 30)


async def _triage(pilot, app) -> ResultScreen:  # noqa: ANN001
    await wait_for(pilot, lambda: app.engine is not None, what="the engine")
    await pilot.press("colon", *"triage-cable gpu023", "enter")
    await wait_for(
        pilot,
        lambda: isinstance(app.screen, ResultScreen) and app.screen.query("#result-table"),
        timeout=60,
        what="the triage",
    )
    return app.screen


async def test_every_evidence_line_is_readable_whole_at_100_columns(config) -> None:
    app = DcopsApp(config(), principal="unix:alice")
    async with app.run_test(size=NARROW) as pilot:
        screen = await _triage(pilot, app)
        table = screen.query_one("#result-table")
        evidence = [str(r["evidence"]) for r in table.visible_rows if r.get("evidence")]
        width = next(c.width for c in table.columns if c.key == "evidence")
        assert any(len(line) > width for line in evidence), "no evidence line is cut: the test proves nothing"
        for line in evidence:  # the cursor on each row shows its evidence whole in the pane
            await pilot.pause(0.05)
            shown = " ".join(screen_text(app).split())
            assert " ".join(line.split()) in shown, (line, shown)
            await pilot.press("down")


async def test_each_follow_up_has_its_key_and_runs_through_the_engine(config) -> None:
    app = DcopsApp(config(), principal="unix:alice")
    async with app.run_test(size=NARROW) as pilot:
        screen = await _triage(pilot, app)
        assert [f.split()[0] for f in screen.followups] == ["drain", "reset-counters"], screen.followups
        listed = str(screen.query_one("#result-followups").render())
        assert "f/d  drain gpu023" in listed and "z    reset-counters gpu023" in listed, listed
        await pilot.press("z")  # the second follow-up, one key
        await wait_for(pilot, lambda: type(app.screen).__name__ == "AskDialog", what="the follow-up question")
        assert "reset-counters gpu023 --device mlx5_0 --port 1" in str(app.screen.message)
        await pilot.press("y")
        await type_confirmation(pilot, "1")  # destructive: the engine's typed confirmation
        for _ in range(300):
            done = await audit(app, AuditQuery(action="reset-counters", event="finished"))
            if done:
                break
            await pilot.pause(0.05)
        assert done and done[0].principal == "unix:alice" and done[0].channel == "tui", done
        assert await audit(app, AuditQuery(action="drain", event="started")) == []


async def test_keys_of_actions_the_result_does_not_suggest_do_nothing(config) -> None:
    app = DcopsApp(config(), principal="unix:alice")
    async with app.run_test(size=NARROW) as pilot:
        screen = await _triage(pilot, app)
        await pilot.press("b", "r", "v")  # gpu-reset, resume, validate: not suggested here
        await pilot.pause(0.3)
        assert app.screen is screen
        assert await audit(app, AuditQuery(event="started", action="gpu-reset")) == []
        assert await audit(app, AuditQuery(event="started", action="resume")) == []


async def test_two_follow_ups_of_one_action_open_a_chooser(config) -> None:
    result = Result(
        summary="two ports",
        table=Table(columns=["port"], rows=[["mlx5_0"], ["mlx5_1"]]),
        data={
            "followups": [
                "reset-counters gpu001 --device mlx5_0 --port 1",
                "reset-counters gpu001 --device mlx5_1 --port 1",
            ]
        },
    )
    app = DcopsApp(config(), principal="unix:alice")
    async with app.run_test(size=NARROW) as pilot:
        await wait_for(pilot, lambda: app.engine is not None, what="the engine")
        finished = RunFinished(run_id="r", outcome="ok", duration=0.0)
        await app.push_screen(ResultScreen(":triage-cable", result, finished))
        await pilot.press("z")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "ChooseDialog", what="the chooser")
        await pilot.press("down", "enter")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "AskDialog", what="the follow-up question")
        assert "--device mlx5_1" in str(app.screen.message)
        await pilot.press("n")

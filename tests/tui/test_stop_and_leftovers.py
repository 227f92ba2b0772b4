"""3 a.m. scenario 3 in the console: a firmware rollout stopped halfway tells the truth and is
undone in one step. Operations asks before it stops, every target ends in a final state (none
"running"), the nodes left drained are named, and `u` resumes them through the engine. Runs other
processes started (an approver's, the bot's) show up from the shared store and can be stopped."""

from __future__ import annotations

import asyncio

from dcops.actions import Request
from dcops.actions.store.base import AuditQuery
from dcops.console.tui.app import DcopsApp
from dcops.console.tui.screens.operations import OperationsScreen
from dcops.console.tui.widgets.vtable import VirtualTable

from .conftest import SIZE, audit, other_process, wait_for

ROLLOUT = "firmware-update gpu[059-064] --image http://files.example/bios-2.4.1.bin --component BIOS --max-parallel 2"


def _is_dialog(app) -> bool:  # noqa: ANN001
    return type(app.screen).__name__ == "AskDialog"


async def test_rollout_stopped_halfway_then_leftovers_resumed(config) -> None:
    app = DcopsApp(config(demo_time_scale=40.0), principal="unix:alice")
    keys = 0
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.engine is not None, what="the engine")
        await pilot.press("colon", *ROLLOUT, "enter")
        keys += 2
        link = app.engine
        await wait_for(pilot, lambda: "approval" in app.last_message[0], what="the approval request")
        pending = await link.approvals()
        run = await link.call(link.engine.approve(pending[0].id, "unix:bob", "tui"))  # a second person
        await pilot.press("3")
        keys += 1

        def halfway() -> bool:
            steps = [e for e in run.history if e.kind == "step" and e.status == "ok"]
            updated = {e.target for e in steps if e.detail.startswith("updated")}
            return len(updated) >= 2 and bool({e.target for e in steps if e.detail == "drained"} - updated)

        await wait_for(pilot, halfway, timeout=60, what="halfway")
        screen = app.screen
        assert isinstance(screen, OperationsScreen)
        runs = screen.query_one("#runs-table", VirtualTable)
        await wait_for(pilot, lambda: runs.cursor_row and runs.cursor_row["run_id"] == run.run_id, what="the run row")
        await pilot.press("c")
        await wait_for(pilot, lambda: _is_dialog(app), what="the stop question")
        await pilot.press("y")
        keys += 2
        await wait_for(pilot, lambda: runs.cursor_row["state"] == "cancelled", timeout=30, what="the stop")
        left = run.finished.left_out_of_service
        assert left, run.finished.summary
        steps = {r["target"]: r["status"] for r in screen.query_one("#steps-table", VirtualTable).visible_rows}
        assert "running" not in steps.values() and set(steps.values()) <= {"ok", "failed", "cancelled", "skipped"}
        assert [t for t, s in steps.items() if s == "cancelled"] == left  # "left drained" rows
        head = str(screen.query_one("#run-head").render())
        assert "left out of service" in head and "r: resume" in head
        await pilot.press("r")
        await wait_for(pilot, lambda: _is_dialog(app), what="the resume question")
        await pilot.press("y")
        keys += 2
        await wait_for(
            pilot,
            lambda: any(r.action == "resume" and r.finished for r in link.runs()),
            timeout=30,
            what="the resume run",
        )
        resumed = next(r for r in link.runs() if r.action == "resume")
        assert resumed.finished.outcome == "ok" and resumed.targets == left
        nodes = await link.call(link.engine.backends.slurm.nodes(left))
        assert not any(n.drain_flag for n in nodes)
        recs = await audit(app, AuditQuery(action="resume", event="finished"))
        assert recs and recs[0].principal == "unix:alice"
    assert keys == 7  # `:cmd⏎`, 3, c y, r y  (quoted in the report)


async def test_operations_shows_and_stops_a_run_another_process_started(config, tmp_path) -> None:
    """The bot (or an approver's CLI) runs a change in its own process; this console lists it from
    the shared store and an admin stops it from here: the other process obeys."""
    cfg = config(demo_time_scale=40.0)
    app = DcopsApp(cfg, principal="unix:alice")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.engine is not None, what="the engine")
        async with other_process(cfg) as other:
            theirs = await other.submit(
                Request(
                    principal="slack:U0ONCALL",
                    channel="slack",
                    action="drain",
                    params={"nodes": "gpu001", "reason": "xid 79", "wait": True},
                )
            )
            await pilot.press("3")
            screen = app.screen
            runs = screen.query_one("#runs-table", VirtualTable)
            await wait_for(
                pilot,
                lambda: any(r["run_id"] == theirs.run_id for r in runs.visible_rows),
                timeout=10,
                what="the other process's run",
            )
            row = next(r for r in runs.visible_rows if r["run_id"] == theirs.run_id)
            assert row["state"] == "running" and row["principal"] == "slack:U0ONCALL"
            await pilot.press("c")
            await wait_for(pilot, lambda: _is_dialog(app), what="the stop question")
            await pilot.press("y")
            fin = await asyncio.wait_for(theirs.wait(), 30)
            assert fin.outcome == "cancelled" and fin.stopped_by == "unix:alice"
            await wait_for(
                pilot,
                lambda: any(r["run_id"] == theirs.run_id and r["state"] == "cancelled" for r in runs.visible_rows),
                timeout=10,
                what="the stop shown",
            )


async def test_confirm_dialog_buttons_say_what_they_do(config) -> None:
    """The job cancel dialog once showed two buttons labelled "Cancel"."""
    from textual.widgets import Button

    from dcops.console.tui.screens.confirm import ConfirmDialog

    app = DcopsApp(config(), principal="unix:alice")
    async with app.run_test(size=SIZE) as pilot:
        app.push_screen(ConfirmDialog("cancel", "cancel is destructive", "1", ("48213",)))
        await pilot.pause()
        labels = [str(b.label) for b in app.screen.query(Button)]
        assert labels == ["Back (esc)", "Cancel jobs"] and len(set(labels)) == 2


def test_mutating_keys_mean_one_thing_on_every_screen() -> None:
    """`r` was resume on Fleet and requeue on Jobs: a key bound to a mutating action on two screens
    must be bound to the same kind of action (resume / stop-cancel) on both."""
    from dcops.console.tui.bindings import fleet_bindings, jobs_bindings, operations_bindings

    meaning = {
        "drain": "drain",
        "resume": "resume",
        "resume_leftovers": "resume",
        "job('cancel')": "cancel",
        "cancel_run": "cancel",
        "job('requeue')": "requeue",
        "job('hold')": "hold",
        "job('release')": "release",
        "open_node": None,
    }
    seen: dict[str, str] = {}
    for group in (fleet_bindings(), jobs_bindings(), operations_bindings()):
        for b in group:
            what = meaning[b.action]
            if what is None:
                continue
            assert seen.setdefault(b.key, what) == what, f"{b.key!r} means {seen[b.key]} and {what}"


async def test_dry_run_shows_its_plan_as_a_result_and_never_runs(config) -> None:
    from dcops.console.tui.screens.result import ResultScreen

    app = DcopsApp(config(), principal="unix:alice")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.engine is not None, what="the engine")
        await pilot.press("colon", *"drain gpu[001-003] --reason x --dry-run", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ResultScreen), what="the plan")
        shown = " ".join(str(w.render()) for w in app.screen.query("Static"))
        assert "would drain 3 node(s)" in shown and "48213" in shown  # the affected jobs
        runs = [r for r in app.engine.runs() if r.action == "drain"]
        assert len(runs) == 1 and runs[0].finished.outcome == "dry-run"
        nodes = await app.engine.call(app.engine.engine.backends.slurm.nodes(["gpu001"]))
        assert not nodes[0].drain_flag
        await pilot.press("escape", "3")
        await wait_for(pilot, lambda: isinstance(app.screen, OperationsScreen), what="operations")
        await pilot.pause(0.6)
        steps = {r["status"] for r in app.screen.query_one("#steps-table", VirtualTable).visible_rows}
        assert "running" not in steps and steps <= {"planned", "skipped", "failed"}, steps


async def test_colon_help_drain_shows_the_actions_help(config) -> None:
    from dcops.console.tui.screens.help import HelpScreen

    app = DcopsApp(config(), principal="unix:alice")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.engine is not None, what="the engine")
        await pilot.press("colon", *"help drain", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), what="the help")
        shown = str(app.screen.query_one("#help-action").render())
        assert "drain" in shown and "--reason" in shown and "you may run it" in shown


async def test_a_theme_chosen_in_the_console_is_remembered(config) -> None:
    first = DcopsApp(config(), principal="unix:alice")
    async with first.run_test(size=SIZE) as pilot:
        assert first.theme == "dcops-dark"
        first.theme = "dcops-light"  # what the palette's theme picker does
        await pilot.pause()
    again = DcopsApp(config(), principal="unix:alice")
    async with again.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert again.theme == "dcops-light"
    flagged = DcopsApp(config(), principal="unix:alice", theme="dcops-contrast")  # --theme still wins
    async with flagged.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert flagged.theme == "dcops-contrast"
    pinned = DcopsApp(config(theme="dcops-contrast"), principal="unix:alice")  # a pinned cluster too
    async with pinned.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert pinned.theme == "dcops-contrast"


async def test_live_screens_refresh_on_their_own_and_say_as_of_when(config) -> None:
    from dcops.console.tui.widgets.chrome import Banner

    app = DcopsApp(config(tui={"refresh": 1.0}), principal="unix:alice")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.engine is not None and app.screen.query_one(Banner).as_of, what="as of")
        fleet_reads = lambda: sum(1 for r in app.engine.runs() if r.action == "fleet")  # noqa: E731
        first = fleet_reads()
        await wait_for(pilot, lambda: fleet_reads() >= first + 2, timeout=10, what="two reloads without a key")
        assert "as of" in str(app.screen.query_one(Banner).render())
        await pilot.press("3")  # not on top: the fleet stops reloading
        await pilot.pause(0.3)
        hidden = fleet_reads()
        await pilot.pause(2.5)
        assert fleet_reads() == hidden


async def test_audit_screen_hides_reads_groups_by_run_and_keeps_digits_in_fields(config) -> None:
    from textual.widgets import Input

    from dcops.console.tui.screens.audit import AuditScreen

    app = DcopsApp(config(), principal="unix:alice")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.engine is not None, what="the engine")
        await pilot.press("colon", *"resume gpu[030-031]", "enter")
        await wait_for(pilot, lambda: "resume: ok" in app.last_message[0], what="a write")
        await pilot.press("4")
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, AuditScreen) and app.screen.table.total_count,
            what="the audit records",
        )
        screen = app.screen
        rows = list(screen.table.visible_rows)
        assert rows and not [r for r in rows if r["action"] in ("fleet", "audit", "audit-verify")]
        assert "read record(s) hidden" in str(screen.query_one("#audit-summary").render())
        runs = [r["run"] for r in rows]
        assert runs == sorted(runs, reverse=True)  # grouped by run, newest first
        form = screen.query_one("#audit-form").query(Input)
        assert len(form) == 6 and all(not w.value and w.placeholder.startswith("e.g.") for w in form)
        await pilot.press("ctrl+f")
        assert isinstance(app.focused, Input)
        await pilot.press("2", "h")  # typed into the field, not "switch to jobs"
        assert isinstance(app.screen, AuditScreen) and app.focused.value == "2h"
        await pilot.press("escape", "R")
        await wait_for(
            pilot, lambda: any(r["action"] == "fleet" for r in screen.table.visible_rows), what="reads shown"
        )


async def test_job_detail_then_a_node_then_its_cable(config) -> None:
    from dcops.console.tui.screens.job import JobDetailScreen
    from dcops.console.tui.screens.jobs import JobsScreen
    from dcops.console.tui.screens.node import NodeScreen
    from dcops.console.tui.screens.result import ResultScreen

    app = DcopsApp(config(), principal="unix:alice")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.engine is not None, what="the engine")
        await pilot.press("2")
        await wait_for(pilot, lambda: isinstance(app.screen, JobsScreen) and app.screen.table.total_count, what="jobs")
        jobs = app.screen.table
        multi = next(i for i, r in enumerate(jobs.visible_rows) if r["node_count"] > 1)
        for _ in range(multi):
            await pilot.press("down")
        job = jobs.cursor_row
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, JobDetailScreen), what="the job")
        shown = str(app.screen.query_one("#job-fields").render())
        assert str(job["job"]) in shown and str(job["state"]) in shown and str(job["user"]) in shown
        nodes = [r["node"] for r in app.screen.query_one("#job-nodes").visible_rows]
        assert len(nodes) == job["node_count"] == len(job["nodelist"])
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, NodeScreen), what="the node")
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, JobDetailScreen), what="back to the job")
        await pilot.press("t")
        await wait_for(pilot, lambda: isinstance(app.screen, ResultScreen), timeout=30, what="the triage")
        assert "triage-cable" in app.screen.SCREEN_TITLE


async def test_node_screen_keys_act_on_the_node_and_tabs_agree(config) -> None:
    from textual.widgets import TabbedContent

    from dcops.console.tui.screens.node import NodeScreen

    app = DcopsApp(config(), principal="unix:alice")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.engine is not None, what="the engine")
        app.push_screen(NodeScreen("gpu023"))
        await wait_for(
            pilot, lambda: isinstance(app.screen, NodeScreen) and app.screen.query("#summary-audit"), what="the node"
        )
        screen = app.screen
        summary = lambda tab: str(screen.query_one(f"#summary-{tab}").render())  # noqa: E731
        await wait_for(
            pilot,
            lambda: "port(s) of gpu023" in summary("ib") and "loading" not in summary("audit"),
            timeout=30,
            what="the tabs",
        )
        assert summary("ib").startswith("2 port(s) of gpu023")  # Health counts 2 ports too
        health = list(screen.query_one("#table-health").visible_rows)
        assert any(str(v) == "2" for r in health for v in r.values()), health
        footer = " ".join(key for key, b in screen.active_bindings.items() if b.binding.show)
        assert "left_square_bracket" in footer and "right_square_bracket" in footer
        tabs = screen.query_one("#node-tabs", TabbedContent)
        before = tabs.active
        await pilot.press("right_square_bracket")
        assert tabs.active != before
        await pilot.press("d")
        await type_confirmation_with_reason(pilot, "cable reseat", "1")
        await wait_for(pilot, lambda: "drain: ok" in app.last_message[0], timeout=30, what="the drain")
        nodes = await app.engine.call(app.engine.engine.backends.slurm.nodes(["gpu023"]))
        assert nodes[0].drain_flag and "cable reseat" in nodes[0].reason
        await wait_for(
            pilot,
            lambda: (
                "change record(s) for gpu023" in summary("audit")  # reloaded after the run:
                and screen.query_one("#table-audit").total_count
            ),
            timeout=30,
            what="audit tab",
        )  # 0 before
        rows = list(screen.query_one("#table-audit").visible_rows)
        assert rows and all(
            r["action"]
            not in ("gpu-health", "node-health", "fabric-health", "firmware", "jobs", "power-status", "audit", "query")
            for r in rows
        )


async def type_confirmation_with_reason(pilot, reason: str, token: str) -> None:  # noqa: ANN001
    from dcops.console.tui.screens.confirm import ConfirmDialog

    await wait_for(pilot, lambda: isinstance(pilot.app.screen, ConfirmDialog), what="the drain dialog")
    await wait_for(pilot, lambda: not pilot.app.screen.checking, what="the drain dialog's plan")
    await pilot.press(*reason, "enter", *token, "enter")


async def test_a_succeeding_command_clears_the_last_error(config) -> None:
    app = DcopsApp(config(), principal="unix:alice")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.engine is not None, what="the engine")
        await pilot.press("colon", *"drain gpu999 --reason x", "enter")
        await wait_for(pilot, lambda: app.last_message[1] == "error", what="the error")
        await pilot.press("colon", *"ping", "enter")
        await wait_for(pilot, lambda: app.last_message[1] != "error", what="the error cleared")
        assert "ping: ok" in app.last_message[0]

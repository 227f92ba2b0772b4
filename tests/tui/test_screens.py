"""Pilot tests of the other screens: approvals (two principals), audit search, jobs, operations,
the command line, help, keymap, themes and the safety chrome."""

from __future__ import annotations

import pytest

from dcops.actions.errors import ConfigError
from dcops.actions.store.base import AuditQuery
from dcops.console.tui.app import DcopsApp
from dcops.console.tui.screens.approvals import ApprovalsScreen
from dcops.console.tui.screens.audit import AuditScreen
from dcops.console.tui.screens.confirm import ConfirmDialog
from dcops.console.tui.screens.detail import DetailScreen
from dcops.console.tui.screens.help import HelpScreen
from dcops.console.tui.screens.jobs import JobsScreen
from dcops.console.tui.screens.operations import OperationsScreen
from dcops.console.tui.screens.result import ResultScreen
from dcops.console.tui.widgets.chrome import Banner, StatusLine
from dcops.console.tui.widgets.vtable import VirtualTable

from .conftest import APPROVAL_POLICY, SIZE, audit, confirm_ready, type_confirmation, wait_for


def status_text(app: DcopsApp) -> str:
    return str(app.screen.query_one(StatusLine).render())


def table(app: DcopsApp, selector: str) -> VirtualTable:
    return app.screen.query_one(selector, VirtualTable)


async def open_approvals(app: DcopsApp, pilot) -> VirtualTable:  # noqa: ANN001 - Pilot
    await pilot.press("5")
    await wait_for(
        pilot,
        lambda: isinstance(app.screen, ApprovalsScreen) and table(app, "#approvals-table").row_count == 1,
        what="the pending request",
    )
    return table(app, "#approvals-table")


async def test_approval_flow_with_two_principals(config) -> None:
    cfg = config(policy=APPROVAL_POLICY)
    alice = DcopsApp(cfg, principal="unix:alice")
    async with alice.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: alice.engine is not None, what="the engine")
        await pilot.press("colon", *'drain gpu010 --reason "fan noise"', "enter")
        await type_confirmation(pilot, "1")  # `:drain` asks what the fleet's `d` asks
        await wait_for(pilot, lambda: "approval" in status_text(alice), what="the approval notice")
        assert "needs a second person's approval" in status_text(alice)
        await open_approvals(alice, pilot)
        await pilot.press("a")  # alice may not approve her own request
        await wait_for(pilot, lambda: type(alice.screen).__name__ == "AskDialog", what="the plan")
        await pilot.press("y")
        await wait_for(pilot, lambda: "cannot approve it" in status_text(alice), what="the self-approval refusal")
        started = await audit(alice, AuditQuery(action="drain", event="started"))
        assert all(r.params.get("dry_run") for r in started)  # only the plan (a dry run) ran

    bob = DcopsApp(cfg, principal="unix:bob")
    async with bob.run_test(size=SIZE) as pilot:
        row = (await open_approvals(bob, pilot)).cursor_row
        assert row["requester"] == "unix:alice" and row["action"] == "drain" and row["targets"] == "gpu010"
        await pilot.press("a")
        await wait_for(pilot, lambda: type(bob.screen).__name__ == "AskDialog", what="the plan")
        plan = str(bob.screen.query_one(".message").render())  # the approval shows what it will do
        assert "would drain 1 node(s) gpu010" in plan and "reason=fan noise" in plan
        assert all(r.params.get("dry_run") for r in await audit(bob, AuditQuery(action="drain", event="started")))
        await pilot.press("y")
        await wait_for(pilot, lambda: "drain: ok" in status_text(bob), what="the approved run to finish")
        granted = await audit(bob, AuditQuery(event="approval-granted"))
        assert len(granted) == 1 and granted[0].principal == "unix:bob"
        finished = [
            r
            for r in await audit(bob, AuditQuery(action="drain", event="finished", node="gpu010"))
            if r.outcome != "dry-run"
        ]  # the plans the approvers looked at
        assert len(finished) == 1 and finished[0].principal == "unix:alice" and finished[0].outcome == "ok"
        await wait_for(pilot, lambda: table(bob, "#approvals-table").row_count == 0, what="the list to empty")


async def test_audit_screen_finds_a_record_by_node(config) -> None:
    app = DcopsApp(config(), principal="unix:alice")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.engine is not None, what="the engine")
        await pilot.press("colon", *"resume gpu021", "enter")
        await wait_for(pilot, lambda: "resume: ok" in status_text(app), what="the resume run")
        await pilot.press("4")
        await wait_for(pilot, lambda: isinstance(app.screen, AuditScreen), what="the audit screen")
        await wait_for(pilot, lambda: "intact" in str(app.screen.query_one("#chain").render()), what="verification")
        app.screen.query_one("#param-node").focus()
        await pilot.press(*"gpu021", "enter")
        audit = table(app, "#audit-table")
        await wait_for(
            pilot,
            lambda: audit.total_count and all(r["targets"] == "gpu021" for r in audit.visible_rows),
            what="the node's records",
        )
        assert {r["event"] for r in audit.visible_rows} >= {"received", "started", "step", "finished"}
        assert audit.has_focus
        audit.move_to_key(next(r["seq"] for r in audit.visible_rows if r["event"] == "finished"))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen), what="the record detail")
        assert app.screen.record["outcome"] == "ok" and app.screen.record["hash"]


async def test_command_line_completion_and_one_line_errors(config) -> None:
    app = DcopsApp(config(), principal="unix:alice")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.engine is not None and app.node_names(), what="the engine")
        await pilot.press("colon", "d", "r", "tab")
        bar = app.screen.query_one("#command")
        assert bar.input.value == "drain"
        await pilot.press("space", *"gpu06", "tab")
        assert bar.input.value.startswith("drain gpu06")
        await pilot.press("ctrl+u", *"drain gpu[0 --reason x", "enter")
        await wait_for(pilot, lambda: "malformed hostlist" in status_text(app), what="the hostlist error")
        await pilot.press("colon", *"frobnicate all", "enter")
        await wait_for(pilot, lambda: "unknown action 'frobnicate'" in status_text(app), what="the unknown action")
        assert "\n" not in status_text(app)
        await pilot.press("colon", *"nodes gpu00[1-4]", "enter")  # a read action: its table opens
        await wait_for(pilot, lambda: isinstance(app.screen, ResultScreen), what="the result screen")
        assert table(app, "#result-table").row_count == 4


async def test_jobs_cancel_from_the_row_asks_for_confirmation(config) -> None:
    app = DcopsApp(config(), principal="unix:alice")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, JobsScreen) and table(app, "#jobs-table").total_count,
            what="the job list",
        )
        jobs = table(app, "#jobs-table")
        app.screen.query_one("#param-state").focus()
        await pilot.press(*"RUNNING", "enter")
        await wait_for(
            pilot,
            lambda: jobs.total_count and all(r["state"] == "RUNNING" for r in jobs.visible_rows),
            what="running jobs only",
        )
        job_id = jobs.cursor_row["job"]
        await pilot.press("c")
        await confirm_ready(pilot)
        await pilot.press("1", "enter")
        await wait_for(pilot, lambda: "cancel: ok" in status_text(app), what="the cancel run")
        await wait_for(pilot, lambda: job_id not in {r["job"] for r in jobs.visible_rows}, what="the job to leave")


async def test_operations_screen_shows_per_node_steps(config) -> None:
    app = DcopsApp(config(), principal="unix:alice")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.engine is not None, what="the engine")
        await pilot.press("colon", *"resume gpu[030-032]", "enter")
        await wait_for(pilot, lambda: "resume: ok" in status_text(app), what="the run")
        await pilot.press("3")
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, OperationsScreen) and table(app, "#steps-table").total_count == 3,
            what="the steps",
        )
        runs = table(app, "#runs-table")
        assert runs.cursor_row["action"] == "resume" and runs.cursor_row["state"] == "ok"
        steps = table(app, "#steps-table").visible_rows
        assert [s["target"] for s in steps] == ["gpu030", "gpu031", "gpu032"]
        assert all(s["status"] == "ok" and s["bar"] == "█" * 10 for s in steps)
        await pilot.press("c")
        assert "is not running" in status_text(app)


async def test_help_lists_only_what_the_principal_may_run(config) -> None:
    for principal, drain_listed in (("unix:alice", True), ("unix:viewer", False)):
        app = DcopsApp(config(), principal=principal)
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: app.engine is not None, what="the engine")  # noqa: B023 - awaited here
            await pilot.press("question_mark")
            await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), what="help")  # noqa: B023 - awaited here
            names = {s.name for s in app.engine.actions_for(principal)}
            listed = app.screen.listed
            assert set(listed) == names
            assert ("drain" in listed) is drain_listed and "fleet" in listed


async def test_bindings_are_remappable_and_unknown_ids_refused(config) -> None:
    app = DcopsApp(config(tui={"bindings": {"fleet.drain": "D", "app.jobs": "J"}}), principal="unix:alice")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: table(app, "#fleet-table").total_count == 64, what="the fleet")
        await pilot.press("d")  # the old key does nothing now
        await pilot.pause(0.2)
        assert not isinstance(app.screen, ConfirmDialog)
        await pilot.press("D")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog), what="the remapped drain key")
        await pilot.press("escape", "J")
        await wait_for(pilot, lambda: isinstance(app.screen, JobsScreen), what="the remapped jobs key")
    with pytest.raises(ConfigError, match="unknown binding id 'fleet.nuke'"):
        DcopsApp(config(tui={"bindings": {"fleet.nuke": "N"}}), principal="unix:alice")


async def test_production_read_only_and_pinned_theme(config) -> None:
    cfg = config(name="prod-east", production=True, read_only=True, theme="dcops-contrast")
    app = DcopsApp(cfg, principal="unix:alice", theme="dcops-light")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: table(app, "#fleet-table").total_count == 64, what="the fleet")
        assert app.theme == "dcops-contrast"
        assert "pins theme dcops-contrast" in status_text(app)
        banner = str(app.screen.query_one(Banner).render())
        assert "prod-east" in banner and "PRODUCTION" in banner and "READ-ONLY" in banner
        assert app.screen.has_class("-production")
        await pilot.press("colon", *"resume gpu001", "enter")
        await wait_for(pilot, lambda: "read-only mode" in status_text(app), what="the read-only refusal")


async def test_palette_lists_every_action_and_prefills_the_command_line(config) -> None:
    from textual.command import CommandPalette

    app = DcopsApp(config(), principal="unix:viewer")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.engine is not None, what="the engine")
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette), what="the palette")
        await pilot.press(*"action: drain")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await wait_for(pilot, lambda: not isinstance(app.screen, CommandPalette), what="the palette to close")
        bar = app.screen.query_one("#command")
        assert bar.has_class("-open") and bar.input.value == "drain "
    # every action is listed; ones the principal may not run say why
    from dcops.console.tui.palette import ActionCommands

    app = DcopsApp(config(), principal="unix:viewer")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.engine is not None, what="the engine")
        entries = {title: help_text for title, help_text, _ in ActionCommands(app.screen)._entries()}
        from dcops.actions import registry

        assert {f"action: {n}" for n in registry.names()} <= set(entries)
        assert "not for you: denied: no role of unix:viewer allows drain" in entries["action: drain"]
        assert "not for you" not in entries["action: fleet"]


async def test_deny_an_approval_with_a_reason(config) -> None:
    cfg = config(policy=APPROVAL_POLICY)
    alice = DcopsApp(cfg, principal="unix:alice")
    async with alice.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: alice.engine is not None, what="the engine")
        await pilot.press("colon", *'drain gpu011 --reason "fan"', "enter")
        await type_confirmation(pilot, "gpu011")
        await wait_for(pilot, lambda: "approval" in status_text(alice), what="the approval notice")
    bob = DcopsApp(cfg, principal="unix:bob")
    async with bob.run_test(size=SIZE) as pilot:
        await open_approvals(bob, pilot)
        await pilot.press("x")
        await pilot.pause(0.2)
        await pilot.press(*"not during the run", "enter")
        await wait_for(pilot, lambda: status_text(bob).startswith("denied a-"), what="the denial")
        refused = await audit(bob, AuditQuery(event="approval-refused"))
        assert len(refused) == 1 and refused[0].principal == "unix:bob"
        assert refused[0].detail.endswith(": not during the run")
        assert await audit(bob, AuditQuery(action="drain", event="started")) == []
        await wait_for(pilot, lambda: table(bob, "#approvals-table").row_count == 0, what="the list to empty")


async def test_metrics_canned_query_charts_and_health_view(config) -> None:
    from textual.widgets import Select

    from dcops.console.tui.screens.metrics import MetricsScreen

    app = DcopsApp(config(), principal="unix:alice")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.engine is not None and app.node_names(), what="the engine")
        await pilot.press("6")
        await wait_for(pilot, lambda: isinstance(app.screen, MetricsScreen), what="metrics")
        select = app.screen.query_one("#canned", Select)
        select.value = "max by (Hostname) (DCGM_FI_DEV_GPU_TEMP)"
        metrics = table(app, "#metrics-table")
        await wait_for(pilot, lambda: metrics.total_count == 64, what="one series per node")
        assert "64 series" in str(app.screen.query_one("#metrics-summary").render())
        assert app.screen.query_one("#promql").value == "max by (Hostname) (DCGM_FI_DEV_GPU_TEMP)"
        select.value = "action:fabric-health"
        await wait_for(pilot, lambda: "port" in {c.key for c in metrics.columns}, what="the fabric table")
        verdicts = {r["verdict"] for r in metrics.all_rows}
        assert "bad cable" in verdicts
        await pilot.press("colon", *"query sum(", "enter")  # bad PromQL: one line, no traceback
        await wait_for(pilot, lambda: app.last_message[1] == "error", what="the PromQL error")
        assert "\n" not in app.last_message[0]

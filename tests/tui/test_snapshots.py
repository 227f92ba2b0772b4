"""SVG snapshots of every screen in each theme at 160x50 (and at 100x30), on a frozen demo cluster (fixed clock,
audit times, run and approval ids), so a changed pixel means a changed UI."""

from __future__ import annotations

import pytest

from dcops.console.tui.app import DcopsApp
from dcops.console.tui.screens.approvals import ApprovalsScreen
from dcops.console.tui.screens.audit import AuditScreen
from dcops.console.tui.screens.jobs import JobsScreen
from dcops.console.tui.screens.metrics import MetricsScreen
from dcops.console.tui.screens.node import NodeScreen
from dcops.console.tui.screens.operations import OperationsScreen
from dcops.console.tui.widgets.vtable import VirtualTable

from .conftest import APPROVAL_POLICY, SIZE, confirm_ready, type_confirmation, wait_for

THEMES = ("dcops-dark", "dcops-light", "dcops-contrast")


def _table(app, selector: str) -> VirtualTable:
    return app.screen.query_one(selector, VirtualTable)


async def _fleet_loaded(pilot) -> None:
    """Every plane in: the Slurm rows come first, the fleet action's columns after."""
    app = pilot.app
    await wait_for(
        pilot,
        lambda: (
            app.screen.query("#fleet-table")
            and _table(app, "#fleet-table").total_count == 64
            and "loading" not in str(app.screen.query_one("#fleet-summary").render())
        ),
        what="the fleet",
    )


async def _run(pilot, command: str, done: str, confirm: str | None = None) -> None:
    """Run a command, then wait for the fleet's reload that follows it, so the audit log holds the
    same records in the same order on every run."""
    await pilot.press("colon", *command, "enter")
    if confirm is not None:
        await type_confirmation(pilot, confirm)
    await wait_for(pilot, lambda: done in pilot.app.last_message[0], what=command)
    runs = pilot.app.engine.runs
    if done != "approval":
        await wait_for(pilot, lambda: [r.action for r in runs()].count("fleet") == 2, what="the fleet reload")
    await wait_for(pilot, lambda: not any(r.active for r in runs()), what="quiet")


async def fleet(pilot) -> None:
    await _fleet_loaded(pilot)
    await pilot.press("down", "space", "down", "space")


async def node(pilot) -> None:
    await _fleet_loaded(pilot)
    _table(pilot.app, "#fleet-table").move_to_key("gpu017")
    await pilot.press("enter")
    await wait_for(
        pilot,
        lambda: (
            isinstance(pilot.app.screen, NodeScreen)
            and "change record(s)" in str(pilot.app.screen.query_one("#summary-audit").render())
        ),
        what="node tabs",
    )


async def jobs(pilot) -> None:
    await _fleet_loaded(pilot)
    await pilot.press("2")
    await wait_for(
        pilot,
        lambda: isinstance(pilot.app.screen, JobsScreen) and _table(pilot.app, "#jobs-table").total_count,
        what="jobs",
    )


async def operations(pilot) -> None:
    await _fleet_loaded(pilot)
    await _run(pilot, "resume gpu[030-032]", "resume: ok")
    await _fleet_loaded(pilot)
    await pilot.press("3")
    await wait_for(
        pilot,
        lambda: isinstance(pilot.app.screen, OperationsScreen) and _table(pilot.app, "#steps-table").total_count == 3,
        what="the run's steps",
    )


async def audit(pilot) -> None:
    await _fleet_loaded(pilot)
    await _run(pilot, "resume gpu021", "resume: ok")
    await _fleet_loaded(pilot)
    await pilot.press("4")
    await wait_for(
        pilot,
        lambda: (
            isinstance(pilot.app.screen, AuditScreen) and "intact" in str(pilot.app.screen.query_one("#chain").render())
        ),
        what="the audit chain",
    )


async def approvals(pilot) -> None:
    await _fleet_loaded(pilot)
    await _run(pilot, 'drain gpu[040-041] --reason "psu swap"', "approval", confirm="2")
    await pilot.press("5")
    await wait_for(
        pilot,
        lambda: (
            isinstance(pilot.app.screen, ApprovalsScreen) and _table(pilot.app, "#approvals-table").total_count == 1
        ),
        what="the pending approval",
    )


async def metrics(pilot) -> None:
    await _fleet_loaded(pilot)
    await pilot.press("6")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, MetricsScreen), what="metrics")
    pilot.app.screen.query_one("#promql").value = 'max by (Hostname) (DCGM_FI_DEV_GPU_TEMP{Hostname=~"gpu00[1-4]"})'
    pilot.app.screen.action_run_query()
    await wait_for(pilot, lambda: _table(pilot.app, "#metrics-table").total_count == 4, what="the query")


SCREENS = {
    "fleet": fleet,
    "node": node,
    "jobs": jobs,
    "operations": operations,
    "audit": audit,
    "approvals": approvals,
    "metrics": metrics,
}


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("screen", list(SCREENS))
def test_screen_snapshot(screen: str, theme: str, snap_compare, frozen, config) -> None:
    cfg = config(name="demo", policy=APPROVAL_POLICY if screen == "approvals" else None)
    app = DcopsApp(cfg, principal="unix:alice", theme=theme, engine_factory=frozen)
    assert snap_compare(app, terminal_size=SIZE, run_before=SCREENS[screen])


async def drain_dialog(pilot) -> None:
    await _fleet_loaded(pilot)
    _table(pilot.app, "#fleet-table").move_to_key("gpu017")
    await pilot.press("d")
    await confirm_ready(pilot)  # the plan (state and jobs now) is read when the dialog opens
    await pilot.press(*"xid 79", "enter")


def test_production_cluster_with_drain_dialog(snap_compare, frozen, config) -> None:
    """The safety cues: production border and banner, the typed-confirmation dialog."""
    cfg = config(name="prod-east", production=True)
    app = DcopsApp(cfg, principal="unix:alice", engine_factory=frozen)
    assert snap_compare(app, terminal_size=SIZE, run_before=drain_dialog)


NARROW = (100, 30)


@pytest.mark.parametrize("screen", list(SCREENS))
def test_screen_snapshot_at_100x30(screen: str, snap_compare, frozen, config) -> None:
    """The same screens on a 100x30 terminal: important columns first, nothing cut mid-header."""
    cfg = config(name="demo", policy=APPROVAL_POLICY if screen == "approvals" else None)
    app = DcopsApp(cfg, principal="unix:alice", engine_factory=frozen)
    assert snap_compare(app, terminal_size=NARROW, run_before=SCREENS[screen])


def test_drain_dialog_at_100x30(snap_compare, frozen, config) -> None:
    """The drain dialog with its re-read plan fits a 100x30 terminal."""
    app = DcopsApp(config(name="prod-east", production=True), principal="unix:alice", engine_factory=frozen)
    assert snap_compare(app, terminal_size=NARROW, run_before=drain_dialog)

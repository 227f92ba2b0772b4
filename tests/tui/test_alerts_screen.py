"""Pilot tests of the Alerts screen on the demo cluster: with alerting configured the console opens
on it when an alert fires (the receiver being another process sharing the audit log), the evidence
is shown under the alert, ``d`` drains with the alert's fingerprint in the audit, a destructive
suggestion goes through the confirm dialog, and the fleet marks the node."""

from __future__ import annotations

from dcops.actions.alerts import AlertInbox
from dcops.actions.config.alerts import AlertmanagerSection
from dcops.actions.engine import Engine
from dcops.actions.rbac import Policy
from dcops.actions.sim import SimCluster
from dcops.actions.store.base import AuditQuery
from dcops.actions.store.sqlite import SqliteStore
from dcops.console.tui.app import DcopsApp
from dcops.console.tui.screens.confirm import ConfirmDialog
from dcops.console.tui.widgets.chrome import StatusLine

from .conftest import SIZE, audit, confirm_ready, wait_for


async def _receive(cfg, node: str, fp: str) -> None:  # noqa: ANN001 - as `dcops alerts serve` would
    eng = Engine(
        cfg,
        SimCluster(nodes=64).backends(),
        SqliteStore(cfg.audit.effective_url().removeprefix("sqlite:///")),
        Policy.demo(),
    )
    await eng.start()
    try:
        await AlertInbox(eng).receive(
            {
                "version": "4",
                "status": "firing",
                "receiver": "dcops",
                "alerts": [
                    {
                        "status": "firing",
                        "labels": {"alertname": "GpuXidMemory", "node": node, "gpu": "2", "severity": "critical"},
                        "annotations": {"summary": f"{node} GPU 2: XID 48 (ECC / row remap)"},
                        "startsAt": "2026-12-04T03:00:00Z",
                        "fingerprint": fp,
                    }
                ],
            }
        )
    finally:
        await eng.aclose()


async def test_alert_first_evidence_and_one_key_drain(config) -> None:
    cfg = config().model_copy(update={"alertmanager": AlertmanagerSection()})
    await _receive(cfg, "gpu060", "beef0060")
    app = DcopsApp(cfg, principal="unix:alice")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.current_mode == "alerts", what="the Alerts screen first", timeout=45)
        screen = app.screen
        await wait_for(pilot, lambda: screen.current() is not None, what="the alert row", timeout=45)
        await wait_for(
            pilot,
            lambda: "gpu-health gpu060:" in str(screen.query_one("#alerts-detail").render()),
            what="the evidence",
            timeout=45,
        )
        assert "b  Reset GPU: gpu-reset gpu060 --gpu 2" in str(screen.query_one("#alerts-detail").render())

        await pilot.press("b")  # gpu-reset (b: r resumes everywhere); destructive: confirm
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog), what="the confirm dialog", timeout=45)
        await pilot.press("escape")
        await wait_for(
            pilot,
            lambda: "cancelled" in str(app.screen.query_one(StatusLine).render()),
            what="the cancellation line",
            timeout=45,
        )

        await pilot.press("d")  # one key: the drain the alert suggests
        await confirm_ready(pilot, timeout=45)
        await pilot.press("1", "enter")  # the same guard as the fleet's d and :drain
        for _ in range(900):  # the run finishes on the engine's thread
            finished = await audit(app, AuditQuery(action="drain", event="finished", node="gpu060"))
            if finished:
                break
            await pilot.pause(0.05)
        assert finished and finished[0].outcome == "ok"
        started = await audit(app, AuditQuery(action="drain", event="started", node="gpu060"))
        assert started[0].principal == "unix:alice" and started[0].channel == "tui"
        assert started[0].detail.endswith("; from alert beef0060")
        evidence = await audit(app, AuditQuery(action="gpu-health", event="received", node="gpu060"))
        assert evidence and evidence[0].detail == "from alert beef0060"

        await pilot.press("1")  # the fleet marks the node
        await wait_for(
            pilot,
            lambda: any(
                r.get("alerts") == "GpuXidMemory" and r["node"] == "gpu060"
                for r in app.screen.query_one("#fleet-table").all_rows
            ),
            what="the fleet's ALERTS mark",
            timeout=60,
        )


async def test_unknown_node_alert_is_listed_without_actions(config) -> None:
    cfg = config().model_copy(update={"alertmanager": AlertmanagerSection()})
    await _receive(cfg, "ghost9", "beef0009")
    app = DcopsApp(cfg, principal="unix:alice")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.current_mode == "alerts", what="the Alerts screen first", timeout=45)
        screen = app.screen
        await wait_for(pilot, lambda: screen.current() is not None, what="the alert row", timeout=45)
        assert "not a node dcops knows" in str(screen.query_one("#alerts-detail").render())
        assert screen.table.cursor_row["node"] == "ghost9 (unknown)"
        await pilot.press("d")
        await wait_for(
            pilot,
            lambda: "no actions offered" in str(app.screen.query_one(StatusLine).render()),
            what="the refusal line",
            timeout=45,
        )

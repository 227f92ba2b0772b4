"""The loop in the TUI on the real lab, driven with Textual's Pilot: a rule fires in real Prometheus,
real Alertmanager posts it to dcops' receiver (as `dcops alerts serve` would, sharing the audit
log), the console opens on the Alerts screen with the evidence, ``d`` drains the node on real Slurm
with a silence on real Alertmanager, ``v`` validates it over real SSH, and ``:resume --validate``
returns it and expires the silence. Keys from the alert to the audited drain are counted."""

from __future__ import annotations

import asyncio
import time

from dcops.actions import open_engine
from dcops.actions.alerts import AlertInbox
from dcops.actions.engine import Engine
from dcops.actions.rbac import Policy
from dcops.actions.store.base import AuditQuery
from dcops.bots.alert_webhook import WebhookServer
from dcops.console.tui.app import DcopsApp
from dcops.console.tui.screens.confirm import ConfirmDialog
from tests.lab import alertmanager as lab_am
from tests.lab.metrics.lab import MetricsLab

NODE = "gpu007"


async def until(pilot, check, what: str, timeout: float = 45.0) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return
        await pilot.pause(0.2)
    raise AssertionError(f"timed out waiting for {what}")


async def test_alert_to_audited_drain_in_the_tui(
    receiver: tuple[AlertInbox, WebhookServer],
    lab_engine: Engine,
    am_lab: lab_am.AlertmanagerLab,
    clean_metrics: MetricsLab,
) -> None:
    inbox, _ = receiver
    clean_metrics.set_gpus(NODE, {0: {"xid": 79}})
    deadline = time.monotonic() + 60
    while not [a for a in inbox.alerts() if a.node == NODE] and time.monotonic() < deadline:
        await asyncio.sleep(0.3)
    (alert,) = [a for a in inbox.alerts() if a.node == NODE]

    async def factory(cfg):  # noqa: ANN001, ANN202 - the lab's engine, as `dcops tui --config` opens it
        return await open_engine(cfg, policy=Policy.demo())

    app = DcopsApp(lab_engine.config, principal="unix:root", engine_factory=factory)
    keys = 0
    async with app.run_test(size=(160, 50)) as pilot:
        await until(pilot, lambda: app.current_mode == "alerts", "the console to open on the Alerts screen")
        screen = app.screen
        await until(pilot, lambda: screen.current() is not None and screen.current().node == NODE, "the alert row")
        await until(
            pilot,
            lambda: "gpu-health gpu007:" in str(screen.query_one("#alerts-detail").render()),
            "the evidence under the alert",
        )
        detail = str(screen.query_one("#alerts-detail").render())
        assert "jobs --node gpu007:" in detail and "d  Drain + requeue" in detail

        await pilot.press("d")
        keys += 1
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "the typed confirmation")
        await until(pilot, lambda: not app.screen.checking, "the plan the dialog re-reads from Slurm")
        await pilot.press("1", "enter")  # the same guard as the fleet's d and :drain
        keys += 2

        async def drained() -> bool:
            return (await lab_engine.backends.slurm.nodes([NODE]))[0].drain_flag

        await until(pilot, drained, "the drain on real Slurm")
        await until(pilot, lambda: am_lab.active_silences(NODE), "the silence on real Alertmanager")
        started = [
            r for r in await lab_engine.store.query(AuditQuery(action="drain", event="started")) if r.targets == [NODE]
        ]
        assert started[0].principal == "unix:root" and started[0].channel == "tui"
        assert f"from alert {alert.fingerprint}" in started[0].detail

        await pilot.press("v")

        async def validated() -> bool:
            recs = await lab_engine.store.query(AuditQuery(action="validate", event="finished"))
            return any(r.targets == [NODE] and r.outcome == "ok" for r in recs)

        await until(pilot, validated, "validation over SSH", timeout=60)

        await pilot.press("colon")
        for ch in f"resume {NODE} --validate":
            await pilot.press("space" if ch == " " else ("minus" if ch == "-" else ch))
        await pilot.press("enter")

        async def resumed() -> bool:
            return not (await lab_engine.backends.slurm.nodes([NODE]))[0].drain_flag

        await until(pilot, resumed, "resume --validate", timeout=60)
        await until(pilot, lambda: am_lab.active_silences(NODE) == [], "the silence to expire")
    print(f"\nTUI keys from alert to audited drain: {keys} (the console opened on the alert)")
    assert keys <= 3

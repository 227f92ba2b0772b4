"""Alerts: what Alertmanager says is wrong, firing first and critical first — the screen an on-call
opens the console to. The list is the ``alerts`` read action (the audit log the webhook receiver
writes, so every console sees the same); it refreshes every few seconds.

The pane under the table shows the alert under the cursor: its summary, the evidence its mapping
names (gpu-health of the node, the jobs on it, triage-cable of the link — run through the engine as
you, audited with the alert's fingerprint) and its suggested actions with their keys. A key runs
that suggestion through the engine as you, with the fingerprint; the keys are the console's one key
per action (``bindings.ACTION_KEYS``: ``d`` drain, ``v`` validate, ``b`` gpu-reset, ``t``
triage-cable, ``p`` power, ``z`` reset-counters, ...), ``f`` the first suggestion, ``e`` reloads the
evidence; the pane lists the keys of what the alert under the cursor suggests (a key of an action it
does not suggest says so on the status line). Confirmation and approval come from the engine as for
any request.
"""

from __future__ import annotations

import asyncio
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.widgets import Static

from dcops.actions import parse_command
from dcops.actions.alerts import Alert, AlertMapping, Playbook, Suggestion, load_mapping

from ..bindings import ACTION_KEYS, FOLLOWUP_KEY, alerts_bindings
from ..widgets import cells
from ..widgets.vtable import Column, VirtualTable
from .base import DcopsScreen

ALERT_COLUMNS = (
    Column("status", "STATUS", 9, cells.outcome_cell),
    Column("severity", "SEVERITY", 9),
    Column("alertname", "ALERT", 22),
    Column("node", "NODE", 12),
    Column("summary", "SUMMARY", 50, cells.muted_cell),
    Column("since", "SINCE", 19, cells.muted_cell),
    Column("fingerprint", "FINGERPRINT", 17, cells.muted_cell),
)
REFRESH = 5.0


class AlertsScreen(DcopsScreen):
    SCREEN_TITLE = "Alerts"
    RELOAD_ON_RUN = True
    BINDINGS = alerts_bindings()
    DEFAULT_CSS = """
    AlertsScreen #alerts-summary { height: 1; padding: 0 1; color: $muted; }
    AlertsScreen #alerts-table { height: 1fr; }
    AlertsScreen #alerts-detail { height: auto; max-height: 16; padding: 0 1; border-top: solid $muted; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.alerts: dict[str, Alert] = {}
        self.evidence: dict[str, list[str]] = {}
        self.show_resolved = False
        self._mapping: AlertMapping | None = None

    def compose_body(self) -> ComposeResult:
        yield Static("loading alerts…", id="alerts-summary")
        yield VirtualTable(
            ALERT_COLUMNS,
            key="fingerprint",
            id="alerts-table",
            flex="summary",
            drop_first=("fingerprint", "since", "status"),
        )
        yield Static("", id="alerts-detail")

    @property
    def table(self) -> VirtualTable:
        return self.query_one("#alerts-table", VirtualTable)

    def on_mount(self) -> None:
        super().on_mount()
        self.table.focus()
        self.set_interval(REFRESH, self.reload)

    def mapping(self) -> AlertMapping:
        if self._mapping is None:
            self._mapping = load_mapping(self.dcops.config.alerts.mapping)
        return self._mapping

    def playbook(self, alert: Alert) -> Playbook | None:
        return self.mapping().for_alert(
            alert.labels,
            node=alert.node or "",
            summary=alert.summary,
            fingerprint=alert.fingerprint,
            starts_at=alert.starts_at,
            severity=alert.severity,
        )

    async def load(self) -> None:
        result = await self.dcops.read("alerts", {"all": True} if self.show_resolved else {})
        if result is None or not isinstance(result.data, list):
            return
        self.alerts = {d["fingerprint"]: Alert.from_json(d) for d in result.data}
        rows = [
            {
                "status": a.status,
                "severity": a.severity,
                "alertname": a.name,
                "node": (a.node or "?") + ("" if a.known_node is not False else " (unknown)"),
                "summary": a.summary,
                "since": a.starts_at[:19].replace("T", " "),
                "fingerprint": a.fingerprint,
            }
            for a in self.alerts.values()
        ]
        self.table.set_rows(rows)
        self.query_one("#alerts-summary", Static).update(
            f"{result.summary} · {FOLLOWUP_KEY} first suggestion, e evidence (keys per alert below)"
        )
        self._show_detail()

    def current(self) -> Alert | None:
        row = self.table.cursor_row
        return self.alerts.get(str(row["fingerprint"])) if row is not None else None

    @on(VirtualTable.Highlighted, "#alerts-table")
    def _moved(self, event: VirtualTable.Highlighted) -> None:
        self._show_detail()

    def _show_detail(self) -> None:
        alert = self.current()
        detail = self.query_one("#alerts-detail", Static)
        if alert is None:
            detail.update("no alert" if not self.alerts else "")
            return
        pb = self.playbook(alert)
        lines = [
            f"[b]{alert.name}[/b] on [b]{alert.node or '?'}[/b] ({alert.severity or '?'}, {alert.status}): "
            f"{_esc(alert.summary)}"
        ]
        if alert.known_node is False:
            lines.append("[i]not a node dcops knows: shown, no actions offered[/i]")
        grafana = getattr(getattr(self.app, "config", None), "grafana", None)
        if grafana is not None and alert.node:  # [grafana] url_template: the node's dashboard
            lines.append(f"  {_esc(grafana.label)}: {_esc(grafana.url(alert.node, gpu=alert.labels.get('gpu')))}")
        ev = self.evidence.get(alert.fingerprint)
        if ev is None and pb is not None and pb.evidence and alert.known_node:
            lines.append("[i]evidence loading…[/i]")
            self._gather(alert)
        for line in ev or []:
            lines.append(f"  {line}")
        if pb is not None and alert.known_node and alert.firing:
            for i, s in enumerate(pb.actions):
                key = ACTION_KEYS.get(s.action) or (FOLLOWUP_KEY if i == 0 else " ")
                lines.append(f"  [b]{key}[/b]  {_esc(s.label)}: {_esc(s.line)}")
            if pb.ticket:
                lines.append(f"  ticket: {_esc(pb.ticket)}")
        detail.update("\n".join(lines))

    @work(group="alert-evidence", exit_on_error=False)
    async def _gather(self, alert: Alert) -> None:
        pb = self.playbook(alert)
        if pb is None:
            return
        self.evidence[alert.fingerprint] = []

        async def one(words: list[str]) -> str:
            cmd = parse_command(words)
            result = await self.dcops.read(cmd.action, cmd.params, alert=alert.fingerprint)
            return (
                f"{'✓' if result is not None and result.ok else '✗'} {' '.join(words)}: "
                f"{_esc(result.summary) if result is not None else 'refused or failed (see status)'}"
            )

        self.evidence[alert.fingerprint] = list(await asyncio.gather(*(one(w) for w in pb.evidence)))
        self._show_detail()

    def action_evidence(self) -> None:
        alert = self.current()
        if alert is not None:
            self.evidence.pop(alert.fingerprint, None)
            self._show_detail()

    def action_show_all(self) -> None:
        self.show_resolved = not self.show_resolved
        self.reload()

    def _suggestion(self, action: str) -> tuple[Alert, Suggestion] | None:
        alert = self.current()
        if alert is None:
            self.status("no alert under the cursor", "warning")
            return None
        pb = self.playbook(alert)
        if not alert.firing or alert.known_node is False or pb is None:
            self.status(
                f"{alert.name} on {alert.node}: no actions offered ({'resolved' if not alert.firing else 'unknown node'})",
                "warning",
            )
            return None
        found = next((s for s in pb.actions if not action or s.action == action), None)
        if found is None:
            self.status(
                f"{alert.name} suggests no {action or 'action'} (it suggests: "
                f"{', '.join(s.action for s in pb.actions) or 'nothing'})",
                "warning",
            )
        return (alert, found) if found else None

    @work(group="alert-action", exit_on_error=False)
    async def action_suggested(self, action: str) -> None:
        picked = self._suggestion(action)
        if picked is None:
            return
        alert, s = picked
        cmd = parse_command(s.command)
        if not self.dcops.allowed(cmd.action):
            return
        async with self.dcops.guarded(s.line):
            await self.dcops.execute(cmd.action, cmd.params, alert=alert.fingerprint)


def _esc(text: Any) -> str:
    return str(text).replace("[", r"\[")

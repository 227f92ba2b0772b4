"""The alert inbox: every delivery from Alertmanager lands here, from whichever front end received
it (the Slack bot's process or ``dcops alerts serve``).

- Deduplicated by fingerprint: Alertmanager re-sends a whole group on every change and every
  ``repeat_interval``; a fingerprint already seen in the same status since the same start is a
  repeat, counted and not recorded again.
- Audited: each new alert state is one ``received`` record (principal ``alertmanager:<receiver>``,
  channel ``webhook``, action ``alert``, the node as target, the fingerprint and labels as params).
  A refused delivery (bad credentials, malformed body) is audited by :meth:`refuse`.
- Never dropped: an alert for a node dcops does not know is kept and shown (``known_node=False``).
- Shared state is the audit log: :meth:`load` rebuilds the inbox from it at start, so a restarted
  receiver does not audit repeats again, and ``dcops alerts`` in another process lists the same.
- Auto-remediation is off unless the RBAC policy binds the principal ``alert:<alertname>`` to a
  role allowing a suggested action: then that action is submitted as that principal (audited as
  done by the rule on behalf of the alert, fingerprint recorded). Destructive actions never run
  this way (nobody typed the confirmation); those needing approval wait for a person.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from ..errors import ApprovalRequired, ConfirmationRequired, DcopsError
from ..grammar import parse_command
from ..redact import redact
from ..request import Request
from ..store.base import AuditEntry, AuditQuery
from .mapping import AlertMapping, Playbook, Suggestion, load_mapping
from .model import Alert, parse_payload

if TYPE_CHECKING:
    from ..engine import Engine

log = logging.getLogger("dcops.alerts")
_SEVERITY = {"critical": 0, "warning": 1, "info": 2}
Listener = Callable[[Alert, "Playbook | None"], Any]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


@dataclass
class ReceiveReport:
    receiver: str
    new: list[Alert] = field(default_factory=list)
    repeats: int = 0
    auto_runs: list[str] = field(default_factory=list)  # run ids started by auto-remediation

    @property
    def line(self) -> str:
        unknown = [a.node or "?" for a in self.new if a.known_node is False]
        return f"{len(self.new)} new alert state(s), {self.repeats} repeat(s)" + (
            f"; unknown node(s): {', '.join(unknown)}" if unknown else ""
        )


class AlertInbox:
    def __init__(self, engine: Engine, *, mapping: AlertMapping | None = None) -> None:
        self.engine = engine
        site = engine.config.alerts.mapping if getattr(engine.config, "alerts", None) else None
        self.mapping = mapping or load_mapping(site)
        self._alerts: dict[str, Alert] = {}
        self._listeners: list[Listener] = []
        self._lock = asyncio.Lock()

    # ---------------------------------------------------------------- state
    async def load(self, hours: float = 24.0) -> int:
        """Rebuild from the audit log (newest state per fingerprint); returns how many alerts."""
        recs = await self.engine.store.query(
            AuditQuery(
                action="alert",
                event="received",
                since=datetime.now(UTC) - timedelta(hours=hours),
                limit=20000,
                newest_first=False,
            )
        )
        for r in recs:
            if r.channel != "webhook" or "fingerprint" not in r.params:
                continue
            try:
                alert = Alert.from_json(r.params)
            except (KeyError, TypeError):
                continue
            self._alerts[alert.fingerprint] = alert
        return len(self._alerts)

    def alerts(self, *, include_resolved: bool = False, node: str | None = None) -> list[Alert]:
        """Firing first, critical first, newest first."""
        found = [
            a for a in self._alerts.values() if (include_resolved or a.firing) and (node is None or a.node == node)
        ]
        return sorted(found, key=lambda a: (not a.firing, _SEVERITY.get(a.severity, 3), _neg(a.starts_at)))

    def get(self, fingerprint: str) -> Alert | None:
        return self._alerts.get(fingerprint)

    def playbook(self, alert: Alert) -> Playbook | None:
        return self.mapping.for_alert(
            alert.labels,
            node=alert.node or "",
            summary=alert.summary,
            fingerprint=alert.fingerprint,
            starts_at=alert.starts_at,
            severity=alert.severity,
        )

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(alert, playbook)`` for every new alert state (sync or async)."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    # ---------------------------------------------------------------- requests from an alert
    def request_for(
        self,
        alert: Alert,
        suggestion: Suggestion | list[str],
        *,
        principal: str,
        channel: str,
        confirm: str | None = None,
    ) -> Request:
        """The engine request for a suggested action, with the alert's fingerprint in it."""
        words = suggestion.command if isinstance(suggestion, Suggestion) else suggestion
        cmd = parse_command(list(words))
        return Request(
            principal=principal,
            channel=channel,
            action=cmd.action,
            params=cmd.params,
            confirm=confirm,
            alert=alert.fingerprint,
        )

    # ---------------------------------------------------------------- deliveries
    async def receive(self, body: bytes | str | dict[str, Any], *, sender: str = "alertmanager") -> ReceiveReport:
        """Parse, deduplicate, audit and announce one webhook delivery. A malformed body raises
        :class:`PayloadError` (audited as invalid) and changes nothing."""
        try:
            receiver, alerts = parse_payload(body)
        except DcopsError as exc:
            await self.refuse(str(exc), peer=sender, denied=False)
            raise
        report = ReceiveReport(receiver=receiver)
        known = await self._known_nodes()
        principal = f"alertmanager:{receiver or 'webhook'}"
        entries: list[AuditEntry] = []
        async with self._lock:
            for a in alerts:
                old = self._alerts.get(a.fingerprint)
                if old is not None and old.state_key == a.state_key:
                    report.repeats += 1
                    continue
                a = Alert(
                    **{
                        **a.__dict__,
                        "received": _now(),
                        "known_node": (a.node in known) if a.node and known else (False if not a.node else None),
                    }
                )
                self._alerts[a.fingerprint] = a
                report.new.append(a)
                where = a.node or "no node label"
                if a.known_node is False:
                    where += " (not a node dcops knows)"
                entries.append(
                    AuditEntry(
                        ts=_now(),
                        run_id=f"alert-{a.fingerprint}",
                        event="received",
                        principal=principal,
                        channel="webhook",
                        action="alert",
                        targets=[a.node] if a.node else [],
                        params=redact(a.to_json()),
                        owner=self.engine.owner,
                        detail=f"{a.status} {a.name} on {where}: {a.summary} (fingerprint {a.fingerprint})",
                    )
                )
            if entries:
                await self.engine.store.append(entries)
            self._prune()
        for a in report.new:
            pb = self.playbook(a)
            if a.firing and pb is not None and a.known_node:
                report.auto_runs.extend(await self._auto(a, pb))
            await self._announce(a, pb)
        return report

    def _prune(self, keep_hours: float = 24.0) -> None:
        """Forget resolved alerts received more than a day ago (the audit log keeps them)."""
        cutoff = (datetime.now(UTC) - timedelta(hours=keep_hours)).isoformat()
        for fp in [fp for fp, a in self._alerts.items() if not a.firing and a.received and a.received < cutoff]:
            del self._alerts[fp]

    async def _known_nodes(self) -> set[str]:
        """The inventory's names (cached for its TTL); empty when no backend answers, and then an
        alert's node is "not checked" rather than "unknown"."""
        try:
            return {n.name for n in await self.engine.inventory.nodes()}
        except DcopsError as exc:
            log.warning("inventory unavailable while receiving alerts: %s", exc)
            return set(self.engine.node_names())

    async def refuse(self, reason: str, *, peer: str, denied: bool = True) -> None:
        """Audit a delivery that was not accepted (forged / unauthenticated, or malformed)."""
        await self.engine.reject(
            f"webhook:{peer}" if ":" not in peer else peer, "webhook", "alert", reason, denied=denied
        )

    async def _announce(self, alert: Alert, pb: Playbook | None) -> None:
        for listener in list(self._listeners):
            try:
                out = listener(alert, pb)
                if inspect.isawaitable(out):
                    await out
            except Exception:  # one broken front end must not lose the alert for the others
                log.exception("alert listener failed for %s", alert.fingerprint)

    async def _auto(self, alert: Alert, pb: Playbook) -> list[str]:
        """Run the suggestions the policy explicitly allows ``alert:<alertname>`` to run."""
        principal = f"alert:{alert.name}"
        started: list[str] = []
        for s in pb.actions:
            try:
                req = self.request_for(alert, s, principal=principal, channel="auto")
                if not self.engine.registry.get(req.action).mutating:
                    continue  # reads are evidence, not remediation
                decision, _ = await self.engine.explain(principal, req.action, alert.node or "")
            except DcopsError:
                continue
            if not decision.allowed:
                continue
            try:
                run = await self.engine.submit(req)
            except (ConfirmationRequired, ApprovalRequired) as exc:
                log.info("auto-remediation of %s stopped at %s: %s", alert.fingerprint, req.action, exc)
                continue
            except DcopsError as exc:
                log.warning("auto-remediation of %s: %s refused: %s", alert.fingerprint, req.action, exc)
                continue
            started.append(run.run_id)
        return started


def _neg(ts: str) -> str:
    """Sort key for newest first on ISO strings."""
    return "".join(chr(0x10FFFF - ord(c)) for c in ts)

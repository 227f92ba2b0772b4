"""Gather an alert's evidence: its mapping's read-only commands (gpu-health of the node, triage-cable
of the link, the jobs on the node) run through the engine like any request — RBAC-decided and
audited, with the alert's fingerprint — as the person looking (TUI) or as ``alert:<alertname>``
for messages posted on the alert's arrival (Slack), which the policy binds to a read role."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import DcopsError
from ..events import Table
from .mapping import Playbook
from .model import Alert

if TYPE_CHECKING:
    from .inbox import AlertInbox

TIMEOUT = 30.0


@dataclass(frozen=True)
class Evidence:
    command: str
    ok: bool
    summary: str
    table: Table | None = None


async def _one(inbox: AlertInbox, alert: Alert, words: list[str], principal: str, channel: str) -> Evidence:
    line = " ".join(words)
    try:
        req = inbox.request_for(alert, words, principal=principal, channel=channel)
        spec = inbox.engine.registry.get(req.action)
        if spec.mutating:
            return Evidence(line, False, "not evidence: a mutating action (fix the alert mapping)")
        run = await inbox.engine.submit(req)
        finished = await asyncio.wait_for(run.wait(), TIMEOUT)
    except TimeoutError:
        return Evidence(line, False, f"no answer within {TIMEOUT:.0f} s")
    except DcopsError as exc:
        return Evidence(line, False, str(exc))
    res = run.result
    if res is None:
        return Evidence(line, False, finished.summary or finished.outcome)
    return Evidence(line, res.ok, res.summary, res.table)


async def gather(
    inbox: AlertInbox, alert: Alert, playbook: Playbook | None, *, principal: str, channel: str
) -> list[Evidence]:
    if playbook is None or not alert.known_node:
        return []
    return list(await asyncio.gather(*(_one(inbox, alert, w, principal, channel) for w in playbook.evidence)))

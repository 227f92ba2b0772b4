"""``alerts``: the Alertmanager alerts dcops received (newest state per fingerprint, firing first),
read from the audit log so every process (the receiver, the bot, a CLI, the TUI) sees the same;
``silences``: the Alertmanager silences dcops made, with the run that made each (a silence whose run
was interrupted shows up here until ``resume`` expires it)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta, UTC

from pydantic import Field

from ..alerts.model import Alert
from ..backends.ports import AlertmanagerPort
from ..context import ActionContext
from ..events import ActionEvent, Result, Table
from ..registry import Kind, Params, TargetKind, action
from ..store.base import AuditQuery
from ..timespec import TimePoint
from ..alerts.leftovers import dcops_silences

_SEVERITY = {"critical": 0, "warning": 1, "info": 2}


class AlertsParams(Params):
    node: str | None = Field(None, description="only alerts about this node")
    all: bool = Field(False, description="resolved alerts too")
    since: TimePoint | None = Field(None, description="received since (default 24h)")


def fold(records) -> dict[str, Alert]:  # noqa: ANN001 - AuditRecords, oldest first
    """Newest received state per fingerprint."""
    out: dict[str, Alert] = {}
    for r in records:
        if r.channel != "webhook" or "fingerprint" not in r.params:
            continue
        try:
            out[r.params["fingerprint"]] = Alert.from_json(r.params)
        except (KeyError, TypeError):
            continue
    return out


@action("alerts", example="alerts --all", help="Alertmanager alerts dcops received: firing first, with node and summary",
        params=AlertsParams, kind=Kind.READ, targets=TargetKind.NONE, category="alerts")
async def alerts(ctx: ActionContext, p: AlertsParams) -> AsyncIterator[ActionEvent]:
    since = p.since or datetime.now(UTC) - timedelta(hours=24)
    recs = await ctx.store.query(AuditQuery(action="alert", event="received", since=since, limit=20000,
                                            newest_first=False))
    found = [a for a in fold(recs).values() if (p.all or a.firing) and (p.node is None or a.node == p.node)]
    found.sort(key=lambda a: (not a.firing, _SEVERITY.get(a.severity, 3), a.starts_at), reverse=False)
    rows = [[a.status, a.severity, a.name, (a.node or "?") + ("" if a.known_node is not False else " (unknown)"),
             a.summary, a.starts_at[:19].replace("T", " "), a.fingerprint] for a in found]
    firing = sum(1 for a in found if a.firing)
    yield Result(summary=f"{firing} firing alert(s)" + (f", {len(found) - firing} resolved" if p.all else ""),
                 table=Table(columns=["status", "severity", "alert", "node", "summary", "since", "fingerprint"],
                             rows=rows),
                 data=[a.to_json() for a in found])


class SilencesParams(Params):
    all: bool = Field(False, description="expired ones too")


@action("silences", example="silences", help="Alertmanager silences dcops made (drain --silence), with their runs",
        params=SilencesParams, kind=Kind.READ, targets=TargetKind.NONE, category="alerts")
async def silences(ctx: ActionContext, p: SilencesParams) -> AsyncIterator[ActionEvent]:
    am = ctx.backends.get(AlertmanagerPort)
    rows, data = [], []
    for d in await dcops_silences(am, ctx.store, include_expired=p.all):
        s = d.silence
        rows.append([s.id, s.state, ",".join(f"{k}={v}" for k, v in s.matchers.items()), s.created_by,
                     s.ends_at[:19].replace("T", " "), d.run, d.run_state, d.note or s.comment])
        data.append({**s.model_dump(), "run": d.run, "run_state": d.run_state, "note": d.note})
    yield Result(summary=f"{len(rows)} dcops silence(s)", data=data,
                 table=Table(columns=["id", "state", "matchers", "created by", "ends", "run", "run state", "note / comment"],
                             rows=rows))

"""``alerts``: the Alertmanager alerts dcops received (newest state per fingerprint, firing first),
read from the audit log so every process (the receiver, the bot, a CLI, the TUI) sees the same;
``silences``: the Alertmanager silences dcops made, with the run that made each (a silence whose run
was interrupted shows up here until ``resume`` expires it)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

from pydantic import Field, computed_field

from ..alerts.leftovers import dcops_silences
from ..alerts.model import Alert
from ..backends.ports import AlertmanagerPort
from ..context import ActionContext
from ..events import ActionEvent, Result
from ..registry import Kind, Params, TargetKind, action
from ..result_rows import Row, hidden
from ..store.base import AuditQuery
from ..timespec import TimePoint

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


class AlertRow(Row):
    """One alert as dcops last received it from Alertmanager."""

    TABLE = ("status", "severity", "alert", "node_shown", "summary", "since", "fingerprint")

    status: str = Field(description="firing or resolved")
    severity: str
    alert: str = Field(description="the alertname")
    node: str | None = hidden(None, description="the node it names (None: none)")
    known_node: bool | None = hidden(None, description="False when the node is not in the inventory")
    summary: str
    starts_at: str = hidden("", description="RFC 3339 start time")
    fingerprint: str

    @computed_field(title="node")  # type: ignore[prop-decorator]
    @property
    def node_shown(self) -> str:
        return (self.node or "?") + ("" if self.known_node is not False else " (unknown)")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def since(self) -> str:
        return self.starts_at[:19].replace("T", " ")


class SilenceRow(Row):
    """One Alertmanager silence dcops made, with the run that made it."""

    TABLE = ("id", "state", "matchers_shown", "created_by", "ends", "run", "run_state", "note")

    id: str
    state: str
    matchers: dict[str, str] = hidden({})
    created_by: str
    ends_at: str = hidden("", description="RFC 3339 end time")
    run: str | None = None
    run_state: str | None = None
    note: str = Field(default="", title="note / comment")

    @computed_field(title="matchers")  # type: ignore[prop-decorator]
    @property
    def matchers_shown(self) -> str:
        return ",".join(f"{k}={v}" for k, v in self.matchers.items())

    @computed_field  # type: ignore[prop-decorator]
    @property
    def ends(self) -> str:
        return self.ends_at[:19].replace("T", " ")


@action(
    "alerts",
    example="alerts --all",
    help="Alertmanager alerts dcops received: firing first, with node and summary",
    params=AlertsParams,
    kind=Kind.READ,
    targets=TargetKind.NONE,
    category="alerts",
    rows=AlertRow,
)
async def alerts(ctx: ActionContext, p: AlertsParams) -> AsyncIterator[ActionEvent]:
    since = p.since or datetime.now(UTC) - timedelta(hours=24)
    recs = await ctx.store.query(
        AuditQuery(action="alert", event="received", since=since, limit=20000, newest_first=False)
    )
    found = [a for a in fold(recs).values() if (p.all or a.firing) and (p.node is None or a.node == p.node)]
    found.sort(key=lambda a: (not a.firing, _SEVERITY.get(a.severity, 3), a.starts_at), reverse=False)
    rows = [
        AlertRow(
            status=a.status,
            severity=a.severity,
            alert=a.name,
            node=a.node,
            known_node=a.known_node,
            summary=a.summary,
            starts_at=a.starts_at,
            fingerprint=a.fingerprint,
        )
        for a in found
    ]
    firing = sum(1 for a in found if a.firing)
    yield Result(
        summary=f"{firing} firing alert(s)" + (f", {len(found) - firing} resolved" if p.all else ""),
        rows=rows,
        row_model=AlertRow,
        data=[a.to_json() for a in found],
    )


class SilencesParams(Params):
    all: bool = Field(False, description="expired ones too")


@action(
    "silences",
    example="silences",
    help="Alertmanager silences dcops made (drain --silence), with their runs",
    params=SilencesParams,
    kind=Kind.READ,
    targets=TargetKind.NONE,
    category="alerts",
    rows=SilenceRow,
)
async def silences(ctx: ActionContext, p: SilencesParams) -> AsyncIterator[ActionEvent]:
    am = ctx.backends.get(AlertmanagerPort)
    rows, data = [], []
    for d in await dcops_silences(am, ctx.store, include_expired=p.all):
        s = d.silence
        rows.append(
            SilenceRow(
                id=s.id,
                state=s.state,
                matchers=dict(s.matchers),
                created_by=s.created_by,
                ends_at=s.ends_at,
                run=d.run,
                run_state=d.run_state,
                note=d.note or s.comment,
            )
        )
        data.append({**s.model_dump(), "run": d.run, "run_state": d.run_state, "note": d.note})
    yield Result(summary=f"{len(rows)} dcops silence(s)", data=data, rows=rows, row_model=SilenceRow)

"""Audit review as actions, so the TUI, the CLI and Slack search the same way and the reviews are
themselves RBAC-gated and audited."""

from __future__ import annotations

from collections.abc import AsyncIterator

from pydantic import Field

from ..context import ActionContext
from ..events import ActionEvent, Result, Table
from ..registry import Kind, Params, TargetKind, action
from ..store.base import AuditQuery
from ..timespec import TimePoint

COLUMNS = ["seq", "time", "run", "event", "principal", "channel", "action", "targets", "outcome", "detail"]


class AuditParams(Params):
    since: TimePoint | None = Field(None, description="from this time (2h = two hours ago, or ISO 8601)")
    until: TimePoint | None = Field(None, description="up to this time")
    principal: str | None = Field(None, description="who (unix:alice, slack:U0123; * globs)")
    action: str | None = Field(None, description="which action (drain, firmware-*)")
    node: str | None = Field(None, description="records that name this node")
    outcome: str | None = Field(None, description="ok, failed, cancelled, interrupted, dry-run")
    run: str | None = Field(None, description="one run id")
    event: str | None = Field(None, description="received, denied, started, finished, ...")
    limit: int = Field(200, ge=1, le=100000, description="at most this many records")
    before: int | None = Field(None, ge=1, description="only records older than this seq (the next page)")


def record_row(r) -> list:  # noqa: ANN001 - AuditRecord
    from ..hostlists import collapse

    return [r.seq, r.ts[:23].replace("T", " "), r.run_id, r.event, r.principal, r.channel, r.action,
            collapse(r.targets) if r.targets else "", r.outcome or r.decision or "", r.error or r.detail or ""]


@action("audit", example='audit --since 2h', help="search the audit log", params=AuditParams, kind=Kind.READ, targets=TargetKind.NONE,
        category="audit")
async def audit(ctx: ActionContext, p: AuditParams) -> AsyncIterator[ActionEvent]:
    recs = await ctx.store.query(AuditQuery(since=p.since, until=p.until, principal=p.principal, action=p.action,
                                            node=p.node, outcome=p.outcome, run_id=p.run, event=p.event, limit=p.limit,
                                            before_seq=p.before))
    more = f"; older: --before {recs[-1].seq}" if len(recs) == p.limit and recs else ""
    yield Result(summary=f"{len(recs)} audit records{more}", table=Table(columns=COLUMNS, rows=[record_row(r) for r in recs]),
                 data=[r.model_dump(mode="json") for r in recs])


class VerifyParams(Params):
    expect_head: str | None = Field(None, description="checkpoint SEQ:HASH from `audit head` stored elsewhere")


@action("audit-verify", example='audit-verify', help="verify the audit log's hash chain", params=VerifyParams, kind=Kind.READ,
        targets=TargetKind.NONE, category="audit")
async def audit_verify(ctx: ActionContext, p: VerifyParams) -> AsyncIterator[ActionEvent]:
    expect = None
    if p.expect_head:
        seq, _, digest = p.expect_head.partition(":")
        if not seq.isdigit() or len(digest) != 64:
            from ..errors import UsageError

            raise UsageError(f"--expect-head {p.expect_head!r} is not SEQ:HASH as printed by `dcops audit head`")
        expect = (int(seq), digest)
    report = await ctx.store.verify(expect)
    yield Result(summary=report.line(), ok=report.ok, data=report.model_dump())


class ApprovalsParams(Params):
    state: str = Field("pending", description="pending, granted, denied, used, expired, all")


@action("approvals", example='approvals', help="list approval requests (pending by default)", params=ApprovalsParams,
        kind=Kind.READ, targets=TargetKind.NONE, category="audit")
async def approvals(ctx: ActionContext, p: ApprovalsParams) -> AsyncIterator[ActionEvent]:
    state = p.state
    items = await ctx.store.list_approvals(None if state == "all" else state)
    from ..hostlists import collapse

    rows = [[a.id, a.state, a.requester, a.action, collapse(a.targets) if a.targets else "", a.created[:19],
             a.expires[:19], a.decided_by or ""] for a in items]
    yield Result(summary=f"{len(items)} approval request(s)", table=Table(
        columns=["id", "state", "requester", "action", "targets", "created", "expires", "decided by"], rows=rows),
        data=[a.model_dump() for a in items])

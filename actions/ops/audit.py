"""Audit review as actions, so the TUI, the CLI and Slack search the same way and the reviews are
themselves RBAC-gated and audited."""

from __future__ import annotations

from collections.abc import AsyncIterator

from pydantic import Field, computed_field, field_validator

from ..context import ActionContext
from ..events import ActionEvent, Result
from ..hostlists import collapse
from ..registry import Kind, MutatingParams, Params, TargetKind, action
from ..result_rows import Row, hidden
from ..store.base import AuditQuery
from ..timespec import TimePoint


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


def _hostlist(names: list[str]) -> str:
    return collapse(names) if names else ""


class AuditRow(Row):
    """One audit record as the review lists show it (``--json`` of ``audit list`` carries the full
    records; this is the table's row)."""

    TABLE = ("seq", "time", "run", "event", "principal", "channel", "action", "targets_shown", "outcome", "detail")

    seq: int
    ts: str = hidden("", description="RFC 3339 time of the record")
    run: str
    event: str = Field(description="received, denied, started, step, finished, ...")
    principal: str
    channel: str
    action: str
    targets: list[str] = hidden([])
    outcome: str = Field(description="the outcome, or the decision for a decision record")
    detail: str = Field(description="the error, or the detail")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def time(self) -> str:
        return self.ts[:23].replace("T", " ")

    @computed_field(title="targets")  # type: ignore[prop-decorator]
    @property
    def targets_shown(self) -> str:
        return _hostlist(self.targets)

    @classmethod
    def of(cls, r) -> AuditRow:  # noqa: ANN001 - AuditRecord
        return cls(
            seq=r.seq,
            ts=r.ts,
            run=r.run_id,
            event=r.event,
            principal=r.principal,
            channel=r.channel,
            action=r.action,
            targets=list(r.targets),
            outcome=r.outcome or r.decision or "",
            detail=r.error or r.detail or "",
        )


class ApprovalRow(Row):
    """One approval request."""

    TABLE = ("id", "state", "requester", "action", "targets_shown", "created", "expires", "decided_by")

    id: str
    state: str
    requester: str
    action: str
    targets: list[str] = hidden([])
    created: str
    expires: str
    decided_by: str

    @computed_field(title="targets")  # type: ignore[prop-decorator]
    @property
    def targets_shown(self) -> str:
        return _hostlist(self.targets)


@action(
    "audit",
    example="audit --since 2h",
    help="search the audit log",
    params=AuditParams,
    kind=Kind.READ,
    targets=TargetKind.NONE,
    category="audit",
    rows=AuditRow,
)
async def audit(ctx: ActionContext, p: AuditParams) -> AsyncIterator[ActionEvent]:
    recs = await ctx.store.query(
        AuditQuery(
            since=p.since,
            until=p.until,
            principal=p.principal,
            action=p.action,
            node=p.node,
            outcome=p.outcome,
            run_id=p.run,
            event=p.event,
            limit=p.limit,
            before_seq=p.before,
        )
    )
    more = f"; older: --before {recs[-1].seq}" if len(recs) == p.limit and recs else ""
    yield Result(
        summary=f"{len(recs)} audit records{more}",
        rows=[AuditRow.of(r) for r in recs],
        row_model=AuditRow,
        data=[r.model_dump(mode="json") for r in recs],
    )


_HEX = frozenset("0123456789abcdef")


QUICK_WALK = 200_000  # records a ``quick`` verify still walks whole without a seal (about a second)


class VerifyParams(Params):
    expect_head: str | None = Field(None, description="checkpoint SEQ:HASH from `audit head` stored elsewhere")
    seals: list[str] = Field(
        [], description="files holding shipped seals (syslog file, journalctl -t dcops-seal -o cat)"
    )
    full: bool = Field(
        False, description="walk the whole chain and every seal, not only what follows the newest good seal"
    )
    quick: bool = Field(
        False,
        description="only from the newest good seal: without one, say so instead of walking "
        "the whole log (a screen opening on a log of millions)",
    )

    @field_validator("expect_head")
    @classmethod
    def _head(cls, v: str | None) -> str | None:
        if v is None:
            return v
        seq, _, digest = v.partition(":")
        if not (seq.isascii() and seq.isdigit() and len(seq) <= 18) or len(digest) != 64 or not set(digest) <= _HEX:
            raise ValueError(
                f"{v[:80]!r} is not SEQ:HASH as printed by `dcops audit head` "
                "(a record number, a colon, 64 lowercase hex digits)"
            )
        return v

    @field_validator("seals")
    @classmethod
    def _seal_files(cls, v: list[str]) -> list[str]:
        import os

        for path in v:
            if not os.path.isfile(path) or not os.access(path, os.R_OK):
                raise ValueError(f"{path[:200]!r} is not a readable file of shipped seals")
        return v


@action(
    "audit-verify",
    example="audit-verify",
    help="verify the audit log's hash chain and its seals",
    params=VerifyParams,
    kind=Kind.READ,
    targets=TargetKind.NONE,
    category="audit",
)
async def audit_verify(ctx: ActionContext, p: VerifyParams) -> AsyncIterator[ActionEvent]:
    """From the newest good seal by default (``seal/checkpoint.py``: what that does and does not
    re-read), the whole chain and every seal with ``full`` or when no seal holds."""
    from ..seal.check import SealReport, check_seals
    from ..seal.checkpoint import newest_good_seal
    from ..seal.setup import external_seals, keyring, log_name

    expect = None
    if p.expect_head:
        seq, _, digest = p.expect_head.partition(":")
        expect = (int(seq), digest)
    ring = keyring(ctx.config)
    outside = external_seals(ctx.config, p.seals)
    start = None if p.full or not ring else await newest_good_seal(ctx.store, ring, outside, log_name(ctx.config))
    if start is None and p.quick and not p.full and (await ctx.store.head())[0] > QUICK_WALK:
        yield Result(
            summary="not verified yet: no good seal to start from (a full verify walks every record)",
            data={"verified": False},
        )
        return
    if start is None:
        report = await ctx.store.verify(expect)
    else:
        report = await ctx.store.verify_since((start.seq, start.hash), expect)
        if (
            report.ok
            and expect is not None
            and expect[0] <= start.seq  # a checkpoint behind the seal
            and (await ctx.store.hashes_at([expect[0]])).get(expect[0]) != expect[1]
        ):
            report = report.model_copy(
                update={
                    "ok": False,
                    "first_bad_seq": expect[0],
                    "problem": "record differs from the checkpoint (chain rewritten)",
                }
            )
    data = report.model_dump()
    data["from_seq"] = start.seq if start else 0
    summary, ok = report.line(), report.ok
    if start is not None and report.ok:
        summary = (
            f"audit chain intact after seal {start.seal}: {report.records} newer records checked, head "
            f"#{report.head_seq} {report.head_hash[:16]} (records up to #{start.seq} are vouched for by "
            "the seal; --full re-reads them all)"
        )
    if report.ok:
        from ..approval_chain import table_problem

        bad = await table_problem(ctx.store)
        if bad:
            data["approvals"] = {"ok": False, "id": bad[0], "problem": bad[1]}
            summary, ok = f"{summary}; approvals table FAILS the log: {bad[1]}", False
    if report.ok and ring and start is not None:
        newer = [r.seq for r in await ctx.store.query(AuditQuery(event="seal", limit=100)) if r.seq > start.seq]
        seals = SealReport(
            ok=True,
            seals=1,
            external=int(start.external),
            sealed_seq=start.seq,
            sealed_hash=start.hash,
            unsealed=max(0, report.head_seq - start.seq - len(newer)),
        )
        data["seals"] = seals.model_dump()
        summary = f"{summary}; {seals.line()}"
    elif report.ok and ring:
        seals = await check_seals(ctx.store, report, ring, external=outside, log_name=log_name(ctx.config))
        data["seals"] = seals.model_dump()
        summary, ok = f"{summary}; {seals.line()}", seals.ok
    elif report.ok and (outside or p.seals):
        summary, ok = f"{summary}; seals given but no public key to check them (audit.seal_public_keys)", False
    yield Result(summary=summary, ok=ok, data=data)


class ApprovalsParams(Params):
    state: str = Field("pending", description="pending, granted, denied, used, expired, withdrawn, all")


@action(
    "approvals",
    example="approvals",
    help="list approval requests (pending by default)",
    params=ApprovalsParams,
    kind=Kind.READ,
    targets=TargetKind.NONE,
    category="audit",
    rows=ApprovalRow,
)
async def approvals(ctx: ActionContext, p: ApprovalsParams) -> AsyncIterator[ActionEvent]:
    state = p.state
    items = await ctx.store.list_approvals(None if state == "all" else state)
    rows = [
        ApprovalRow(
            id=a.id,
            state=a.state,
            requester=a.requester,
            action=a.action,
            targets=list(a.targets),
            created=a.created[:19],
            expires=a.expires[:19],
            decided_by=a.decided_by or "",
        )
        for a in items
    ]
    yield Result(
        summary=f"{len(items)} approval request(s)",
        rows=rows,
        row_model=ApprovalRow,
        data=[a.model_dump() for a in items],
    )


class NoParams(Params):
    pass


@action(
    "audit-head",
    example="audit-head",
    help="the audit chain head SEQ:HASH, to store elsewhere as a checkpoint",
    params=NoParams,
    kind=Kind.READ,
    targets=TargetKind.NONE,
    category="audit",
)
async def audit_head(ctx: ActionContext, p: NoParams) -> AsyncIterator[ActionEvent]:
    seq, digest = await ctx.store.head()
    yield Result(summary=f"{seq}:{digest}", data={"seq": seq, "hash": digest, "head": f"{seq}:{digest}"})


@action(
    "audit-export",
    example="audit-export",
    help="every audit record (the CLI writes them as JSON Lines)",
    params=NoParams,
    kind=Kind.READ,
    targets=TargetKind.NONE,
    category="audit",
)
async def audit_export(ctx: ActionContext, p: NoParams) -> AsyncIterator[ActionEvent]:
    """The decision and the audit record of an export, and where it ends: the records themselves are
    streamed page by page by the front end (``Store.export_pages``) up to this head, so memory stays
    flat at any log size."""
    seq, digest = await ctx.store.head()
    yield Result(summary=f"audit records 1..{seq}", data={"seq": seq, "hash": digest})


class MigrateParams(MutatingParams):
    to_url: str = Field(..., description="the empty PostgreSQL store to copy into: postgresql://user:pw@host/db")


@action(
    "audit-migrate",
    example="audit-migrate postgresql://dcops@db/dcops",
    help="copy the audit log, approvals and journal into an empty PostgreSQL store",
    params=MigrateParams,
    kind=Kind.WRITE,
    targets=TargetKind.NONE,
    category="audit",
    positional=("to_url",),
)
async def audit_migrate(ctx: ActionContext, p: MigrateParams) -> AsyncIterator[ActionEvent]:
    from ..store.migrate import migrate

    if ctx.dry_run:
        seq, _ = await ctx.store.head()
        plan = f"would copy {seq} audit records, the approvals and the journal into the empty store at the given URL"
        yield Result(summary=plan, data={"report": plan, "dry_run": True})
        return
    report = await migrate(ctx.store, p.to_url)
    yield Result(summary=report, data={"report": report})

"""The store's data and its contract, shared by the SQLite and PostgreSQL implementations."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

AuditEvent = Literal[
    "received",
    "invalid",
    "denied",
    "approval-requested",
    "approval-granted",
    "approval-refused",
    "approval-withdrawn",
    "started",
    "step",
    "finished",
    "seal",
    "approval-used",
]


@dataclass(frozen=True)
class AuditEntry:
    """What the engine asks to append; the store adds seq, prev_hash and hash.

    A frozen dataclass, not a pydantic model: the engine builds several per action on its hot
    path, and the values are produced by dcops itself (validated at the edges, not here). It keeps
    pydantic's ``model_copy(update=...)`` / ``model_dump()`` spelling so callers read the same."""

    ts: str  # ISO 8601 UTC with microseconds
    run_id: str
    event: AuditEvent
    principal: str
    channel: str
    action: str
    targets: list[str] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    decision: str | None = None  # "allow" / "deny" and the reason in detail
    outcome: str | None = None  # ok / failed / cancelled / interrupted / dry-run
    duration: float | None = None
    error: str | None = None
    detail: str | None = None  # RBAC reason, step detail, summary
    owner: str | None = None  # host:pid:start of the process that ran it

    def model_copy(self, *, update: dict[str, Any] | None = None) -> AuditEntry:
        if not update:
            return self
        unknown = update.keys() - self.__dict__.keys()
        if unknown:
            raise TypeError(f"AuditEntry has no field {sorted(unknown)[0]!r}")
        # dataclasses.replace re-runs __init__ (~10 µs); a frozen copy of the dict is enough here
        copy = object.__new__(AuditEntry)
        copy.__dict__.update(self.__dict__)
        copy.__dict__.update(update)
        return copy

    def model_dump(self) -> dict[str, Any]:
        return dict(self.__dict__)


class AuditRecord(BaseModel):
    """A stored record, as queries return it."""

    # The models here are built on first use (defer_build), not at import: an action appends
    # AuditEntry dataclasses and never builds them (issue 16: CLI start).
    model_config = ConfigDict(frozen=True, defer_build=True)

    seq: int
    ts: str
    run_id: str
    event: AuditEvent
    principal: str
    channel: str
    action: str
    targets: list[str] = Field(default_factory=list)
    params: dict[str, Any] = Field(default_factory=dict)
    decision: str | None = None
    outcome: str | None = None
    duration: float | None = None
    error: str | None = None
    detail: str | None = None
    owner: str | None = None
    prev_hash: str
    hash: str


# The events of every action (most of a log); an index of the others (seals, approvals, refusals)
# finds those without walking the log. Partial, so no plan ever picks it for a common event: a query
# for a rare event names the index's condition (RARE_EVENTS_SQL) so the planner may use it.
COMMON_EVENTS = ("received", "started", "step", "finished")
RARE_EVENTS_SQL = "event NOT IN ('received', 'started', 'step', 'finished')"


class AuditQuery(BaseModel):
    model_config = ConfigDict(defer_build=True)

    since: datetime | None = None
    until: datetime | None = None
    principal: str | None = None
    action: str | None = None
    node: str | None = None
    outcome: str | None = None
    run_id: str | None = None
    event: str | None = None
    limit: int | None = 1000
    newest_first: bool = True
    before_seq: int | None = None  # keyset paging: only records older than this seq


class VerifyReport(BaseModel):
    model_config = ConfigDict(defer_build=True)

    ok: bool
    records: int
    head_seq: int
    head_hash: str
    first_bad_seq: int | None = None
    problem: str | None = None

    def line(self) -> str:
        if self.ok:
            return f"audit chain intact: {self.records} records, head #{self.head_seq} {self.head_hash[:16]}"
        return f"audit chain BROKEN at record #{self.first_bad_seq}: {self.problem}"


class Approval(BaseModel):
    model_config = ConfigDict(defer_build=True)

    id: str
    created: str
    expires: str
    requester: str
    channel: str
    action: str
    params: dict[str, Any]
    targets: list[str]
    state: Literal["pending", "granted", "denied", "expired", "used", "withdrawn"] = "pending"
    decided_by: str | None = None
    decided_at: str | None = None
    reason: str | None = None
    resume_of: str | None = None  # the request resumes this run (``dcops resume`` by another principal)


class LockHandle(Protocol):
    async def release(self) -> None: ...


class Store(Protocol):
    """Everything here must be safe with several processes writing at once."""

    async def append(self, entries: Sequence[AuditEntry]) -> tuple[int, str]: ...  # (seq, hash) of the last one
    async def query(self, q: AuditQuery) -> list[AuditRecord]: ...
    async def verify(self, expect_head: tuple[int, str] | None = None) -> VerifyReport: ...
    async def head(self) -> tuple[int, str]: ...
    async def hashes_at(self, seqs: Sequence[int]) -> dict[int, str]: ...  # seq -> stored hash (seals)
    async def export(self) -> list[AuditRecord]: ...
    def export_pages(
        self, page: int = 1000
    ) -> AsyncIterator[list[AuditRecord]]: ...  # every record, oldest first, page by page
    async def verify_since(
        self, checkpoint: tuple[int, str], expect_head: tuple[int, str] | None = None
    ) -> VerifyReport: ...
    async def open_runs(self) -> list[AuditRecord]: ...  # "started" records with no "finished"
    async def close_interrupted(self, is_dead: Callable[[str | None], bool], closer: str) -> list[str]: ...

    async def create_approval(self, approval: Approval) -> None: ...
    async def get_approval(self, approval_id: str) -> Approval | None: ...
    async def decide_approval(
        self, approval_id: str, state: str, by: str, reason: str | None, expect: str = "pending"
    ) -> Approval: ...  # compare-and-set; ApprovalTaken when not ``expect``
    async def list_approvals(self, state: str | None = "pending") -> list[Approval]: ...

    async def journal_get(self, run_id: str, key: str) -> Any | None: ...
    async def journal_put(self, run_id: str, key: str, value: Any) -> None: ...
    async def journal_items(self, run_id: str) -> dict[str, Any]: ...
    async def journal_copy(self, from_run: str, to_run: str) -> None: ...

    async def lock(self, names: Sequence[str], run_id: str, wait: float) -> LockHandle: ...
    async def aclose(self) -> None: ...

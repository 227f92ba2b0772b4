"""Shared by the large-log tests of the TUI and Slack (issue 16): a log filled by the bench
generator, and a record of every query the SQLite store answers, to prove reads stay one page."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from dcops.actions.store.base import COMMON_EVENTS, AuditQuery
from dcops.actions.store.sqlite import SqliteStore
from tests.bench.audit_scale import bulk_sqlite

Asked = list[tuple[AuditQuery, int]]


def fill(path: Path, records: int) -> None:
    """The store makes the schema, the bench generator writes ``records`` (1,000 nodes, 40
    principals, 30 days); the store rebuilds its indexes when it next opens the log."""
    store = SqliteStore(str(path))

    async def schema() -> None:
        await store.open()
        await store.aclose()

    asyncio.run(schema())
    bulk_sqlite(path, records)


def spy_queries(monkeypatch: pytest.MonkeyPatch) -> Asked:
    """Every store query from now on: what was asked and how many records came back."""
    seen: Asked = []
    real = SqliteStore.query

    async def spy(self: SqliteStore, q: AuditQuery) -> Any:
        got = await real(self, q)
        seen.append((q, len(got)))
        return got

    monkeypatch.setattr(SqliteStore, "query", spy)
    return seen


def unbounded(asked: Asked, page: int = 200) -> Asked:
    """The queries that were not one page; only rare events (approvals, seals: their own partial
    index) may be read whole."""
    return [
        (q, n)
        for q, n in asked
        if (q.limit is None or q.limit > page or n > page) and (q.event is None or q.event in COMMON_EVENTS)
    ]

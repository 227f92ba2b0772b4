"""The audit screen on a large log (issue 16): opening it, searching by node and by principal,
and the chain line must each read one bounded page through the store's indexed queries, never
the whole log. Proven by what the store is asked and returns (a spy on ``query``), not by time;
``tests/bench/audit_scale.py`` measures the same searches at 10M records."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from dcops.actions.store.base import COMMON_EVENTS, AuditQuery
from dcops.actions.store.sqlite import SqliteStore
from dcops.console.tui.app import DcopsApp
from dcops.console.tui.screens.audit import AuditScreen
from tests.bench.audit_scale import _bulk_sqlite

from .conftest import SIZE, audit, wait_for

RECORDS = 60_000  # the bench generator's log: 1,000 nodes, 40 principals, 30 days


def fill(url: str) -> None:
    path = Path(url.removeprefix("sqlite:///"))
    store = SqliteStore(str(path))

    async def schema() -> None:
        await store.open()
        await store.aclose()

    asyncio.run(schema())
    _bulk_sqlite(path, RECORDS)  # the store rebuilds its indexes when the app opens it


@pytest.fixture
def asked(monkeypatch: pytest.MonkeyPatch) -> list[tuple[AuditQuery, int]]:
    """Every store query: what was asked and how many records came back."""
    seen: list[tuple[AuditQuery, int]] = []
    real = SqliteStore.query

    async def spy(self: SqliteStore, q: AuditQuery) -> Any:
        got = await real(self, q)
        seen.append((q, len(got)))
        return got

    monkeypatch.setattr(SqliteStore, "query", spy)
    return seen


async def test_audit_screen_reads_one_page_of_a_large_log(config, asked) -> None:  # noqa: ANN001
    cfg = config()
    await asyncio.to_thread(fill, cfg.audit.effective_url())
    app = DcopsApp(cfg, principal="unix:alice")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.engine is not None, what="the engine")
        await pilot.press("4")
        await wait_for(pilot, lambda: isinstance(app.screen, AuditScreen), what="the audit screen")
        screen = app.screen
        await wait_for(pilot, lambda: screen.table.total_count > 0, what="the newest page")
        shown = [int(r["seq"]) for r in screen.table.all_rows]
        assert len(shown) <= 200 and min(shown) > RECORDS - 200  # the newest page (reads hidden), no more
        await wait_for(pilot, lambda: "chain:" in str(screen.query_one("#chain").render()), what="the chain line")
        assert "not verified yet" in str(screen.query_one("#chain").render())  # unsealed: no walk of 60k

        expected = {r.seq for r in await audit(app, AuditQuery(node="gpu0042", limit=200))}
        screen.query_one("#param-node").focus()
        await pilot.press(*"gpu0042", "enter")
        await wait_for(
            pilot,
            lambda: screen.table.total_count and {int(r["seq"]) for r in screen.table.all_rows} <= expected,
            what="the node's records",
        )
        assert asked[-1][0].node == "gpu0042"

        screen.query_one("#param-node").value = ""
        screen.query_one("#param-principal").value = "unix:user07"
        screen.query_one("#param-principal").focus()
        await pilot.press("enter")
        await wait_for(
            pilot,
            lambda: screen.table.total_count and {r["principal"] for r in screen.table.all_rows} == {"unix:user07"},
            what="the principal's records",
        )
    searches = [(q, n) for q, n in asked if q.limit != 1]
    assert len(searches) >= 3
    # every search is one page; only rare events (approvals, seals: their own partial index) are read whole
    unbounded = [
        (q, n)
        for q, n in searches
        if (q.limit is None or q.limit > 200 or n > 200) and (q.event is None or q.event in COMMON_EVENTS)
    ]
    assert not unbounded, unbounded

"""The audit screen on a large log (issue 16): opening it, searching by node and by principal,
and the chain line must each read one bounded page through the store's indexed queries, never
the whole log. Proven by what the store is asked and returns (a spy on ``query``), not by time;
``tests/bench/audit_scale.py`` measures the same searches at 10M records."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from dcops.actions.store.base import AuditQuery
from dcops.console.tui.app import DcopsApp
from dcops.console.tui.screens.audit import AuditScreen
from tests.audit_pages import Asked, fill, spy_queries, unbounded

from .conftest import SIZE, audit, wait_for

RECORDS = 60_000


@pytest.fixture
def asked(monkeypatch: pytest.MonkeyPatch) -> Asked:
    return spy_queries(monkeypatch)


async def test_audit_screen_reads_one_page_of_a_large_log(config, asked) -> None:  # noqa: ANN001
    cfg = config()
    await asyncio.to_thread(fill, Path(cfg.audit.effective_url().removeprefix("sqlite:///")), RECORDS)
    app = DcopsApp(cfg, principal="unix:alice")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.engine is not None, what="the engine")
        await pilot.press("4")
        await wait_for(pilot, lambda: isinstance(app.screen, AuditScreen), what="the audit screen")
        screen = app.screen
        await wait_for(pilot, lambda: screen.table.total_count > 0, what="the newest page")
        shown = [int(r["seq"]) for r in screen.table.all_rows]
        assert len(shown) <= 200 and min(shown) > RECORDS - 200  # the newest page (reads hidden), no more
        chain = lambda: str(screen.query_one("#chain").render())  # noqa: E731
        await wait_for(pilot, lambda: "intact" in chain() or "no good seal" in chain(), what="the quick verify")

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
    assert not unbounded(searches), unbounded(searches)

"""`/dcops audit` on a large log (issue 16): a search by node and one by principal each read one
bounded page through the store's indexed queries, and the reply shows the newest matching records.
Proven by what the store is asked and returns (a spy on ``query``), not by time;
``tests/bench/audit_scale.py`` measures the same searches at 10M records."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from slack_harness import ONCALL, Harness

from dcops.actions.store.base import AuditQuery
from tests.audit_pages import Asked, fill, spy_queries, unbounded

RECORDS = 60_000


@pytest.fixture(autouse=True)
def big_log(tmp_path: Path) -> Path:
    """The demo engine's audit log (``demo_config(tmp_path)``), filled before the engine opens it."""
    fill(tmp_path / "demo-audit.db", RECORDS)
    return tmp_path / "demo-audit.db"


@pytest.fixture
def asked(monkeypatch: pytest.MonkeyPatch) -> Asked:
    return spy_queries(monkeypatch)


def _table_seqs(call: Any) -> list[int]:
    [table] = [b for b in call.args["blocks"] if b["type"] == "table"]
    header = [c["text"] for c in table["rows"][0]]
    at = header.index("seq")
    return [int(row[at]["text"]) for row in table["rows"][1:]]


@pytest.mark.parametrize(
    ("search", "query"),
    [
        ("audit --node gpu0042", AuditQuery(node="gpu0042", limit=200)),
        ("audit --principal unix:user07", AuditQuery(principal="unix:user07", limit=200)),
    ],
)
async def test_slash_audit_reads_one_page_of_a_large_log(
    harness: Harness, asked: Asked, search: str, query: AuditQuery
) -> None:
    expected = [r.seq for r in await harness.engine.store.query(query)]
    assert len(expected) == 200  # the log holds far more matches than one page
    await harness.command(search, user=ONCALL)
    final = (
        await harness.slack.wait_for(
            lambda c: c.method in ("chat.update", "chat.postMessage") and "audit: ok" in c.args.get("text", ""),
            timeout=30,
        )
    )[0]
    shown = _table_seqs(final)
    assert shown and set(shown) <= set(expected) and max(shown) == expected[0], json.dumps(final.args)[:500]
    searches = [(q, n) for q, n in asked if q.node == query.node and q.principal == query.principal]
    assert searches and all(q.limit is not None and q.limit <= 200 and n <= 200 for q, n in searches)
    assert not unbounded(asked), unbounded(asked)

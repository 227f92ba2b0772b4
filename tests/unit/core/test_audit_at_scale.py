"""The audit log's scale paths on SQLite: verify from a checkpoint (incremental) on the fast row path
agrees with the full verify on every tamper kind, export streams page by page, and searches page by
keyset (``before_seq``) without losing or repeating a record."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from dcops.actions.store.base import AuditEntry, AuditQuery
from dcops.actions.store.chain import GENESIS
from dcops.actions.store.sqlite import SqliteStore


def entry(i: int) -> AuditEntry:
    return AuditEntry(
        ts=f"2026-11-29T04:{i // 60:02d}:{i % 60:02d}.000000+00:00",
        run_id=f"r{i}",
        event="finished" if i % 3 == 0 else "started",
        principal=f"unix:u{i % 4}",
        channel="cli",
        action="drain" if i % 2 else "resume",
        targets=[f"gpu{i % 7:03d}"],
        params={"nodes": f"gpu{i % 7:03d}", "reason": "xid 79 ü"},
        outcome=("failed" if i % 9 == 0 else "ok") if i % 3 == 0 else None,
        duration=i / 3 if i % 3 == 0 else None,
    )


@pytest.fixture
async def store(tmp_path: Path):
    s = SqliteStore(str(tmp_path / "audit.db"))
    for i in range(1, 101, 5):
        await s.append([entry(j) for j in range(i, i + 5)])
    yield s
    await s.aclose()


def sql(store: SqliteStore, stmt: str) -> None:
    conn = sqlite3.connect(store.path)
    conn.execute(stmt)
    conn.commit()
    conn.close()


async def test_verify_since_genesis_and_from_a_checkpoint(store: SqliteStore):
    full = await store.verify()
    fast = await store.verify_since((0, GENESIS))
    assert fast.ok and (fast.records, fast.head_seq, fast.head_hash) == (full.records, full.head_seq, full.head_hash)
    [at60] = await store.query(AuditQuery(run_id="r60", limit=1))
    newest = await store.verify_since((60, at60.hash))
    assert newest.ok and newest.records == 40 and newest.head_seq == 100


@pytest.mark.parametrize(
    "tamper, problem, bad",
    [
        ("UPDATE audit SET detail = 'nothing happened' WHERE seq = 70", "record edited", 70),
        ("DELETE FROM audit WHERE seq = 80", "records deleted or inserted", 81),
        ("UPDATE audit SET prev_hash = 'f' || substr(prev_hash, 2) WHERE seq = 90", "link to the previous record", 90),
        ("UPDATE audit SET params = '{broken' WHERE seq = 75", "record cannot be read", 75),
        ("DELETE FROM audit_nodes WHERE seq = 77", "node search index", 77),
        ("INSERT INTO audit_nodes (node, seq) VALUES ('gpu999', 88)", "node search index", 88),
    ],
)
async def test_incremental_verify_finds_what_the_full_verify_finds(
    store: SqliteStore, tamper: str, problem: str, bad: int
):
    [at60] = await store.query(AuditQuery(run_id="r60", limit=1))
    sql(store, tamper)
    since = await store.verify_since((60, at60.hash))
    assert not since.ok and problem in (since.problem or "") and since.first_bad_seq == bad, since
    if "broken" not in tamper:  # (the full pydantic verify of SQLite raises on unparseable JSON)
        full = await store.verify()
        assert not full.ok and full.first_bad_seq == since.first_bad_seq, full
    assert not (await store.verify_since((0, GENESIS))).ok


async def test_a_rewritten_checkpoint_record_or_removed_tail_is_caught(store: SqliteStore):
    [at60] = await store.query(AuditQuery(run_id="r60", limit=1))
    head = await store.head()
    sql(store, "DELETE FROM audit WHERE seq > 95")
    cut = await store.verify_since((60, at60.hash), expect_head=head)
    assert not cut.ok and "newest records removed" in (cut.problem or "")
    sql(store, "UPDATE audit SET hash = 'x' || substr(hash, 2) WHERE seq = 60")
    moved = await store.verify_since((60, at60.hash))
    assert not moved.ok and "differs from the checkpoint" in (moved.problem or "")
    gone = await store.verify_since((200, "ab" * 32))
    assert not gone.ok and "missing" in (gone.problem or "")


async def test_export_pages_stream_every_record_once_in_order(store: SqliteStore):
    pages = [page async for page in store.export_pages(page=7)]
    assert max(len(p) for p in pages) == 7
    assert [r.seq for p in pages for r in p] == list(range(1, 101))
    assert [r for p in pages for r in p] == await store.export()


@pytest.mark.parametrize(
    "filters",
    [
        {},
        {"node": "gpu003"},
        {"principal": "unix:u1"},
        {"action": "drain"},
        {"outcome": "failed"},
        {"principal": "unix:*", "node": "gpu005"},
    ],
)
async def test_keyset_pages_equal_one_big_query(store: SqliteStore, filters: dict):
    everything = [r.seq for r in await store.query(AuditQuery(limit=None, **filters))]
    paged: list[int] = []
    before = None
    while True:
        page = await store.query(AuditQuery(limit=4, before_seq=before, **filters))
        if not page:
            break
        paged += [r.seq for r in page]
        before = page[-1].seq
    assert paged == everything and everything == sorted(everything, reverse=True) and everything

"""The one-round-trip append (server-side ``dcops_append``): installed on a database an older dcops
made, writing the same chain as the two-round-trip path (records of both kinds verify as one chain,
and hash exactly as SQLite's), with unicode, JSON-looking values and multi-record batches."""

from __future__ import annotations

import asyncio

import psycopg

from dcops.actions.store.base import AuditEntry, AuditQuery
from dcops.actions.store.chain import record_hash
from dcops.actions.store.postgres import PostgresStore


def _entry(i: int, **kw: object) -> AuditEntry:
    base = dict(
        ts=f"2026-12-04T05:00:{i % 60:02d}.000000+00:00",
        run_id=f"r{i}",
        event="started",
        principal="unix:ops",
        channel="cli",
        action="drain",
        targets=[f"gpu{i:03d}", "ß-node"],
        params={"reason": 'xid 79 "seq":1 ü', "n": i, "nested": {"seq": [1, 2.5]}},
        duration=i / 7,
    )
    base.update(kw)
    return AuditEntry(**base)  # type: ignore[arg-type]


async def test_installed_on_an_old_database_and_one_chain_with_the_old_path(pg_url: str) -> None:
    store = PostgresStore(pg_url)
    await store.open()
    assert store._one_trip
    async with await psycopg.AsyncConnection.connect(pg_url, autocommit=True) as conn:
        await conn.execute("DROP FUNCTION dcops_append(json)")  # as an older dcops left it
    await store.aclose()

    old = PostgresStore(pg_url)
    await old.open()
    assert old._one_trip  # reinstalled at open
    old._one_trip = False  # write some the two-trip way
    await old.append([_entry(1), _entry(2, event="finished", outcome="ok", duration=None, targets=[])])
    old._one_trip = True
    await old.append([_entry(3)])
    await old.append([_entry(4, detail="line\twith tab", error="e"), _entry(5, params={})])
    await asyncio.gather(*(old.append([_entry(10 + i)]) for i in range(8)))
    report = await old.verify()
    assert report.ok and report.records == 13, report.line()
    recs = await old.query(AuditQuery(limit=None, newest_first=False))
    for rec in recs:  # the hash chain.py would compute
        assert rec.hash == record_hash(rec.prev_hash, rec.model_dump())
    assert {r.seq for r in await old.query(AuditQuery(node="ß-node", limit=None))} == {r.seq for r in recs if r.targets}
    await old.aclose()


async def test_incremental_verify_export_pages_and_keyset_search(pg_url: str) -> None:
    from dcops.actions.store.chain import GENESIS

    store = PostgresStore(pg_url)
    try:
        for i in range(0, 60, 6):
            await store.append([_entry(j, principal=f"unix:u{j % 3}") for j in range(i, i + 6)])
        full = await store.verify()
        fast = await store.verify_since((0, GENESIS))
        assert fast.ok and (fast.records, fast.head_hash) == (full.records, full.head_hash) == (60, full.head_hash)
        [at40] = await store.query(AuditQuery(run_id="r39", limit=1))
        assert at40.seq == 40
        head = await store.head()
        assert (await store.verify_since((40, at40.hash), expect_head=head)).records == 20
        pages = [p async for p in store.export_pages(page=7)]
        assert [r.seq for p in pages for r in p] == list(range(1, 61))
        everything = [r.seq for r in await store.query(AuditQuery(principal="unix:u1", limit=None))]
        paged, before = [], None
        while page := await store.query(AuditQuery(principal="unix:u1", limit=3, before_seq=before)):
            paged += [r.seq for r in page]
            before = page[-1].seq
        assert paged == everything and len(everything) == 20
        async with await psycopg.AsyncConnection.connect(pg_url, autocommit=True) as conn:
            await conn.execute("UPDATE audit SET detail = 'edited' WHERE seq = 50")
            await conn.execute("DELETE FROM audit_nodes WHERE seq = 45")
        bad = await store.verify_since((40, at40.hash))
        assert not bad.ok and bad.first_bad_seq == 50 and "record edited" in (bad.problem or "")
        async with await psycopg.AsyncConnection.connect(pg_url, autocommit=True) as conn:
            await conn.execute("UPDATE audit SET hash = 'x' WHERE seq = 40")
        moved = await store.verify_since((40, at40.hash))
        assert not moved.ok and "differs from the checkpoint" in (moved.problem or "")
    finally:
        await store.aclose()

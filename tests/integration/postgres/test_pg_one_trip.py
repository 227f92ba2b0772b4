"""The one-round-trip append (server-side ``dcops_append``): installed on a database an older dcops
made, writing the same chain as the two-round-trip path (records of both kinds verify as one chain,
and hash exactly as SQLite's), with unicode, JSON-looking values and multi-record batches."""

from __future__ import annotations

import asyncio

import psycopg

from actions.store.base import AuditEntry, AuditQuery
from actions.store.chain import record_hash
from actions.store.postgres import PostgresStore


def _entry(i: int, **kw: object) -> AuditEntry:
    base = dict(ts=f"2026-12-04T05:00:{i % 60:02d}.000000+00:00", run_id=f"r{i}", event="started",
                principal="unix:ops", channel="cli", action="drain", targets=[f"gpu{i:03d}", "ß-node"],
                params={"reason": 'xid 79 "seq":1 ü', "n": i, "nested": {"seq": [1, 2.5]}}, duration=i / 7)
    base.update(kw)
    return AuditEntry(**base)   # type: ignore[arg-type]


async def test_installed_on_an_old_database_and_one_chain_with_the_old_path(pg_url: str) -> None:
    store = PostgresStore(pg_url)
    await store.open()
    assert store._one_trip
    async with await psycopg.AsyncConnection.connect(pg_url, autocommit=True) as conn:
        await conn.execute("DROP FUNCTION dcops_append(json)")         # as an older dcops left it
    await store.aclose()

    old = PostgresStore(pg_url)
    await old.open()
    assert old._one_trip                                               # reinstalled at open
    old._one_trip = False                                              # write some the two-trip way
    await old.append([_entry(1), _entry(2, event="finished", outcome="ok", duration=None, targets=[])])
    old._one_trip = True
    await old.append([_entry(3)])
    await old.append([_entry(4, detail="line\twith tab", error="e"), _entry(5, params={})])
    await asyncio.gather(*(old.append([_entry(10 + i)]) for i in range(8)))
    report = await old.verify()
    assert report.ok and report.records == 13, report.line()
    recs = await old.query(AuditQuery(limit=None, newest_first=False))
    for rec in recs:                                                   # the hash chain.py would compute
        assert rec.hash == record_hash(rec.prev_hash, rec.model_dump())
    assert {r.seq for r in await old.query(AuditQuery(node="ß-node", limit=None))} == {r.seq for r in recs if r.targets}
    await old.aclose()

"""Group commit on the shared store (pg_schema.GROUPED_PROCEDURE), held to its promises on the lab
PostgreSQL:

- durable on return: when the append returns, the server's WAL is flushed past the commit of its
  records (the procedure commits them without waiting for the flush, so this is the promise that
  could silently break);
- the session's own ``synchronous_commit`` is back after the call (the "off" is for one commit only);
- ``head()`` never names a record that is not yet flushed;
- a database the last release made is upgraded at start (procedure, function, trigger skips), and
  the last release's statement, the two-round-trip append and the new one write one chain;
- a role that may not write a WAL message appends without group commit.
"""

from __future__ import annotations

import asyncio

import psycopg
import pytest

from dcops.actions.store import postgres as pg_store
from dcops.actions.store.base import AuditEntry
from dcops.actions.store.pg_rows import append_batch
from dcops.actions.store.postgres import PostgresStore

pytestmark = pytest.mark.lab

LAST_RELEASE_TRIGGERS = """
CREATE OR REPLACE TRIGGER audit_nodes_ts BEFORE INSERT ON audit_nodes FOR EACH ROW EXECUTE FUNCTION dcops_node_ts();
CREATE OR REPLACE TRIGGER audit_open_runs AFTER INSERT ON audit FOR EACH ROW
    WHEN (NEW.event IN ('started', 'finished')) EXECUTE FUNCTION dcops_open_runs();
"""


def entry(
    i: int, event: str = "started", run_id: str | None = None, nodes: tuple[str, ...] = ("gpu001",)
) -> AuditEntry:
    return AuditEntry(
        ts=f"2026-12-04T10:{i // 60 % 60:02d}:{i % 60:02d}.000000+00:00",
        run_id=run_id or f"r{i}",
        event=event,  # type: ignore[arg-type]
        principal="unix:alice",
        channel="cli",
        action="drain",
        targets=list(nodes),
        params={"reason": f'xid 79 "{i}"'},
        decision="allow",
        duration=i / 3 if event == "finished" else None,
        outcome="ok" if event == "finished" else None,
        owner="host:1",
    )


async def test_an_append_returns_only_once_its_records_are_flushed(pg_url: str) -> None:
    store = PostgresStore(pg_url)
    await store.open()
    assert store._grouped
    await store.aclose()
    async with await psycopg.AsyncConnection.connect(pg_url, autocommit=True) as conn:
        for i in range(40):
            cur = await conn.execute(
                "CALL dcops_append_grouped(%s::json)", (append_batch([entry(i), entry(i, "finished", f"r{i}")]),)
            )
            seq, _, committed = await cur.fetchone()  # type: ignore[misc]
            assert seq == 2 * i + 2
            cur = await conn.execute(
                "SELECT pg_current_wal_flush_lsn() >= %s::pg_lsn, current_setting('synchronous_commit')", (committed,)
            )
            flushed, setting = await cur.fetchone()  # type: ignore[misc]
            assert flushed, f"append {i}: returned before the WAL was flushed past its commit at {committed}"
            assert setting == "on"  # the session's own setting is back
    again = PostgresStore(pg_url)
    try:
        report = await again.verify()
        assert report.ok and report.records == 80, report.line()
        assert await again.open_runs() == []
    finally:
        await again.aclose()


async def test_head_names_only_flushed_records(pg_url: str) -> None:
    store = PostgresStore(pg_url)
    try:
        await store.open()
        async with await psycopg.AsyncConnection.connect(pg_url, autocommit=True) as other:
            await other.execute("SET synchronous_commit = off")  # a writer whose commits are not yet flushed
            for i in range(25):
                cur = await other.execute("SELECT head_seq FROM dcops_append(%s::json)", (append_batch([entry(i)]),))
                written = (await cur.fetchone())[0]  # type: ignore[index]
                lsn = (await (await other.execute("SELECT pg_current_wal_insert_lsn()")).fetchone())[0]  # type: ignore[index]
                seq, _ = await store.head()
                assert seq == written
                cur = await other.execute("SELECT pg_current_wal_flush_lsn() >= %s::pg_lsn", (lsn,))
                assert (await cur.fetchone())[0], f"head #{seq} was named before it was flushed"  # type: ignore[index]
    finally:
        await store.aclose()


async def test_a_database_of_the_last_release_is_upgraded_and_every_writer_keeps_one_chain(pg_url: str) -> None:
    store = PostgresStore(pg_url)
    await store.append([entry(1)])
    await store.aclose()
    async with await psycopg.AsyncConnection.connect(pg_url, autocommit=True) as conn:  # as the last release left it
        await conn.execute("DROP PROCEDURE dcops_append_grouped")
        await conn.execute(LAST_RELEASE_TRIGGERS)

    new = PostgresStore(pg_url)
    await new.open()
    assert (new._one_trip, new._grouped) == (True, True)
    async with await psycopg.AsyncConnection.connect(pg_url, autocommit=True) as conn:
        cur = await conn.execute(
            "SELECT tgname, pg_get_triggerdef(oid) FROM pg_trigger WHERE tgname IN ('audit_open_runs', 'audit_nodes_ts')"
        )
        defs = dict(await cur.fetchall())
        assert "dcops.appending" in defs["audit_open_runs"] and "(new.ts IS NULL)" in defs["audit_nodes_ts"], defs
        # the last release's client statement, on the upgraded function, beside the new writer
        await conn.execute("SELECT head_seq, head_hash FROM dcops_append(%s::json)", (append_batch([entry(2)]),))
    await new.append([entry(3), entry(1, "finished", "r1")])
    new._one_trip, new._grouped = False, False  # the two-round-trip append: plain INSERTs, triggers fire
    await new.append([entry(2, "finished", "r2", nodes=("gpu002", "gpu003"))])
    new._one_trip, new._grouped = True, True
    await asyncio.gather(*(new.append([entry(10 + i)]) for i in range(6)))
    try:
        report = await new.verify()
        assert report.ok and report.records == 11, report.line()
        assert sorted(r.run_id for r in await new.open_runs()) == ["r10", "r11", "r12", "r13", "r14", "r15", "r3"]
        async with await psycopg.AsyncConnection.connect(pg_url, autocommit=True) as conn:
            cur = await conn.execute(
                "SELECT count(*) FROM audit_nodes n JOIN audit a USING (seq) WHERE n.ts IS DISTINCT FROM a.ts"
            )
            assert (await cur.fetchone())[0] == 0  # type: ignore[index]
    finally:
        await new.aclose()


async def test_a_role_that_may_not_write_a_wal_message_appends_without_group_commit(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pg_store, "FLUSH_PRIVILEGE", "false")  # has_function_privilege(...) said no
    store = PostgresStore(pg_url)
    try:
        await store.append([entry(1)])
        assert (store._one_trip, store._grouped) == (True, False)
        await store.append([entry(1, "finished", "r1")])
        seq, _ = await store.head()
        assert seq == 2 and (await store.verify()).ok
    finally:
        await store.aclose()

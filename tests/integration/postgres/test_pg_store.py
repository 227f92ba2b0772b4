"""The PostgreSQL store on its own: tamper detection, SQLite -> PostgreSQL migration, and errors that
say what is wrong in one line without ever showing the database password."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from dcops.actions.errors import AuditError, ConfigError
from dcops.actions.store import open_store
from dcops.actions.store.base import Approval, AuditEntry, AuditQuery
from dcops.actions.store.migrate import migrate
from dcops.actions.store.postgres import PostgresStore
from dcops.actions.store.sqlite import SqliteStore
from tests.lab.postgres import PostgresLab

pytestmark = pytest.mark.lab


def entry(i: int) -> AuditEntry:
    return AuditEntry(
        ts=f"2026-11-29T04:00:{i:02d}.000000+00:00",
        run_id=f"r{i}",
        event="started",
        principal="unix:alice",
        channel="cli",
        action="drain",
        targets=[f"gpu{i:03d}"],
        params={"nodes": f"gpu{i:03d}", "reason": "xid 79", "ratio": 0.1 + i / 3},
        decision="allow",
        duration=i / 7,
    )


async def ten_records(url: str) -> tuple[int, str]:
    store = PostgresStore(url)
    try:
        for i in range(1, 11):
            await store.append([entry(i)])
        return await store.head()
    finally:
        await store.aclose()


def sql(url: str, stmt: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(stmt)


async def verify(url: str, expect: tuple[int, str] | None = None):
    store = PostgresStore(url)
    try:
        return await store.verify(expect)
    finally:
        await store.aclose()


async def test_intact_chain_verifies_against_its_checkpoint(pg_url: str) -> None:
    head = await ten_records(pg_url)
    report = await verify(pg_url, head)
    assert report.ok and report.records == 10 and (report.head_seq, report.head_hash) == head


async def test_one_edited_row_is_found(pg_url: str) -> None:
    await ten_records(pg_url)
    sql(pg_url, "UPDATE audit SET params = replace(params, 'xid 79', 'xid 78') WHERE seq = 4")
    report = await verify(pg_url)
    assert not report.ok and report.first_bad_seq == 4 and "edited" in (report.problem or "")


async def test_one_deleted_row_is_found(pg_url: str) -> None:
    await ten_records(pg_url)
    sql(pg_url, "DELETE FROM audit WHERE seq = 6")
    report = await verify(pg_url)
    assert not report.ok and report.first_bad_seq == 7 and "deleted" in (report.problem or "")


async def test_a_row_made_unreadable_is_reported_not_crashed_on(pg_url: str) -> None:
    await ten_records(pg_url)
    sql(pg_url, "UPDATE audit SET targets = 'not json' WHERE seq = 5")
    report = await verify(pg_url)
    assert not report.ok and report.first_bad_seq == 5 and (report.records, report.head_seq) == (5, 4)


async def test_node_index_tampering_is_found(pg_url: str) -> None:
    await ten_records(pg_url)
    sql(pg_url, "DELETE FROM audit_nodes WHERE node = 'gpu003'")
    report = await verify(pg_url)
    assert not report.ok and report.first_bad_seq == 3 and "index" in (report.problem or "")


async def test_query_filters_match_the_sqlite_store(pg_url: str, tmp_path: Path) -> None:
    lite = SqliteStore(str(tmp_path / "a.db"))
    pg = PostgresStore(pg_url)
    try:
        for i in range(1, 11):
            e = entry(i).model_copy(update={"action": "drain" if i % 2 else "resume", "principal": f"unix:u{i % 3}"})
            await lite.append([e])
            await pg.append([e])
        assert await lite.head() == await pg.head()  # same chain, byte for byte
        for q in (
            AuditQuery(node="gpu004"),
            AuditQuery(action="dr*"),
            AuditQuery(principal="unix:u1", limit=2),
            AuditQuery(run_id="r7"),
            AuditQuery(newest_first=False, limit=None),
        ):
            assert [r.seq for r in await pg.query(q)] == [r.seq for r in await lite.query(q)], q
    finally:
        await lite.aclose()
        await pg.aclose()


async def _sqlite_with_history(path: Path) -> SqliteStore:
    src = SqliteStore(str(path))
    for i in range(1, 31):
        await src.append([entry(i), entry(i).model_copy(update={"event": "finished", "outcome": "ok"})])
    await src.journal_put("r3", "gpu003", {"step": "flashed", "version": "1.2.3"})
    await src.create_approval(
        Approval(
            id="a-1",
            created="2026-11-29T04:00:00+00:00",
            expires="2026-11-29T05:00:00+00:00",
            requester="unix:alice",
            channel="slack",
            action="reimage",
            params={},
            targets=["gpu001"],
        )
    )
    return src


async def test_migrate_sqlite_to_postgres_keeps_the_same_chain(pg_url: str, tmp_path: Path) -> None:
    src = await _sqlite_with_history(tmp_path / "audit.db")
    try:
        head = await src.head()
        report = await migrate(src, pg_url)
        assert "migrated 60 audit records" in report and "1 approvals" in report and "1 journal" in report
        assert "verified before and after" in report and "\n" not in report
        dst = open_store(pg_url)
        try:
            assert await dst.head() == head
            assert await dst.export() == await src.export()
            assert (await dst.verify(head)).ok
            assert await dst.journal_get("r3", "gpu003") == {"step": "flashed", "version": "1.2.3"}
            assert [a.id for a in await dst.list_approvals()] == ["a-1"]
            assert [r.seq for r in await dst.query(AuditQuery(node="gpu005"))] == [10, 9]
            # the migrated chain goes on from the same head
            await dst.append([entry(31)])
            assert (await dst.verify(head)).ok
        finally:
            await dst.aclose()
        with pytest.raises(AuditError, match="not empty"):
            await migrate(src, pg_url)
    finally:
        await src.aclose()


async def test_migrate_refuses_a_broken_source_and_copies_nothing(pg_url: str, tmp_path: Path) -> None:
    import sqlite3

    src = await _sqlite_with_history(tmp_path / "audit.db")
    await src.aclose()
    conn = sqlite3.connect(tmp_path / "audit.db")
    conn.execute("UPDATE audit SET detail = 'nothing to see' WHERE seq = 12")
    conn.commit()
    conn.close()
    src = SqliteStore(str(tmp_path / "audit.db"))
    try:
        with pytest.raises(AuditError, match="refusing to migrate .* BROKEN at record #12"):
            await migrate(src, pg_url)
    finally:
        await src.aclose()
    assert (await verify(pg_url)).records == 0


async def test_migrate_only_into_postgres(tmp_path: Path) -> None:
    src = SqliteStore(str(tmp_path / "a.db"))
    try:
        with pytest.raises(ConfigError, match="TO_URL"):
            await migrate(src, f"sqlite:///{tmp_path / 'b.db'}")
    finally:
        await src.aclose()


async def test_errors_are_one_line_and_never_show_the_password(pg_lab: PostgresLab, pg_url: str) -> None:
    secret = "Sup3r-s3cret/pw"
    wrong = pg_url.replace(pg_lab.password, secret.replace("/", "%2F"))
    store = PostgresStore(wrong)
    with pytest.raises(AuditError) as info:
        await store.head()
    msg = str(info.value)
    assert "password authentication failed" in msg and "\n" not in msg
    assert secret not in msg and "Sup3r" not in msg and pg_lab.password not in msg
    assert secret not in repr(store) and "%2F" not in repr(store)
    down = PostgresStore(f"postgresql://dcops:{pg_lab.password}@127.0.0.1:1/dcops", connect_timeout=2)
    with pytest.raises(AuditError, match="cannot be reached") as info:
        await down.head()
    assert pg_lab.password not in str(info.value)


async def test_a_cancelled_caller_still_gets_its_record_written(pg_url: str) -> None:
    import asyncio

    store = PostgresStore(pg_url)
    try:
        await store.head()  # connected: the append below is all that is left
        task = asyncio.create_task(store.append([entry(1)]))
        await asyncio.sleep(0)  # the append has begun talking to the server
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        for _ in range(100):
            if (await store.head())[0] == 1:
                break
            await asyncio.sleep(0.05)
        assert (await store.head())[0] == 1 and (await store.verify()).ok
    finally:
        await store.aclose()


async def test_journals_are_shared_and_copied_for_a_resume(pg_url: str) -> None:
    writer, resumer = PostgresStore(pg_url), PostgresStore(pg_url)
    try:
        await writer.journal_put("r1", "gpu001", {"state": "flashed"})
        await writer.journal_put("r1", "gpu002", {"state": "pending"})
        await writer.journal_put("r1", "gpu002", {"state": "failed", "error": "task Exception"})
        assert await resumer.journal_get("r1", "gpu002") == {"state": "failed", "error": "task Exception"}
        assert await resumer.journal_get("r1", "gpu009") is None
        await resumer.journal_put("r2", "gpu001", {"state": "stale"})
        await resumer.journal_copy("r1", "r2")
        assert await writer.journal_items("r2") == {
            "gpu001": {"state": "flashed"},
            "gpu002": {"state": "failed", "error": "task Exception"},
        }
    finally:
        await writer.aclose()
        await resumer.aclose()


async def test_node_locks_all_or_nothing_and_the_holder_is_named_from_the_lock(pg_url: str) -> None:
    from dcops.actions.errors import LockBusy

    a, b = PostgresStore(pg_url), PostgresStore(pg_url)
    try:
        held = await a.lock(["gpu002"], "r-holder", wait=0)
        sql(
            pg_url,
            "INSERT INTO node_locks (node, run_id) VALUES ('gpu002', 'r-stale') "
            "ON CONFLICT (node) DO UPDATE SET run_id = 'r-stale', owner = NULL",
        )
        with pytest.raises(LockBusy, match="gpu002 is locked by run r-holder"):
            await b.lock(["gpu001", "gpu002", "gpu003"], "r-second", wait=0.3)
        other = await b.lock(["gpu001", "gpu003"], "r-third", wait=0)  # nothing was left half-taken
        await other.release()
        await held.release()
        again = await b.lock(["gpu001", "gpu002", "gpu003"], "r-fourth", wait=0)
        await again.release()
    finally:
        await a.aclose()
        await b.aclose()


async def test_a_lost_lock_session_frees_the_node_and_is_logged_at_release(pg_url: str, caplog) -> None:
    a, b = PostgresStore(pg_url), PostgresStore(pg_url)
    try:
        held = await a.lock(["gpu007"], "r-cut-off", wait=0)
        sql(
            pg_url,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'dcops-lock r-cut-off'",
        )
        taken = await b.lock(["gpu007"], "r-next", wait=5)  # the server ended the session: lock gone
        await taken.release()
        with caplog.at_level("WARNING", logger="dcops.store.locks"):
            await held.release()
        assert "r-cut-off: the lock session on gpu007 was lost" in caplog.text
    finally:
        await a.aclose()
        await b.aclose()


async def test_migrate_rolls_back_when_the_source_grows_during_the_copy(pg_url: str, tmp_path: Path) -> None:
    src = await _sqlite_with_history(tmp_path / "audit.db")
    real_head = src.head

    async def head_after_a_console_wrote():  # a console still writing to the old log
        await src.append([entry(40)])
        return await real_head()

    src.head = head_after_a_console_wrote  # type: ignore[method-assign]
    try:
        with pytest.raises(AuditError, match="changed during the migration; nothing was copied"):
            await migrate(src, pg_url)
    finally:
        await src.aclose()
    report = await verify(pg_url)
    assert report.ok and report.records == 0


def cut_connections(pg_url: str) -> None:
    """Terminate every other session on the test database, as a server restart would."""
    sql(
        pg_url,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )


async def test_pooled_connections_cut_while_idle_do_not_fail_the_next_action(pg_url: str) -> None:
    import asyncio

    store = PostgresStore(pg_url, idle_check=0.2)
    try:
        await store.append([entry(1)])
        cut_connections(pg_url)  # as a server restart would
        await asyncio.sleep(0.3)
        await store.append([entry(2)])
        assert (await store.head())[0] == 2 and (await store.verify()).ok
    finally:
        await store.aclose()


async def test_a_connection_cut_while_in_use_fails_one_append_in_one_line_then_the_next_reconnects(pg_url: str) -> None:
    store = PostgresStore(pg_url, idle_check=3600)  # never pinged before use: the cut is found by the append
    try:
        await store.append([entry(1)])
        cut_connections(pg_url)
        with pytest.raises(AuditError) as failed:
            await store.append([entry(2)])
        message = str(failed.value)
        assert message.startswith("audit database postgresql://") and "\n" not in message, message
        await store.append([entry(3)])  # the pool dropped the broken connection: a new one
    finally:
        await store.aclose()
    check = PostgresStore(pg_url)
    try:
        assert (await check.head())[0] == 2 and (await check.verify()).ok
    finally:
        await check.aclose()

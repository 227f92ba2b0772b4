"""The PostgreSQL verify reads the log as raw COPY text (``store/verify_copy.py``), a bytes twin of
``verify_fast``'s loop: a differential test holds it to the reference walk, ``verify_fast`` over
rows psycopg decoded, on a log full of the strings COPY escapes or JSON escapes (quotes,
backslashes, tabs, newlines, control characters, non-ASCII), NULLs next to the literal text
``\\N``, floats whose spellings differ between PostgreSQL and Python, and every tampering of them."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from dcops.actions.store.base import AuditEntry, VerifyReport
from dcops.actions.store.chain import GENESIS
from dcops.actions.store.postgres import PostgresStore
from dcops.actions.store.verify_fast import node_groups_sql, rows_sql, verify_fast

pytestmark = pytest.mark.lab

HOSTILE = ['quote " in it', "back\\slash", "tab\there", "new\nline", "bell\x07", "gpü-ß", "\\N", "N"]
DURATIONS = [None, 100.0, 1e-07, 1e16, 2.5, 0.1 + 0.2, 123456789.123]


def entry(i: int) -> AuditEntry:
    text = HOSTILE[i % len(HOSTILE)]
    return AuditEntry(
        ts=f"2026-11-29T04:00:{i:02d}.000000+00:00",
        run_id=f"r{i}",
        event="finished" if i % 2 else "started",
        principal="unix:alice" if i % 5 else f"slack:{text}",
        channel="cli",
        action="drain",
        targets=[f"gpu{i:03d}"] + ([f"n{text}"] if i % 4 == 0 else []),
        params={"nodes": f"gpu{i:03d}", "reason": text, "n": i},
        decision=None if i % 3 == 0 else "allow",
        outcome="ok" if i % 2 else None,
        detail=text if i % 2 else None,
        error=None if i % 7 else text,
        duration=DURATIONS[i % len(DURATIONS)],
    )


N = 40


@pytest.fixture
async def log(pg_url: str) -> str:
    store = PostgresStore(pg_url)
    try:
        for i in range(1, N + 1, 8):  # several appends: several transactions
            await store.append([entry(j) for j in range(i, min(i + 8, N + 1))])
    finally:
        await store.aclose()
    return pg_url


def reference(url: str) -> VerifyReport:
    """``verify_fast`` over rows psycopg decoded, in one snapshot: the walk SQLite runs."""
    everything = (-(1 << 62),)
    with psycopg.connect(url) as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        with conn.transaction():
            rows = conn.execute(rows_sql("WHERE seq > %s"), everything).fetchall()
            groups = conn.execute(node_groups_sql("postgres", "WHERE seq > %s"), everything).fetchall()
            cols = "seq, ts, run_id, event, principal, channel, action, targets, params, decision, outcome, duration, error, detail, owner, prev_hash, hash"

            def slow_row(seq: int) -> Any:
                return conn.execute(f"SELECT {cols} FROM audit WHERE seq = %s", (seq,)).fetchone()

            def slow_nodes(seq: int) -> list[str]:
                sql = (
                    "SELECT n.node FROM audit_nodes n JOIN audit a ON a.seq = n.seq "
                    "AND a.ts IS NOT DISTINCT FROM n.ts WHERE n.seq = %s"
                )
                return [r[0] for r in conn.execute(sql, (seq,))]

            return verify_fast(rows, groups, slow_row, slow_nodes, start=(0, GENESIS))


async def verify(url: str) -> VerifyReport:
    store = PostgresStore(url)
    try:
        return await store.verify()
    finally:
        await store.aclose()


def sql(url: str, *stmts: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        for s in stmts:
            conn.execute(s)


async def test_a_hostile_log_verifies_alike(log: str) -> None:
    got = await verify(log)
    assert got.ok and got.records == N, got
    assert got == reference(log)


@pytest.mark.parametrize(
    "tamper",
    [
        "UPDATE audit SET detail = 'back\\slosh' WHERE seq = 1",  # a backslash value edited
        "UPDATE audit SET detail = E'tab\\there ' WHERE seq = 3",  # a tab value edited
        "UPDATE audit SET detail = E'new\\nline' WHERE seq = 5",  # a newline put in
        "UPDATE audit SET decision = NULL WHERE seq = 4",  # a value made NULL
        "UPDATE audit SET decision = '\\N' WHERE seq = 3",  # a NULL made the text COPY writes for NULL
        "UPDATE audit SET decision = 'null' WHERE seq = 3",  # a NULL made the text JSON writes for it
        "UPDATE audit SET error = E'\\x01' WHERE seq = 14",  # a raw control character
        "UPDATE audit SET duration = 'NaN' WHERE seq = 2",
        "UPDATE audit SET duration = duration + 1e-9 WHERE seq = 8",  # 100.0 nudged
        "UPDATE audit SET duration = 100 WHERE seq = 22",  # 100 where the record said 100.0: intact
        "UPDATE audit SET params = replace(params, 'back', 'BACK') WHERE seq = 9",  # escaped JSON edited
        "UPDATE audit SET params = replace(params, '\\\\', '\\\\\\\\') WHERE seq = 9",  # an escape doubled
        'UPDATE audit SET targets = \'["gpu010","nback\\\\\\\\slash"]\' WHERE seq = 12',
        "UPDATE audit SET principal = 'slack:gpü-ß ' WHERE seq = 5",  # non-ASCII edited
        "UPDATE audit SET ts = '2026-11-29T04:00:16.000000+00:00 ' WHERE seq = 16",
        "UPDATE audit SET prev_hash = repeat('a', 64) WHERE seq = 20",
        "DELETE FROM audit WHERE seq = 17",
        "UPDATE audit_nodes SET node = E'ntab\\there' WHERE seq = 4 AND node LIKE 'n%'",
        "UPDATE audit_nodes SET node = 'nback\\\\slash' WHERE seq = 12 AND node LIKE 'n%'",  # an escape spelled out
        "UPDATE audit_nodes SET ts = NULL WHERE seq = 6",
        "INSERT INTO audit_nodes (node, seq, ts) VALUES (E'x\\ty', 41, NULL)",
        # a node row duplicated: the index is compared with the targets as a multiset, as on SQLite
        "INSERT INTO audit_nodes (node, seq, ts) SELECT node, seq, ts FROM audit_nodes WHERE seq = 12 LIMIT 1",
        # the line-wide counts of copy_text: a NULL marker traded for a quote elsewhere, quotes moved
        # out of params into a scalar, a raw control character in targets, a hash with a quote
        "UPDATE audit SET decision = NULL, action = 'dr\"ain' WHERE seq = 2",
        "UPDATE audit SET params = replace(params, '\"n\":', 'n:'), principal = 'unix:\"alice\"' WHERE seq = 11",
        "UPDATE audit SET outcome = NULL, detail = 'summary' WHERE seq = 13",  # NULLs moved between columns
        "UPDATE audit SET targets = E'[\"gpu011\\x02\"]' WHERE seq = 11",
        "UPDATE audit SET hash = overlay(hash placing '\"' from 1 for 1) WHERE seq = 40",
        "UPDATE audit SET duration = 1e15 + 0.5 WHERE seq = 5",  # plain notation at the exponent border
        # one row of a group with another ts than its record: the group's ts is no longer one value
        "UPDATE audit_nodes SET ts = '2026-11-29T04:00:00.000000+00:00' WHERE seq = 4 AND node LIKE 'n%'",
    ],
)
async def test_every_tampering_is_named_alike(log: str, tamper: str) -> None:
    sql(log, tamper)
    got = await verify(log)
    assert got == reference(log)
    if "duration = 100 " not in tamper:
        assert not got.ok, tamper


async def test_a_walk_stopped_early_cancels_its_streams_and_the_store_goes_on(pg_url: str) -> None:
    """30k records are more than the sockets buffer: a break at #100 stops the walk with most of
    both COPY streams unsent; they are cancelled, and the next verify on the same store works."""
    from tests.bench.audit_scale import bulk_postgres

    first = PostgresStore(pg_url)
    await first.open()  # the schema
    await first.aclose()
    bulk_postgres(pg_url, 30_000)
    sql(pg_url, "UPDATE audit SET principal = 'unix:mallory' WHERE seq = 100")
    store = PostgresStore(pg_url)
    try:
        broken = await store.verify()
        assert (broken.ok, broken.first_bad_seq, broken.records) == (False, 100, 100)
        with psycopg.connect(pg_url) as conn:  # nothing is left running on the server
            running = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'COPY%%'"
                " AND state <> 'idle' AND pid <> pg_backend_pid()"
            ).fetchone()
        assert running == (0,)
        sql(pg_url, "UPDATE audit SET principal = (SELECT principal FROM audit WHERE seq = 99) WHERE seq = 100")
        again = await store.verify()
        assert again == reference(pg_url)
    finally:
        await store.aclose()

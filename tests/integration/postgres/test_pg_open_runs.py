"""PostgreSQL keeps ``audit_open`` (runs with a "started" and no "finished") by a trigger in the
appending transaction: every start reads it instead of every "started" record. Held to the old full
query's answer for a mixed sequence of events on both append paths (the one-statement function and
the two-round-trip INSERTs) and on both interleaved, and filled once on a database made before it
existed."""

from __future__ import annotations

import psycopg
import pytest

from dcops.actions.store.base import AuditEntry
from dcops.actions.store.postgres import PostgresStore

pytestmark = pytest.mark.lab

REFERENCE = (
    "SELECT a.seq FROM audit a WHERE a.event = 'started' AND NOT EXISTS "
    "(SELECT 1 FROM audit f WHERE f.run_id = a.run_id AND f.event = 'finished') ORDER BY a.seq"
)
EVENTS = [
    ("r1", "started"),
    ("r2", "received"),
    ("r2", "started"),
    ("r1", "step"),
    ("r3", "started"),
    ("r1", "finished"),
    ("r3", "started"),
    ("r4", "finished"),
    ("r4", "started"),
    ("r5", "started"),
    ("r2", "finished"),
    ("r2", "started"),
]


def entry(run_id: str, event: str, i: int) -> AuditEntry:
    return AuditEntry(
        ts=f"2026-12-04T09:00:{i:02d}.000000+00:00",
        run_id=run_id,
        event=event,
        principal="unix:alice",
        channel="cli",
        action="drain",
        targets=["gpu001"],
        params={"reason": "x"},
        decision="allow",
        owner="host:1",
    )


def reference(url: str) -> list[int]:
    with psycopg.connect(url, autocommit=True) as conn:
        return [r[0] for r in conn.execute(REFERENCE).fetchall()]


PATHS = {"function": True, "two-trip": False}  # store._one_trip


@pytest.mark.parametrize("paths", [["function"], ["two-trip"], ["function", "two-trip", "two-trip"]])
async def test_open_runs_agree_with_the_full_scan(pg_url: str, paths: list[str]) -> None:
    store = PostgresStore(pg_url)
    await store.open()
    assert store._one_trip
    try:
        for i, (run_id, event) in enumerate(EVENTS):
            store._one_trip = PATHS[paths[i % len(paths)]]
            await store.append([entry(run_id, event, i)])
            assert [r.seq for r in await store.open_runs()] == reference(pg_url), (i, run_id, event)
        assert [r.run_id for r in await store.open_runs()] == ["r3", "r3", "r5"]
    finally:
        await store.aclose()


async def test_a_database_from_before_the_table_is_filled_once(pg_url: str) -> None:
    store = PostgresStore(pg_url)
    try:
        for i, (run_id, event) in enumerate(EVENTS[:6]):
            await store.append([entry(run_id, event, i)])
    finally:
        await store.aclose()
    with psycopg.connect(pg_url, autocommit=True) as conn:  # what an older dcops left behind
        conn.execute("DROP TRIGGER audit_open_runs ON audit")
        conn.execute("DROP TABLE audit_open")
    again = PostgresStore(pg_url)
    try:
        assert [r.run_id for r in await again.open_runs()] == ["r2", "r3"]
        await again.append([entry("r3", "finished", 40)])
        assert [r.run_id for r in await again.open_runs()] == ["r2"]  # the trigger is back
        assert (await again.verify()).ok
    finally:
        await again.aclose()

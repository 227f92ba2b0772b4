"""Finding interrupted runs reads a small table kept by triggers, not every "started" record.

Every dcops start asks the store for open runs (a "started" and no "finished"); on a 10M-record log
the old query walked every "started" record. ``audit_open`` is kept inside the appending transaction,
and these tests hold it to the old query's answer (the reference) for any order of events, through
an upgrade of a log written before the table existed, and against a hand-edited database."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from dcops.actions.store.base import AuditEntry
from dcops.actions.store.sqlite import SqliteStore

REFERENCE = (
    "SELECT a.seq FROM audit a WHERE a.event = 'started' AND NOT EXISTS "
    "(SELECT 1 FROM audit f WHERE f.run_id = a.run_id AND f.event = 'finished') ORDER BY a.seq"
)
EVENTS = st.lists(
    st.tuples(st.sampled_from(["r1", "r2", "r3", "r4"]), st.sampled_from(["started", "finished", "received", "step"])),
    max_size=25,
)


def entry(run_id: str, event: str, i: int) -> AuditEntry:
    return AuditEntry(
        ts=f"2026-12-04T09:00:{i % 60:02d}.000000+00:00",
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


async def seqs_of_open_runs(store: SqliteStore) -> list[int]:
    return [r.seq for r in await store.open_runs()]


def reference(path: Path) -> list[int]:
    with sqlite3.connect(path) as conn:
        return [r[0] for r in conn.execute(REFERENCE)]


@settings(max_examples=60, deadline=None)
@given(events=EVENTS)
async def test_open_runs_agree_with_the_full_scan(tmp_path_factory, events: list[tuple[str, str]]) -> None:
    path = tmp_path_factory.mktemp("open") / "audit.db"
    store = SqliteStore(str(path))
    try:
        for i, (run_id, event) in enumerate(events):
            await store.append([entry(run_id, event, i)])
        assert await seqs_of_open_runs(store) == reference(path)
    finally:
        await store.aclose()


async def test_a_log_from_before_the_table_is_filled_once_on_open(tmp_path: Path) -> None:
    path = tmp_path / "audit.db"
    store = SqliteStore(str(path))
    for i, (run_id, event) in enumerate([("r1", "started"), ("r2", "started"), ("r1", "finished"), ("r3", "started")]):
        await store.append([entry(run_id, event, i)])
    await store.aclose()
    with sqlite3.connect(path) as conn:  # what an older dcops left behind
        conn.executescript(
            "DROP TRIGGER audit_open_started; DROP TRIGGER audit_open_finished; "
            "DROP TABLE audit_open; PRAGMA user_version = 0;"
        )
        conn.execute(
            "INSERT INTO audit (seq, ts, run_id, event, principal, channel, action, targets, params, "
            "prev_hash, hash) SELECT 5, ts, 'r4', 'started', principal, channel, action, targets, params, "
            "'x', 'y' FROM audit WHERE seq = 4"
        )  # written by the old version, after the others
    reopened = SqliteStore(str(path))
    try:
        assert [r.run_id for r in await reopened.open_runs()] == ["r2", "r3", "r4"]
        await reopened.append([entry("r2", "finished", 9)])
        assert [r.run_id for r in await reopened.open_runs()] == ["r3", "r4"]  # the triggers are back
    finally:
        await reopened.aclose()

"""A verify split over worker processes (``store/verify_split.py``) says exactly what the serial
walk says, for an intact log and for every kind of tampering, wherever it falls relative to the
range boundaries: a differential test, the serial walk being the reference."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from dcops.actions.store import sqlite as sqlite_store
from dcops.actions.store.base import AuditEntry
from dcops.actions.store.sqlite import SqliteStore
from dcops.actions.store.verify_split import join_reports, split_points
from tests.verify_split_cases import TAMPERINGS, N


def entry(i: int) -> AuditEntry:
    return AuditEntry(
        ts=f"2026-11-29T04:00:{i:02d}.000000+00:00",
        run_id=f"r{i}",
        event="started",
        principal="unix:alice",
        channel="cli",
        action="drain",
        targets=[f"gpu{i:03d}"] + (["gpu900"] if i % 3 == 0 else []),
        params={"nodes": f"gpu{i:03d}"},
        decision="allow",
    )


async def both(path: Path, monkeypatch: pytest.MonkeyPatch, expect_head: tuple[int, str] | None = None) -> tuple:
    """(serial report, split report) of the log at ``path``."""
    reports = []
    for parts in (1, 3):
        monkeypatch.setattr(sqlite_store, "workers_for", lambda n, parts=parts: parts)
        store = SqliteStore(str(path))
        try:
            reports.append(await store.verify(expect_head))
        finally:
            await store.aclose()
    return tuple(reports)


@pytest.fixture
async def log(tmp_path: Path) -> Path:
    store = SqliteStore(str(tmp_path / "audit.db"))
    await store.append([entry(i) for i in range(1, N + 1)])
    await store.aclose()
    return tmp_path / "audit.db"


def sql(path: Path, *stmts: str) -> None:
    conn = sqlite3.connect(path)
    for s in stmts:
        conn.execute(s)
    conn.commit()
    conn.close()


async def test_an_intact_log_verifies_alike(log: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    serial, split = await both(log, monkeypatch)
    assert serial.ok and serial.records == N
    assert split == serial


@pytest.mark.parametrize("tamper", TAMPERINGS)
async def test_every_tampering_is_named_alike(log: Path, monkeypatch: pytest.MonkeyPatch, tamper: list[str]) -> None:
    sql(log, *tamper)
    serial, split = await both(log, monkeypatch)
    assert not serial.ok
    assert split == serial


async def test_a_checkpoint_inside_a_later_range_is_checked_there(log: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    conn = sqlite3.connect(log)
    head = conn.execute("SELECT seq, hash FROM audit WHERE seq = 25").fetchone()
    conn.close()
    serial, split = await both(log, monkeypatch, expect_head=(25, "0" * 64))
    assert not serial.ok and "checkpoint" in (serial.problem or "") and split == serial
    serial, split = await both(log, monkeypatch, expect_head=(40, head[1]))  # newest records removed
    assert not serial.ok and "chain ends at #30" in (serial.problem or "") and split == serial


def test_ranges_cover_the_log_once() -> None:
    cuts = split_points(0, 10_000_000, 3)
    assert cuts == [3_333_333, 6_666_666]
    assert split_points(500, 600, 2) == [550]


def test_a_range_that_ends_short_of_its_boundary_is_a_broken_link() -> None:
    from dcops.actions.store.base import VerifyReport

    first = VerifyReport(ok=True, records=9, head_seq=9, head_hash="a" * 64)
    second = VerifyReport(ok=True, records=10, head_seq=20, head_hash="b" * 64)
    joined = join_reports([first, second], [10, None], [(0, "0" * 64), (10, "c" * 64)])
    assert not joined.ok and joined.first_bad_seq == 11 and "jumps from #9" in (joined.problem or "")

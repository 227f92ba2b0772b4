"""The cold-cache prefetch of a long SQLite verify (``store/sqlite_prefetch.py``): the leaves it finds
are the leaves SQLite has (``dbstat`` is the oracle, a leaf's own keys the oracle for a range), a
file not to be trusted ends its walk without harm, and a verify with it says exactly what a verify
without it says, for an intact log and for every tampering, including those aimed at the rowid
order of the node index (rows moved, deleted, duplicated, pushed far out)."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import struct
from pathlib import Path

import pytest

from dcops.actions.store import sqlite as sqlite_store
from dcops.actions.store import sqlite_prefetch
from dcops.actions.store.base import AuditEntry
from dcops.actions.store.sqlite import SqliteStore
from dcops.actions.store.sqlite_prefetch import Prefetch, leaf_pages, runs
from tests.verify_split_cases import TAMPERINGS, N

PAGE = 512  # small pages: a few thousand records make a b-tree three levels deep


def entry(i: int, width: int = 1) -> AuditEntry:
    return AuditEntry(
        ts=f"2026-11-29T04:{i // 60 % 60:02d}:{i % 60:02d}.000000+00:00",
        run_id=f"r{i}",
        event="started",
        principal="unix:alice",
        channel="cli",
        action="drain",
        targets=[f"gpu{i + k:04d}" for k in range(width)] + (["gpu900"] if i % 3 == 0 else []),
        params={"nodes": f"gpu{i:04d}"},
        decision="allow",
    )


async def new_log(path: Path, count: int, width: int = 1) -> Path:
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA page_size = {PAGE}")
    conn.execute("VACUUM")
    conn.close()
    store = SqliteStore(str(path))
    for i in range(1, count + 1, 100):
        await store.append([entry(j, width) for j in range(i, min(count, i + 99) + 1)])
    await store.aclose()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the walk reads the main file, as a verify's would be
    conn.close()
    return path


@pytest.fixture(scope="module")
def deep(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return asyncio.run(new_log(tmp_path_factory.mktemp("deep") / "audit.db", 3000, width=2))


def roots(path: Path) -> dict[str, int]:
    conn = sqlite3.connect(path)
    try:
        return dict(conn.execute("SELECT name, rootpage FROM sqlite_schema WHERE type = 'table'").fetchall())
    finally:
        conn.close()


def dbstat_leaves(path: Path, table: str) -> tuple[list[int], int]:
    """SQLite's own list of a table's leaves in key order, and the tree's depth."""
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute(
            "SELECT pageno, pagetype, path FROM dbstat WHERE name = ? ORDER BY path", (table,)
        ).fetchall()
    finally:
        conn.close()
    return [p for p, kind, _ in rows if kind == "leaf"], max(path.count("/") for _, _, path in rows)


def leaf_keys(path: Path, page: int) -> list[int]:
    """The rowids a table leaf page holds, read from its cells (varint payload size, varint rowid)."""
    data = path.read_bytes()[(page - 1) * PAGE : page * PAGE]
    assert data[0] == 0x0D
    cells = struct.unpack_from(">H", data, 3)[0]
    keys = []
    for off in struct.unpack_from(f">{cells}H", data, 8):
        at = off
        while data[at] & 0x80:  # the payload size
            at += 1
        keys.append(sqlite_prefetch._varint(data, at + 1))
    return keys


@pytest.mark.parametrize("table", ["audit", "audit_nodes"])
def test_the_leaves_found_are_sqlites_own_in_key_order(deep: Path, table: str) -> None:
    expected, depth = dbstat_leaves(deep, table)
    assert depth >= 3, "the log must make a tree with interior pages below the root"
    assert leaf_pages(str(deep), roots(deep)[table], None, None) == expected


@pytest.mark.parametrize(("lo", "hi"), [(0, 1), (1, 2), (100, 101), (1234, 2345), (2990, None), (None, 7), (6000, None)])
def test_a_ranges_leaves_are_those_holding_its_keys(deep: Path, lo: int | None, hi: int | None) -> None:
    every, _ = dbstat_leaves(deep, "audit")
    low, high = -1 if lo is None else lo, 1 << 62 if hi is None else hi
    holding = [p for p in every if any(low < k <= high for k in leaf_keys(deep, p))]
    found = leaf_pages(str(deep), roots(deep)["audit"], lo, hi)
    # an interior key bounds its child from above only: the leaf past the last key may come along
    assert found[: len(holding)] == holding and len(found) - len(holding) <= 1
    assert found == [p for p in every if p in found]  # in key order


def test_runs_join_near_pages_and_keep_the_order() -> None:
    assert runs([3, 4, 5, 9, 30, 2], 512, gap=3) == [(1024, 1536 + 2048), (29 * 512, 512), (512, 512)]
    assert runs([], 512) == []


@pytest.mark.parametrize(
    "damage",
    [
        "cycle",  # an interior page pointing back at the root
        "beyond",  # a child beyond the end of the file
        "kind",  # a page that is no table b-tree page
    ],
)
def test_a_file_not_to_be_trusted_ends_the_walk(deep: Path, tmp_path: Path, damage: str) -> None:
    bad = tmp_path / "bad.db"
    shutil.copy(deep, bad)
    root = roots(bad)["audit"]
    data = bytearray(bad.read_bytes())
    at = (root - 1) * PAGE + (100 if root == 1 else 0)
    assert data[at] == 0x05
    if damage == "cycle":
        struct.pack_into(">I", data, at + 8, root)
    elif damage == "beyond":
        struct.pack_into(">I", data, at + 8, len(data) // PAGE + 10)
    else:
        child = struct.unpack_from(">I", data, at + 8)[0]
        data[(child - 1) * PAGE] = 0x07
    bad.write_bytes(bytes(data))
    with pytest.raises(ValueError):
        leaf_pages(str(bad), root, None, None)
    with Prefetch(str(bad), [(root, None, None)], lambda: 1.0) as prefetch:
        pass
    assert not prefetch.finished  # ended without a word, and without raising into the verify


def test_the_prefetch_asks_a_window_ahead_and_then_the_rest(deep: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    every, _ = dbstat_leaves(deep, "audit")
    monkeypatch.setattr(sqlite_prefetch, "WINDOW", 4 * PAGE)
    progress = [0.0]
    prefetch = Prefetch(str(deep), [(roots(deep)["audit"], None, None)], lambda: progress[0])
    with prefetch:
        for _ in range(100):
            if prefetch.asked:
                break
            prefetch._stop.wait(0.02)
        assert 4 * PAGE <= prefetch.asked < len(every) * PAGE // 2  # a window, not the whole table
        progress[0] = 1.0
        for _ in range(100):
            if prefetch.finished:
                break
            prefetch._stop.wait(0.02)
    assert prefetch.finished and prefetch.asked >= len(every) * PAGE


# tamperings aimed at the rowid order of the node index (the prefetch computes rowid bounds from it)
_MOVE = "UPDATE audit_nodes SET rowid = {to} WHERE rowid = (SELECT min(rowid) FROM audit_nodes WHERE seq = {seq})"
ROWID_TAMPERINGS: list[list[str]] = [
    [_MOVE.format(to=-5, seq=25)],  # a row of the third range moved before every other row
    [_MOVE.format(to=1 << 40, seq=3)],  # a row of the first range moved far past the end
    [_MOVE.format(to=1 << 40, seq=3), "UPDATE audit_nodes SET node = 'gpu777' WHERE rowid = 1 << 40"],
    ["DELETE FROM audit_nodes WHERE rowid = (SELECT min(rowid) FROM audit_nodes WHERE seq = 11)"],
    ["INSERT INTO audit_nodes (rowid, node, seq, ts) SELECT 1 << 41, node, seq, ts FROM audit_nodes WHERE seq = 20"],
    ["INSERT INTO audit_nodes (rowid, node, seq, ts) SELECT -9, node, seq, ts FROM audit_nodes WHERE seq = 21"],
    [
        "CREATE TABLE shuffled AS SELECT node, seq, ts FROM audit_nodes ORDER BY node DESC",
        "DELETE FROM audit_nodes",
        "INSERT INTO audit_nodes (node, seq, ts) SELECT node, seq, ts FROM shuffled",  # every row out of order
    ],
]
ROWID_INTACT = {0, 1, 6}  # the index still names every record's nodes: only the order changed


async def reports(path: Path, monkeypatch: pytest.MonkeyPatch, seen: list[Prefetch]) -> list:
    """(serial, split) without the prefetch, then (serial, split) with it on for any range."""
    original_exit = Prefetch.__exit__

    def spy(self: Prefetch, *exc: object) -> None:
        original_exit(self, *exc)
        seen.append(self)

    monkeypatch.setattr(Prefetch, "__exit__", spy)
    out = []
    for least in (1 << 40, 0):
        monkeypatch.setattr(sqlite_store, "PREFETCH_MIN", least)
        for parts in (1, 3):
            monkeypatch.setattr(sqlite_store, "workers_for", lambda n, parts=parts: parts)
            store = SqliteStore(str(path))
            try:
                out.append(await store.verify())
            finally:
                await store.aclose()
    return out


@pytest.fixture
async def log(tmp_path: Path) -> Path:
    from tests.unit.core.test_verify_split import entry as split_entry

    store = SqliteStore(str(tmp_path / "audit.db"))
    await store.append([split_entry(i) for i in range(1, N + 1)])
    await store.aclose()
    return tmp_path / "audit.db"


def sql(path: Path, *stmts: str) -> None:
    conn = sqlite3.connect(path)
    for s in stmts:
        conn.execute(s)
    conn.commit()
    conn.close()


@pytest.mark.parametrize("case", range(len(TAMPERINGS) + len(ROWID_TAMPERINGS) + 1))
async def test_a_verify_with_the_prefetch_says_what_it_says_without(
    log: Path, monkeypatch: pytest.MonkeyPatch, case: int
) -> None:
    tamper = [] if case == 0 else (TAMPERINGS + ROWID_TAMPERINGS)[case - 1]
    sql(log, *tamper)
    seen: list[Prefetch] = []
    without_serial, without_split, with_serial, with_split = await reports(log, monkeypatch, seen)
    assert with_serial == with_split == without_serial == without_split
    assert seen, "the prefetch ran beside the in-process verify"
    rowid_case = case - len(TAMPERINGS) - 1
    intact = case == 0 or rowid_case in ROWID_INTACT
    assert with_serial.ok is intact, (tamper, with_serial)
    if not intact and rowid_case >= 0:
        assert "node search index" in (with_serial.problem or ""), with_serial

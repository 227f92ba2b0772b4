"""The node index's physical (rowid) order is never trusted by a SQLite verify: rows moved in the
table, pushed far past the end, put before every other row, deleted, duplicated, or the whole table
rewritten in another order. Whatever the order, a verify judges the index by its content, and the
split verify (worker processes over seq ranges) says exactly what the serial walk says.

Why this matters: a dcops log's node rows are appended in seq order, so rowid order is seq order,
and a faster verify could read the table in rowid order instead of through ``audit_nodes_seq``.
That route was measured and not taken (see ``tests/bench/audit_scale.py --cold``), but these are
the tamperings any such route must survive; today's index path must already survive them."""

from __future__ import annotations

from pathlib import Path

import pytest

from dcops.actions.store.sqlite import SqliteStore
from tests.unit.core.test_verify_split import both, entry, sql
from tests.verify_split_cases import N

_MOVE = "UPDATE audit_nodes SET rowid = {to} WHERE rowid = (SELECT min(rowid) FROM audit_nodes WHERE seq = {seq})"
INTACT: list[list[str]] = [
    [_MOVE.format(to=-5, seq=25)],  # a row of the third range moved before every other row
    [_MOVE.format(to=1 << 40, seq=3)],  # a row of the first range moved far past the end
    [_MOVE.format(to=1 << 40, seq=12), _MOVE.format(to=-7, seq=12)],  # a record's rows in reverse order
    [
        "CREATE TABLE shuffled AS SELECT node, seq, ts FROM audit_nodes ORDER BY node DESC",
        "DELETE FROM audit_nodes",
        "INSERT INTO audit_nodes (node, seq, ts) SELECT node, seq, ts FROM shuffled",  # every row out of order
    ],
]
EDITED: list[tuple[list[str], int]] = [  # the tampering, the record whose index it breaks
    ([_MOVE.format(to=1 << 40, seq=3), "UPDATE audit_nodes SET node = 'gpu777' WHERE rowid = 1 << 40"], 3),
    (["DELETE FROM audit_nodes WHERE rowid = (SELECT min(rowid) FROM audit_nodes WHERE seq = 11)"], 11),
    (
        [
            "INSERT INTO audit_nodes (rowid, node, seq, ts) SELECT (1 << 41) + rowid, node, seq, ts FROM audit_nodes WHERE seq = 20"
        ],
        20,
    ),
    (
        ["INSERT INTO audit_nodes (rowid, node, seq, ts) SELECT -rowid, node, seq, ts FROM audit_nodes WHERE seq = 21"],
        21,
    ),
    (["INSERT INTO audit_nodes (node, seq, ts) SELECT node, seq, ts FROM audit_nodes WHERE seq = 9"], 9),  # duplicated
    (["UPDATE audit_nodes SET ts = CAST(ts AS BLOB) WHERE seq = 14"], 14),  # the same bytes, not the same ts
    (["UPDATE audit_nodes SET node = CAST(node AS BLOB) WHERE seq = 16"], 16),  # a search by name misses a blob
]


@pytest.fixture
async def log(tmp_path: Path) -> Path:
    store = SqliteStore(str(tmp_path / "audit.db"))
    await store.append([entry(i) for i in range(1, N + 1)])
    await store.aclose()
    return tmp_path / "audit.db"


@pytest.mark.parametrize("tamper", INTACT)
async def test_rows_in_another_order_with_the_same_content_verify(
    log: Path, monkeypatch: pytest.MonkeyPatch, tamper: list[str]
) -> None:
    sql(log, *tamper)
    serial, split = await both(log, monkeypatch)
    assert serial.ok and serial.records == N, serial
    assert split == serial


@pytest.mark.parametrize(("tamper", "seq"), EDITED)
async def test_rows_edited_wherever_they_sit_are_caught(
    log: Path, monkeypatch: pytest.MonkeyPatch, tamper: list[str], seq: int
) -> None:
    sql(log, *tamper)
    serial, split = await both(log, monkeypatch)
    assert not serial.ok and "node search index" in (serial.problem or "") and serial.first_bad_seq == seq, serial
    assert split == serial

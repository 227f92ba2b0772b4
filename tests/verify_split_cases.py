"""The tamperings a split verify must name exactly as the serial walk does, on a log of 30 records
split into three ranges (boundaries at #10 and #20): shared by the SQLite and PostgreSQL
differential tests (tests/unit/core/test_verify_split.py, tests/integration/postgres/test_pg_verify_split.py)."""

from __future__ import annotations

N = 30  # three ranges of 10: the boundaries are records #10 and #20

TAMPERINGS: list[list[str]] = [
    ["UPDATE audit SET principal = 'unix:mallory' WHERE seq = 15"],  # inside the second range
    ["UPDATE audit SET principal = 'unix:mallory' WHERE seq = 10"],  # the last record of a range
    ["UPDATE audit SET principal = 'unix:mallory' WHERE seq = 11"],  # the first record of a range
    ["UPDATE audit SET hash = '" + "f" * 64 + "' WHERE seq = 20"],  # a boundary's own hash
    ["DELETE FROM audit WHERE seq = 20"],  # a boundary record removed
    ["DELETE FROM audit WHERE seq = 21"],  # the record after a boundary removed
    ["DELETE FROM audit WHERE seq = 30"],  # the newest record removed
    ["UPDATE audit_nodes SET node = 'gpu777' WHERE seq = 12"],  # index of the second range
    ["INSERT INTO audit_nodes (node, seq, ts) VALUES ('gpu001', 31, NULL)"],  # index beyond the head
    ["INSERT INTO audit_nodes (node, seq, ts) VALUES ('gpu001', 0, NULL)"],  # index before the first
    # an index problem early and a broken record late: the broken chain is named, as serially
    ["UPDATE audit_nodes SET node = 'gpu777' WHERE seq = 2", "UPDATE audit SET detail = 'x' WHERE seq = 25"],
]

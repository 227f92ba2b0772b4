"""Audit records as PostgreSQL rows, both ways: new entries hashed onto the chain (``chain.py``), and
stored records copied verbatim (migration). Targets and params are written as the same JSON text the
SQLite store writes, so one row parser (``sqlite._row_to_record``) reads both stores."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from .base import AuditEntry, AuditRecord
from .chain import record_hash
from .pg_schema import COLS

Row = tuple[Any, ...]


def _row(content: dict[str, Any]) -> Row:
    """``content`` has every column; targets and params become JSON text, the rest goes as it is."""
    return tuple(json.dumps(content[c]) if c == "targets" else
                 json.dumps(content[c], sort_keys=True, default=str) if c == "params" else content[c]
                 for c in COLS)


def chain_rows(seq: int, prev: str, entries: Sequence[AuditEntry]) -> tuple[list[Row], list[tuple[str, int]]]:
    """The audit rows (in ``COLS`` order) and node-index rows that extend the chain at head (seq, prev)."""
    rows: list[Row] = []
    nodes: list[tuple[str, int]] = []
    for entry in entries:
        seq += 1
        content = dict(entry.__dict__, seq=seq)
        digest = record_hash(prev, content)
        rows.append(_row(content | {"prev_hash": prev, "hash": digest}))
        nodes.extend((t, seq) for t in entry.targets)
        prev = digest
    return rows, nodes


def record_row(rec: AuditRecord) -> Row:
    """A stored record as a row, verbatim: its own seq, prev_hash and hash."""
    return _row(rec.model_dump())


def glob_to_like(pattern: str) -> str:
    """The SQLite store filters with shell globs (``drain*``); the same filter as a LIKE pattern."""
    out = pattern.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return out.replace("*", "%").replace("?", "_")

"""Audit records as PostgreSQL rows, both ways: new entries hashed onto the chain (``chain.py``), and
stored records copied verbatim (migration). Targets and params are written as the same JSON text the
SQLite store writes, so one row parser (``sqlite._row_to_record``) reads both stores."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

from .base import AuditEntry, AuditRecord
from .chain import _FIELDS, canonical, stored_json
from .pg_schema import COLS

Row = tuple[Any, ...]


def _row(content: dict[str, Any]) -> Row:
    """``content`` has every column; targets and params become JSON text (``chain.stored_json``), the rest goes as it is."""
    return tuple(stored_json(content[c]) if c in ("targets", "params") else content[c] for c in COLS)


def record_row(rec: AuditRecord) -> Row:
    """A stored record as a row, verbatim: its own seq, prev_hash and hash."""
    return _row(rec.model_dump())


def glob_to_like(pattern: str) -> str:
    """The SQLite store filters with shell globs (``drain*``); the same filter as a LIKE pattern."""
    out = pattern.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return out.replace("*", "%").replace("?", "_")


# ------------------------------------------------------------------ one round trip per append
# The columns the server-side append function (pg_schema.APPEND_FUNCTION) takes from each entry, in
# this order; seq, prev_hash and hash it computes itself under the chain lock.
BATCH_COLS = (
    "ts",
    "run_id",
    "event",
    "principal",
    "channel",
    "action",
    "targets",
    "params",
    "decision",
    "outcome",
    "duration",
    "error",
    "detail",
    "owner",
)
_BEFORE_SEQ = tuple(k for k in sorted(_FIELDS) if k < "seq")
_AFTER_SEQ = tuple(k for k in sorted(_FIELDS) if k > "seq")


def canonical_around_seq(content: dict[str, Any]) -> tuple[str, str]:
    """The record's canonical text (``chain.canonical``) split around its seq value, so the server can
    hash a record whose seq it only learns under the chain lock: ``pre + str(seq) + post`` is exactly
    ``canonical(content | {"seq": seq})`` (keys are sorted, seq is a plain integer)."""
    lower = stored_json({k: content.get(k) for k in _BEFORE_SEQ})  # (one encoder built once: chain.stored_json)
    upper = stored_json({k: content.get(k) for k in _AFTER_SEQ})
    return lower[:-1] + ',"seq":', "," + upper[1:]


def append_batch(entries: Sequence[AuditEntry]) -> str | None:
    """The JSON argument of the server-side append: per entry its column values (targets and params
    as the stored JSON text), the canonical text around seq, and its node-index rows. None when an
    entry cannot travel as JSON exactly (a non-finite duration): the caller then appends the old way."""
    batch = []
    for entry in entries:
        content = entry.__dict__
        duration = content["duration"]
        if duration is not None and not (isinstance(duration, (int, float)) and math.isfinite(duration)):
            return None
        pre, post = canonical_around_seq(content)
        values = [stored_json(content[c]) if c in ("targets", "params") else content[c] for c in BATCH_COLS]
        batch.append({"c": values, "pre": pre, "post": post, "nodes": list(entry.targets)})
    return json.dumps(batch, ensure_ascii=False, allow_nan=False)


def _check_split(content: dict[str, Any], seq: int) -> bool:
    """For tests: the split and the chain's own canonical form agree."""
    pre, post = canonical_around_seq(content)
    return (pre + str(seq) + post).encode() == canonical(dict(content, seq=seq))

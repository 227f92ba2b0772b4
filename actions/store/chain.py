"""The hash chain: each record's hash covers its canonical content and the previous hash.

What verify can detect on its own: any edited field (the record's hash no longer matches), a
deleted or inserted record (a gap in seq, or a broken link), reordered records (seq is inside
the hash), a forged record with a recomputed hash (its link to the previous hash is wrong) and a
fork (two records claiming the same predecessor). What it cannot detect alone: removal of the
newest N records (the shorter chain is still self-consistent) — store ``dcops audit head``
elsewhere and pass it back as ``--expect-head`` to catch that.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from typing import Any

from .base import AuditEntry, AuditRecord, VerifyReport

GENESIS = "0" * 64
_FIELDS = (  # the hashed fields of a record
    "seq",
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
STORED_COLUMNS = (*_FIELDS, "prev_hash", "hash")  # the audit table's columns, in this order, in both stores


# targets and params as the stores write them: exactly their bytes inside ``canonical`` (sorted keys,
# no spaces, UTF-8 kept), so a verify can splice the stored text instead of re-encoding it
# (verify_fast.py). Readers only ``json.loads`` these columns; older spaced text still verifies.
# One encoder, built once: ``json.dumps`` with these options builds a new JSONEncoder per call.
stored_json = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode


def canonical(content: dict[str, Any]) -> bytes:
    return stored_json({k: content.get(k) for k in _FIELDS}).encode()


def record_hash(prev_hash: str, content: dict[str, Any]) -> str:
    h = hashlib.sha256(prev_hash.encode())
    h.update(canonical(content))
    return h.hexdigest()


def verify_records(records: Iterable[AuditRecord], expect_head: tuple[int, str] | None = None) -> VerifyReport:
    prev_hash, prev_seq, count = GENESIS, 0, 0
    for rec in records:
        count += 1
        content = rec.model_dump()
        if rec.seq != prev_seq + 1:
            return VerifyReport(
                ok=False,
                records=count,
                head_seq=prev_seq,
                head_hash=prev_hash,
                first_bad_seq=rec.seq,
                problem=f"sequence jumps from #{prev_seq} to #{rec.seq} (records deleted or inserted)",
            )
        if rec.prev_hash != prev_hash:
            return VerifyReport(
                ok=False,
                records=count,
                head_seq=prev_seq,
                head_hash=prev_hash,
                first_bad_seq=rec.seq,
                problem="link to the previous record is wrong (record forged, inserted, reordered or chain forked)",
            )
        if record_hash(prev_hash, content) != rec.hash:
            return VerifyReport(
                ok=False,
                records=count,
                head_seq=prev_seq,
                head_hash=prev_hash,
                first_bad_seq=rec.seq,
                problem="content does not match its hash (record edited)",
            )
        if expect_head is not None and rec.seq == expect_head[0] and rec.hash != expect_head[1]:
            return VerifyReport(
                ok=False,
                records=count,
                head_seq=rec.seq,
                head_hash=rec.hash,
                first_bad_seq=rec.seq,
                problem="record differs from the checkpoint (chain rewritten)",
            )
        prev_hash, prev_seq = rec.hash, rec.seq
    if expect_head is not None:
        seq = expect_head[0]
        if prev_seq < seq:
            return VerifyReport(
                ok=False,
                records=count,
                head_seq=prev_seq,
                head_hash=prev_hash,
                first_bad_seq=prev_seq + 1,
                problem=f"chain ends at #{prev_seq} but the checkpoint says #{seq} (newest records removed)",
            )
    return VerifyReport(ok=True, records=count, head_seq=prev_seq, head_hash=prev_hash)


Row = tuple[Any, ...]


def chain_rows(seq: int, prev: str, entries: Sequence[AuditEntry]) -> tuple[list[Row], list[tuple[str, int, str]]]:
    """The audit rows (``STORED_COLUMNS`` order; targets and params as ``stored_json`` text) and the
    node index rows (node, seq, ts) of ``entries`` extending the chain at head (seq, prev): the one
    encoding of both stores' appends (and of the bench generator).

    Plain dicts here, not pydantic records: this is the hot path of every action."""
    rows: list[Row] = []
    nodes: list[tuple[str, int, str]] = []
    for entry in entries:
        seq += 1
        content = dict(entry.__dict__)
        content["seq"] = seq
        if content["duration"] is not None:  # as stored and read back: a float (SQLite keeps no -0.0)
            content["duration"] = float(content["duration"]) + 0.0
        digest = record_hash(prev, content)
        targets, params = content["targets"], content["params"]
        content["targets"] = stored_json(targets) if targets else "[]"
        content["params"] = stored_json(params) if params else "{}"
        content["prev_hash"], content["hash"] = prev, digest
        rows.append(tuple(content[c] for c in STORED_COLUMNS))
        nodes.extend((t, seq, entry.ts) for t in targets)
        prev = digest
    return rows, nodes

"""Chain verification straight from stored rows, from a checkpoint onwards (incremental verify).

``chain.verify_records`` checks pydantic records from the genesis; this checks raw row tuples (the
stores' column order, ``pg_schema.COLS``) from any verified point ``(seq, hash)`` — the genesis, the
last ``audit head`` stored elsewhere, or a signed seal — so a periodic verify reads only what was
written since, and a full verify skips the per-record model validation. The rules and the messages
are ``verify_records``' own; the hash is ``chain.record_hash`` computed with one reused encoder
(``json.dumps`` with options builds a new encoder per call, a third of the cost per record).

A seal checker plugs in by passing the sealed ``(seq, hash)`` as the checkpoint after checking the
seal's signature: everything after it is then proven by the chain, everything before by the seal.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from typing import Any

from .base import VerifyReport
from .chain import GENESIS

_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
_sha256 = hashlib.sha256


def _bad(count: int, seq: int, digest: str, at: Any, problem: str) -> VerifyReport:
    return VerifyReport(ok=False, records=count, head_seq=seq, head_hash=digest, first_bad_seq=at, problem=problem)


def verify_rows(
    rows: Iterable[tuple[Any, ...]], start: tuple[int, str] = (0, GENESIS), expect_head: tuple[int, str] | None = None
) -> VerifyReport:
    """Verify rows (seq, ts, run_id, event, principal, channel, action, targets, params, decision,
    outcome, duration, error, detail, owner, prev_hash, hash), in stored order, continuing the chain
    at ``start``. ``records`` in the report counts the rows checked here, not those before ``start``."""
    prev_seq, prev_hash = start
    count = 0
    for row in rows:
        count += 1
        seq, row_prev, row_hash = row[0], row[15], row[16]
        if seq != prev_seq + 1 or row_prev != prev_hash:  # the happy path pays one comparison
            return _bad(count, prev_seq, prev_hash, seq, link_problem(prev_seq, prev_hash, seq, row_prev))
        digest = row_digest(prev_hash, row)
        if digest is None:
            return _bad(count, prev_seq, prev_hash, seq, "record cannot be read (record edited)")
        if digest != row_hash:
            return _bad(count, prev_seq, prev_hash, seq, "content does not match its hash (record edited)")
        if expect_head is not None and seq == expect_head[0] and row_hash != expect_head[1]:
            return _bad(count, seq, row_hash, seq, "record differs from the checkpoint (chain rewritten)")
        prev_seq, prev_hash = seq, row_hash
    if expect_head is not None and prev_seq < expect_head[0]:
        return _bad(
            count,
            prev_seq,
            prev_hash,
            prev_seq + 1,
            f"chain ends at #{prev_seq} but the checkpoint says #{expect_head[0]} (newest records removed)",
        )
    return VerifyReport(ok=True, records=count, head_seq=prev_seq, head_hash=prev_hash)


def row_digest(prev_hash: str, row: Sequence[Any]) -> str | None:
    """The chain hash of a stored row (``chain.record_hash`` of its content after ``prev_hash``);
    None when its JSON columns cannot be read."""
    (
        seq,
        ts,
        run_id,
        event,
        principal,
        channel,
        action,
        targets,
        params,
        decision,
        outcome,
        duration,
        error,
        detail,
        owner,
    ) = row[:15]
    try:
        content = {
            "action": action,
            "channel": channel,
            "decision": decision,
            "detail": detail,
            "duration": duration,
            "error": error,
            "event": event,
            "outcome": outcome,
            "owner": owner,
            "params": json.loads(params),
            "principal": principal,
            "run_id": run_id,
            "seq": seq,
            "targets": json.loads(targets),
            "ts": ts,
        }
        text = _ENCODER.encode(content)
    except (TypeError, ValueError):
        return None
    digest = _sha256(prev_hash.encode())
    digest.update(text.encode())
    return digest.hexdigest()


def link_problem(prev_seq: int, prev_hash: str, seq: int, row_prev: str) -> str:
    """Why record ``seq`` does not follow record ``prev_seq`` (both verify paths name it alike)."""
    if seq != prev_seq + 1:
        return f"sequence jumps from #{prev_seq} to #{seq} (records deleted or inserted)"
    return "link to the previous record is wrong (record forged, inserted, reordered or chain forked)"


def checkpoint_problem(found: str | None, checkpoint: tuple[int, str]) -> str | None:
    """Why a stored record does not match the checkpoint a verify starts from (None when it does)."""
    seq, digest = checkpoint
    if seq == 0:
        return None if digest == GENESIS else "a checkpoint at #0 must carry the genesis hash"
    if found is None:
        return f"record #{seq} of the checkpoint is missing (records deleted)"
    if found != digest:
        return f"record #{seq} differs from the checkpoint (chain rewritten)"
    return None


def checkpoint_report(found: str | None, checkpoint: tuple[int, str]) -> VerifyReport | None:
    """The failed report of a verify whose starting checkpoint does not hold (None when it does):
    both stores start ``verify_since`` with it, whatever query found ``found``."""
    problem = checkpoint_problem(found, checkpoint)
    if problem is None:
        return None
    seq, digest = checkpoint
    return VerifyReport(ok=False, records=0, head_seq=seq, head_hash=digest, first_bad_seq=seq, problem=problem)

"""Chain verification at hundreds of thousands of records per second: the database assembles each
record's canonical text (``chain.canonical``) from its columns, Python only hashes and compares.

Why: re-encoding each record as JSON in Python (``verify_rows``) costs ~25 µs a record, 10M records
take minutes. Plain string concatenation in the database is cheap, and so is one SHA-256 in Python.
The text is built without escaping; a record takes this fast path only when that is provably the
exact canonical text, otherwise it is checked the slow way (``verify_rows.row_digest``) with the
same rules and messages — old logs written with spaced JSON just verify slower, never differently:

* every scalar string is spliced between quotes as is: exact when none holds ``"``, ``\\`` or a
  control character. A quote shows as an extra ``"`` (the count of quotes in the scalar parts is
  known from the number of NULLs), a backslash is looked for, and a control character can never
  match (the canonical text escapes every one);
* ``params`` and ``targets`` are spliced as the stored JSON text (the stores write them compact and
  sorted, ``chain.stored_json``). A matching hash then proves the stored text *is* the hashed text
  as long as the separator after each cannot sit inside it: ``params`` must not contain
  ``,"principal":``, ``targets`` neither that nor ``,"ts":`` (else the slow path) — a shorter,
  shifted ``params`` would push the real ``,"principal":`` into ``targets``;
* the duration is Python's own ``repr`` of the stored float, as ``json.dumps`` writes it.

The node search index is not hashed, so each record's index rows come along (a correlated
subquery: their count and names joined by ``","``, rows carrying the record's own ts only) and must
be its targets (same names, same count; else compared as sets the slow way), and the index may hold
no row that belongs to no record or carries another ts (the total count of index rows must be the
sum of the records' counts): an edited index row could otherwise hide a record from a search.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Literal

from .base import VerifyReport
from .chain import GENESIS
from .verify_rows import link_problem, row_digest

Dialect = Literal["sqlite", "postgres"]
NULLABLE = ("decision", "detail", "error", "outcome", "owner")
_QUOTES_ALL_SET = 52  # 15 keys and 11 string values, two quotes each; minus 2 per NULL string

SlowRow = Callable[[int], "tuple[Any, ...] | None"]  # seq -> the stored row (verify_rows column order)
SlowNodes = Callable[[int], "list[str]"]  # seq -> its node index rows


def _s(col: str) -> str:
    return f"""coalesce('"'||{col}||'"','null')"""


def select_sql(dialect: Dialect, where: str) -> str:
    """The fast row query: seq, prev_hash, hash, duration, four scalar parts, params, targets, the
    number of NULL strings, and the node index of the record as ``COUNT|name","name``."""
    s1 = (
        f"""'{{"action":"'||action||'","channel":"'||channel||'","decision":'||{_s("decision")}||"""
        f"""',"detail":'||{_s("detail")}||',"duration":'"""
    )
    s2 = (
        f"""',"error":'||{_s("error")}||',"event":"'||event||'","outcome":'||{_s("outcome")}||"""
        f"""',"owner":'||{_s("owner")}||',"params":'"""
    )
    s3 = """',"principal":"'||principal||'","run_id":"'||run_id||'","seq":'||seq||',"targets":'"""
    s4 = """',"ts":"'||ts||'"}'"""
    nulls = "+".join(f"(CASE WHEN {c} IS NULL THEN 1 ELSE 0 END)" for c in NULLABLE)
    agg = "group_concat(node, '\",\"')" if dialect == "sqlite" else "string_agg(node, '\",\"')"
    same_ts = "n.ts IS a.ts" if dialect == "sqlite" else "n.ts IS NOT DISTINCT FROM a.ts"
    nodes = f"(SELECT count(*)||'|'||coalesce({agg}, '') FROM audit_nodes n WHERE n.seq = a.seq AND {same_ts})"
    return (
        f"SELECT seq, prev_hash, hash, duration, {s1}, {s2}, {s3}, {s4}, params, targets, {nulls}, {nodes} "
        f"FROM audit a {where} ORDER BY seq"
    )


def _bad(count: int, seq: int, digest: str, at: Any, problem: str) -> VerifyReport:
    return VerifyReport(ok=False, records=count, head_seq=seq, head_hash=digest, first_bad_seq=at, problem=problem)


def verify_fast(
    rows: Iterable[Sequence[Any]],
    slow_row: SlowRow,
    slow_nodes: SlowNodes,
    index_rows: Callable[[], int],
    orphan_seq: Callable[[], int | None],
    start: tuple[int, str] = (0, GENESIS),
    expect_head: tuple[int, str] | None = None,
) -> VerifyReport:
    """Verify ``select_sql`` rows continuing the chain at ``start``: the rules and messages of
    ``verify_rows``, plus the node index check. ``index_rows()`` counts the node index rows in scope
    (those after ``start``, or all of them from the genesis) in the same snapshot as ``rows``;
    ``orphan_seq()`` names the first of them that belongs to no record (asked only when they differ)."""
    prev_seq, prev_hash = start
    count = indexed = 0
    index_bad: int | None = None
    sha = hashlib.sha256
    for seq, row_prev, row_hash, dur, s1, s2, s3, s4, params, targets, nulls, nodes in rows:
        count += 1
        if seq != prev_seq + 1 or row_prev != prev_hash:  # the happy path pays one comparison
            return _bad(count, prev_seq, prev_hash, seq, link_problem(prev_seq, prev_hash, seq, row_prev))
        fast = False
        if (
            s1 is not None
            and s2 is not None
            and s3 is not None
            and s4 is not None
            and params is not None
            and targets is not None
            and (dur is None or type(dur) is float)
        ):
            scalars = s1 + s2 + s3 + s4
            if (
                scalars.count('"') == _QUOTES_ALL_SET - 2 * nulls
                and "\\" not in scalars
                and ',"principal":' not in params
                and ',"principal":' not in targets
                and ',"ts":' not in targets
            ):
                text = s1 + ("null" if dur is None else repr(dur)) + s2 + params + s3 + targets + s4
                fast = sha((prev_hash + text).encode()).hexdigest() == row_hash
        if not fast:
            row = slow_row(seq)
            digest = row_digest(prev_hash, row) if row is not None else None
            if row is None or digest is None:
                return _bad(count, prev_seq, prev_hash, seq, "record cannot be read (record edited)")
            if digest != row_hash:
                return _bad(count, prev_seq, prev_hash, seq, "content does not match its hash (record edited)")
            targets = row[7]
        # the node index: the same names, as many rows as targets (names hold no quote or backslash)
        counted, _, joined = nodes.partition("|")
        n_index = int(counted)
        if (
            "\\" in targets
            or targets != (f'["{joined}"]' if n_index else "[]")
            or n_index != (targets.count('","') + 1 if n_index else 0)
        ):
            names = slow_nodes(seq)
            n_index = len(names)
            if index_bad is None and set(names) != set(json.loads(targets)):
                index_bad = seq  # reported after the chain walk: a broken chain comes first
        indexed += n_index
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
    if index_bad is not None:
        return _bad(count, prev_seq, prev_hash, index_bad, "the node search index disagrees with the record's targets")
    if index_rows() != indexed:
        return _bad(
            count,
            prev_seq,
            prev_hash,
            orphan_seq(),
            "the node search index disagrees with the record's targets (it names a record that does not exist)",
        )
    return VerifyReport(ok=True, records=count, head_seq=prev_seq, head_hash=prev_hash)

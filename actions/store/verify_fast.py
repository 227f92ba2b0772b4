"""Chain verification at hundreds of thousands of records per second: each record's canonical text
(``chain.canonical``) is spliced from its stored columns with one format string, then hashed.

Why not re-encode: re-encoding each record as JSON (``verify_rows``) costs ~25 µs a record, 10M
records take minutes. Why not in SQL: building the text with ``||`` in SQLite cost ~3 µs a row more
than fetching the plain columns, and a correlated node-index subquery per record another ~3 µs; the
plain columns plus one grouped, seq-ordered node-index stream beside them are the cheapest read.
A record takes this fast path only when the splice is provably the exact canonical text; otherwise
it is checked the slow way (``verify_rows.row_digest``) with the same rules and messages — old
logs written with spaced JSON just verify slower, never differently:

* every scalar string is spliced between quotes as is: exact when none holds ``"``, ``\\`` or a
  control character (one regex over them all; the canonical text escapes exactly those);
* ``params`` and ``targets`` are spliced as the stored JSON text (the stores write them compact and
  sorted, ``chain.stored_json``). A matching hash then proves the stored text *is* the hashed text
  as long as the separator after each cannot sit inside it: ``params`` must not contain
  ``,"principal":``, ``targets`` neither that nor ``,"ts":`` (else the slow path) — a shorter,
  shifted ``params`` would push the real ``,"principal":`` into ``targets``;
* the duration is Python's own ``repr`` of the stored float, as ``json.dumps`` writes it.

The node search index is not hashed, so it is read beside the records, grouped by seq in seq order
(``node_groups_sql``: count, names joined by ``","`` in the order the index scan meets them,
insertion order on both databases, how many carry a text name and ts, and the ts joined by ``","``): each
record's group must be its targets (same names and count, every row carrying the record's own ts:
``count`` text values joined are exactly the record's ts ``count`` times, which cannot be spelled
otherwise when that ts holds no quote; else compared as multisets the slow way: one index row per
target, a duplicated row is an edit too), and a group that belongs to no record, or
rows carrying another ts, name a record that does not exist: an edited index row could otherwise
hide a record from a search.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Literal

from .base import VerifyReport
from .chain import GENESIS
from .verify_rows import link_problem, row_digest

Dialect = Literal["sqlite", "postgres"]

# seq, prev_hash, hash, then the canonical fields in key order (action ... ts) minus seq
ROW_COLUMNS = (
    "seq, prev_hash, hash, action, channel, decision, detail, duration, error, event, outcome, owner, "
    "params, principal, run_id, targets, ts"
)
_TEXT = (
    '{{"action":"{}","channel":"{}","decision":{},"detail":{},"duration":{},"error":{},"event":"{}",'
    '"outcome":{},"owner":{},"params":{},"principal":"{}","run_id":"{}","seq":{},"targets":{},"ts":"{}"}}'
).format
_ESCAPED = re.compile(r'["\\\x00-\x1f]').search  # what json.dumps(ensure_ascii=False) escapes

SlowRow = Callable[[int], "tuple[Any, ...] | None"]  # seq -> the stored row (verify_rows column order)
SlowNodes = Callable[[int], "list[str]"]  # seq -> its node index rows carrying its ts


def rows_sql(where: str) -> str:
    """The records, plain columns in ``ROW_COLUMNS`` order, seq-ordered."""
    return f"SELECT {ROW_COLUMNS} FROM audit {where} ORDER BY seq"


def node_groups_sql(dialect: Dialect, where: str) -> str:
    """The node index grouped by seq, seq-ordered: seq, rows, names joined by ``","``, rows whose name
    and ts are both text, the ts joined by ``","``. SQLite keeps a blob in a TEXT column as is, and
    ``group_concat`` spells it like the text: a blob name is missed by a search for that name, a
    blob ts compares above every ``--since``. (One joined ts instead of least and greatest ts pays
    for the type check: the query costs what it did, measured on the 1M bench log.)"""
    if dialect == "sqlite":
        aggs = (
            "group_concat(node, '\",\"'), "
            "count(CASE WHEN typeof(node) = 'text' AND typeof(ts) = 'text' THEN 1 END), "
            "group_concat(ts, '\",\"')"
        )
    else:  # PostgreSQL's text columns hold text only
        aggs = "string_agg(node, '\",\"'), count(ts), string_agg(ts, '\",\"')"
    return f"SELECT seq, count(*), {aggs} FROM audit_nodes {where} GROUP BY seq ORDER BY seq"


def fast_text(row: Sequence[Any]) -> str | None:
    """The canonical text of a ``ROW_COLUMNS`` row spliced from its columns, or None when the splice
    could differ from it (the record then takes the slow path)."""
    (
        seq,
        _,
        _,
        action,
        channel,
        decision,
        detail,
        dur,
        error,
        event,
        outcome,
        owner,
        params,
        principal,
        run_id,
        targets,
        ts,
    ) = row
    try:
        scalars = "".join(
            (
                action,
                channel,
                decision or "",
                detail or "",
                error or "",
                event,
                outcome or "",
                owner or "",
                principal,
                run_id,
                ts,
            )
        )
        if (
            _ESCAPED(scalars)
            or not (dur is None or type(dur) is float)
            or type(seq) is not int
            or ',"principal":' in params
            or ',"principal":' in targets
            or ',"ts":' in targets
        ):
            return None
        # the optional strings quoted inline, not by a helper: five calls a record cost ~0.13 µs
        # of the ~9 µs a record takes (measured on the 10M bench log)
        return _TEXT(
            action,
            channel,
            "null" if decision is None else f'"{decision}"',
            "null" if detail is None else f'"{detail}"',
            "null" if dur is None else repr(dur),
            "null" if error is None else f'"{error}"',
            event,
            "null" if outcome is None else f'"{outcome}"',
            "null" if owner is None else f'"{owner}"',
            params,
            principal,
            run_id,
            seq,
            targets,
            ts,
        )
    except TypeError:  # a column of another type (a hand-edited blob, a NULL in a NOT NULL column)
        return None


def _bad(count: int, seq: int, digest: str, at: Any, problem: str) -> VerifyReport:
    return VerifyReport(ok=False, records=count, head_seq=seq, head_hash=digest, first_bad_seq=at, problem=problem)


_NO_GROUP = (1 << 62, 0, "", 0, None)


def verify_fast(
    rows: Iterable[Sequence[Any]],
    groups: Iterable[Sequence[Any]],
    slow_row: SlowRow,
    slow_nodes: SlowNodes,
    start: tuple[int, str] = (0, GENESIS),
    expect_head: tuple[int, str] | None = None,
) -> VerifyReport:
    """Verify ``rows_sql`` rows continuing the chain at ``start``, with the node index groups of the
    same scope and snapshot (``node_groups_sql``): the rules and messages of ``verify_rows``, plus
    the node index check."""
    prev_seq, prev_hash = start
    count = 0
    index_bad: int | None = None  # the first record whose index names other nodes
    orphan: int | None = None  # the first index row that belongs to no record or carries another ts
    sha = hashlib.sha256
    group_iter: Iterator[Sequence[Any]] = iter(groups)
    g_seq, g_count, g_names, g_with_ts, g_ts = next(group_iter, _NO_GROUP)
    for row in rows:
        count += 1
        seq, row_prev, row_hash = row[0], row[1], row[2]
        if seq != prev_seq + 1 or row_prev != prev_hash:  # the happy path pays one comparison
            return _bad(count, prev_seq, prev_hash, seq, link_problem(prev_seq, prev_hash, seq, row_prev))
        text = fast_text(row)
        if text is None or sha((prev_hash + text).encode()).hexdigest() != row_hash:
            slow = slow_row(seq)
            digest = row_digest(prev_hash, slow) if slow is not None else None
            if slow is None or digest is None:
                return _bad(count, prev_seq, prev_hash, seq, "record cannot be read (record edited)")
            if digest != row_hash:
                return _bad(count, prev_seq, prev_hash, seq, "content does not match its hash (record edited)")
        # the node index: groups before this record belong to none; this record's group, if any
        while g_seq < seq:
            if orphan is None:
                orphan = g_seq
            g_seq, g_count, g_names, g_with_ts, g_ts = next(group_iter, _NO_GROUP)
        targets = row[15]
        if g_seq == seq:
            # the joined ts proves every row's ts only when the record's ts holds no quote: a
            # spliced record (text) has none, any other is left to the slow query
            exact = g_with_ts == g_count and text is not None and g_ts == (row[16] + '","') * (g_count - 1) + row[16]
            quick = (  # names with a JSON escape in them (a quote, a backslash) are compared decoded
                exact and targets == f'["{g_names}"]' and g_count == targets.count('","') + 1 and "\\" not in targets
            )
            if not quick and (index_bad is None or (orphan is None and not exact)):
                names = slow_nodes(seq)  # the rows carrying the record's ts
                if index_bad is None and Counter(names) != Counter(json.loads(targets)):
                    index_bad = seq  # reported after the chain walk: a broken chain comes first
                elif orphan is None and len(names) != g_count:
                    orphan = seq  # rows of another ts: they name a record that does not exist
            g_seq, g_count, g_names, g_with_ts, g_ts = next(group_iter, _NO_GROUP)
        elif targets != "[]" and index_bad is None and json.loads(targets):
            index_bad = seq  # targets with no index row at all
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
    if orphan is None and g_seq != _NO_GROUP[0]:
        orphan = g_seq  # index rows after the newest record
    if index_bad is not None:
        return _bad(count, prev_seq, prev_hash, index_bad, "the node search index disagrees with the record's targets")
    if orphan is not None:
        return _bad(
            count,
            prev_seq,
            prev_hash,
            orphan,
            "the node search index disagrees with the record's targets (it names a record that does not exist)",
        )
    return VerifyReport(ok=True, records=count, head_seq=prev_seq, head_hash=prev_hash)

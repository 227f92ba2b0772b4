"""``verify_fast`` on PostgreSQL's COPY text stream: the records and node index groups read as the
raw bytes the server sends, spliced into the canonical text and hashed without ever becoming
Python strings.

Why a bytes twin of ``verify_fast``'s loop: through a server-side cursor each record costs ~7 µs
of server time (one DataRow per row, FETCH by FETCH) and ~2.7 µs of psycopg decoding into 17
Python objects, then the text is encoded back to bytes for the hash; COPY ... TO STDOUT costs the
server ~3 µs a row and the client ~1 µs to split the line, and the hashed bytes are the UTF-8 the
server already sent (the connection's client_encoding is pinned to UTF8). The loop is a copy of
``verify_fast``'s, specialised on bytes: a generic one would pay a conversion per field in the hot
path. ``tests/integration/postgres/test_pg_verify_copy.py`` holds the two to the same reports for
an intact log and every kind of tampering.

What makes the splice exact on COPY text (on top of ``verify_fast``'s rules): COPY writes a NULL as
``\\N`` and escapes only backslash and the control characters with a backslash, so a field without
a backslash is the stored text byte for byte. A record takes the fast path only when its scalar
strings hold no ``"``, backslash or control character (a NULL of a nullable column is removed
before that check; in a NOT NULL column it keeps its backslash and fails it), its ``params`` and
``targets`` no backslash; the duration is re-spelled with Python's ``repr`` of the float the
server wrote (shortest round-trip digits, ``extra_float_digits`` pinned to 1). Anything else, and
any hash that does not match, is decided by the slow path on a properly decoded row.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterator
from typing import Any

from .base import VerifyReport
from .verify_fast import SlowNodes, SlowRow, _bad
from .verify_rows import link_problem, row_digest

NULL = b"\\N"
_TEXT = (
    b'{"action":"%s","channel":"%s","decision":%s,"detail":%s,"duration":%s,"error":%s,"event":"%s",'
    b'"outcome":%s,"owner":%s,"params":%s,"principal":"%s","run_id":"%s","seq":%s,"targets":%s,"ts":"%s"}'
)
_ESCAPED = re.compile(rb'["\\\x00-\x1f]').search
_COPY_ESCAPES = {b"b": b"\b", b"f": b"\f", b"n": b"\n", b"r": b"\r", b"t": b"\t", b"v": b"\v", b"\\": b"\\"}
_COPY_ESCAPE = re.compile(rb"\\(.)", re.S)

Buffer = bytes | bytearray | memoryview
ReadRow = Callable[[], "Buffer | None"]  # the next COPY line, None at the end


def copy_value(field: bytes) -> str | None:
    """A COPY text field as the stored value (None for NULL)."""
    if field == NULL:
        return None
    if b"\\" in field:
        field = _COPY_ESCAPE.sub(lambda m: _COPY_ESCAPES.get(m.group(1), m.group(1)), field)
    return field.decode()


def copy_text(f: list[bytes]) -> bytes | None:
    """The canonical text (UTF-8) of a COPY row in ``verify_fast.ROW_COLUMNS`` order, or None when
    the splice could differ from it."""
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
    ) = f
    if (
        _ESCAPED(
            action
            + channel
            + event
            + principal
            + run_id
            + ts
            + (decision + detail + error + outcome + owner).replace(NULL, b"")
        )
        or b"\\" in params
        or b"\\" in targets
        or b',"principal":' in params
        or b',"principal":' in targets
        or b',"ts":' in targets
    ):
        return None
    try:
        duration = b"null" if dur == NULL else repr(float(dur)).encode()
    except ValueError:
        return None
    return _TEXT % (
        action,
        channel,
        b"null" if decision == NULL else b'"' + decision + b'"',
        b"null" if detail == NULL else b'"' + detail + b'"',
        duration,
        b"null" if error == NULL else b'"' + error + b'"',
        event,
        b"null" if outcome == NULL else b'"' + outcome + b'"',
        b"null" if owner == NULL else b'"' + owner + b'"',
        params,
        principal,
        run_id,
        seq,
        targets,
        ts,
    )


_NO_GROUP = (1 << 62, 0, b"", 0, b"", b"")


def _groups(read: ReadRow) -> Iterator[tuple[int, int, bytes, int, bytes, bytes]]:
    while (data := read()) is not None:
        seq, count, names, with_ts, least, greatest = bytes(data)[:-1].split(b"\t")
        yield int(seq), int(count), names, int(with_ts), least, greatest


def verify_copy(
    read_row: ReadRow,
    read_group: ReadRow,
    slow_row: SlowRow,
    slow_nodes: SlowNodes,
    start: tuple[int, str],
    expect_head: tuple[int, str] | None = None,
) -> VerifyReport:
    """Verify the COPY lines of ``rows_sql`` continuing the chain at ``start``, with the COPY lines
    of ``node_groups_sql`` of the same scope and snapshot: ``verify_fast``'s rules and messages."""
    prev_seq = start[0]
    prev_hash = start[1].encode()
    expect = (expect_head[0], expect_head[1].encode()) if expect_head is not None else (-1, b"")
    count = 0
    index_bad: int | None = None
    orphan: int | None = None
    sha = hashlib.sha256
    group_iter = _groups(read_group)
    g_seq, g_count, g_names, g_with_ts, g_min, g_max = next(group_iter, _NO_GROUP)
    while (data := read_row()) is not None:
        f = bytes(data)[:-1].split(b"\t")
        count += 1
        seq, row_prev, row_hash = int(f[0]), f[1], f[2]
        if seq != prev_seq + 1 or row_prev != prev_hash:
            problem = link_problem(prev_seq, prev_hash.decode(), seq, copy_value(row_prev) or "")
            return _bad(count, prev_seq, prev_hash.decode(), seq, problem)
        text = copy_text(f)
        if text is None or sha(prev_hash + text).hexdigest().encode() != row_hash:
            slow = slow_row(seq)
            digest = row_digest(prev_hash.decode(), slow) if slow is not None else None
            if slow is None or digest is None:
                return _bad(count, prev_seq, prev_hash.decode(), seq, "record cannot be read (record edited)")
            if digest.encode() != row_hash:
                return _bad(count, prev_seq, prev_hash.decode(), seq, "content does not match its hash (record edited)")
        while g_seq < seq:
            if orphan is None:
                orphan = g_seq
            g_seq, g_count, g_names, g_with_ts, g_min, g_max = next(group_iter, _NO_GROUP)
        targets = f[15]
        if g_seq == seq:
            exact = g_with_ts == g_count and g_min == g_max == f[16]
            quick = (
                exact
                and targets == b'["' + g_names + b'"]'
                and g_count == targets.count(b'","') + 1
                and b"\\" not in targets
            )
            if not quick and (index_bad is None or (orphan is None and not exact)):
                names = slow_nodes(seq)
                if index_bad is None and set(names) != set(_json_list(targets)):
                    index_bad = seq
                elif orphan is None and len(names) != g_count:
                    orphan = seq
            g_seq, g_count, g_names, g_with_ts, g_min, g_max = next(group_iter, _NO_GROUP)
        elif targets != b"[]" and index_bad is None and _json_list(targets):
            index_bad = seq
        if seq == expect[0] and row_hash != expect[1]:
            return _bad(count, seq, row_hash.decode(), seq, "record differs from the checkpoint (chain rewritten)")
        prev_seq, prev_hash = seq, row_hash
    head_hash = prev_hash.decode()
    if expect_head is not None and prev_seq < expect_head[0]:
        return _bad(
            count,
            prev_seq,
            head_hash,
            prev_seq + 1,
            f"chain ends at #{prev_seq} but the checkpoint says #{expect_head[0]} (newest records removed)",
        )
    if orphan is None and g_seq != _NO_GROUP[0]:
        orphan = g_seq
    if index_bad is not None:
        return _bad(count, prev_seq, head_hash, index_bad, "the node search index disagrees with the record's targets")
    if orphan is not None:
        return _bad(
            count,
            prev_seq,
            head_hash,
            orphan,
            "the node search index disagrees with the record's targets (it names a record that does not exist)",
        )
    return VerifyReport(ok=True, records=count, head_seq=prev_seq, head_hash=head_hash)


def _json_list(field: bytes) -> Any:
    """The stored targets as the JSON they hold (a record whose hash held has valid JSON there)."""
    return json.loads(copy_value(field) or "null")

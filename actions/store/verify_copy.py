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
strings hold no ``"``, backslash or control character (a NULL of a nullable column is spliced as
``null``; in a NOT NULL column it keeps its backslash and fails the check), its ``params`` and
``targets`` no backslash; ``copy_text`` checks this by counting over the whole line (see there).
The duration is PostgreSQL's own spelling when it is plain notation (shortest round-trip digits,
``extra_float_digits`` pinned to 1: Python's ``repr`` of the same double), else Python's ``repr``
of the float the server wrote. Anything else, and any hash that does not match, is decided by the
slow path on a properly decoded row. The node index arrives grouped per record by
``copy_groups_sql``.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

from .base import VerifyReport
from .verify_fast import SlowNodes, SlowRow, _bad
from .verify_rows import link_problem, row_digest

NULL = b"\\N"
_TEXT = (
    b'%s{"action":"%s","channel":"%s","decision":"%s","detail":"%s","duration":%s,"error":"%s","event":"%s",'
    b'"outcome":"%s","owner":"%s","params":%s,"principal":"%s","run_id":"%s","seq":%s,"targets":%s,"ts":"%s"}'
)
_QUOTED_NULL = b'"\\N"'
# the bytes a fast-path line holds only where ``copy_text`` expects them: quotes, backslashes, and the
# raw control characters (COPY text writes \b \t \n \v \f \r as escapes; a raw tab or newline in a
# line is a field or line separator)
_SUSPECT = b'"\\' + bytes(range(0x09)) + bytes(range(0x0B, 0x20))
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


def copy_text(f: list[bytes], line: bytes, prev_hash: bytes = b"") -> bytes | None:
    """``prev_hash`` followed by the canonical text (UTF-8) of a COPY row in ``verify_fast.ROW_COLUMNS``
    order, or None when the splice could differ from it. ``line`` is the row's whole COPY line
    (``f`` its fields): the checks run over the line at once, by counting, not field by field.

    Why counting is exact: COPY writes every backslash of a value doubled and a NULL as the two bytes
    ``\\N``, so when the line holds no more backslashes than the nullable columns hold NULLs, every
    backslash is one of those NULL markers and no value (NOT NULL column, ``params``, ``targets``,
    seq, hashes) has one. When the line holds no more ``"`` than ``params`` and ``targets`` do, no
    other field has one. A raw control character COPY leaves as it is (it escapes the others) fails
    the ``translate``. A nullable string is spliced quoted and its quoted NULL marker then becomes
    ``null``: the marker is the only place a backslash can be. Probes are ``find``/``count``, not
    ``in``: ``in`` on bytes first tries its operand as an int and clears the TypeError (~0.15 µs)."""
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
    nulls = (decision == NULL) + (detail == NULL) + (error == NULL) + (outcome == NULL) + (owner == NULL)
    if dur == NULL:
        nulls += 1
        duration = b"null"
    elif dur.find(b".") >= 0 and dur.find(b"e") < 0:
        # PostgreSQL's shortest round-trip spelling (extra_float_digits = 1) in plain notation is
        # Python's repr of the same double (a different spelling only fails the hash: slow path)
        duration = dur
    else:
        try:
            duration = repr(float(dur)).encode()
        except ValueError:
            return None
    if (
        len(line) - len(line.translate(None, _SUSPECT)) != nulls + params.count(b'"') + targets.count(b'"')
        or params.find(b',"principal":') >= 0
        or targets.find(b',"principal":') >= 0
        or targets.find(b',"ts":') >= 0
    ):
        return None
    text = _TEXT % (
        prev_hash,
        action,
        channel,
        decision,
        detail,
        duration,
        error,
        event,
        outcome,
        owner,
        params,
        principal,
        run_id,
        seq,
        targets,
        ts,
    )
    return text.replace(_QUOTED_NULL, b"null") if nulls else text


def copy_groups_sql(where: str) -> str:
    """``verify_fast.node_groups_sql`` shaped for the COPY walk: seq, rows, the names as the JSON list
    ``targets`` holds when it is intact (``["a","b"]``), and the ts every row of the group holds (NULL
    unless every row has one and they are all the same bytes). Fewer fields for the client to split
    and convert; ``min``/``max`` compare bytes (``COLLATE "C"``), so equal means byte-equal."""
    return (
        "SELECT seq, count(*), '[\"' || string_agg(node, '\",\"') || '\"]', "
        'CASE WHEN count(ts) = count(*) AND min(ts COLLATE "C") = max(ts COLLATE "C") THEN min(ts) END '
        f"FROM audit_nodes {where} GROUP BY seq ORDER BY seq"
    )


_NO_GROUP = (1 << 62, 0, b"", NULL)


def _groups(read: ReadRow) -> Iterator[tuple[int, int, bytes, bytes]]:
    while (data := read()) is not None:
        seq, count, names, ts = bytes(data)[:-1].split(b"\t")
        yield int(seq), int(count), names, ts


def verify_copy(
    read_row: ReadRow,
    read_group: ReadRow,
    slow_row: SlowRow,
    slow_nodes: SlowNodes,
    start: tuple[int, str],
    expect_head: tuple[int, str] | None = None,
) -> VerifyReport:
    """Verify the COPY lines of ``rows_sql`` continuing the chain at ``start``, with the COPY lines
    of ``copy_groups_sql`` of the same scope and snapshot: ``verify_fast``'s rules and messages."""
    prev_seq = start[0]
    prev_hash = start[1].encode()
    expect = (expect_head[0], expect_head[1].encode()) if expect_head is not None else (-1, b"")
    count = 0
    index_bad: int | None = None
    orphan: int | None = None
    sha = hashlib.sha256
    group_iter = _groups(read_group)
    g_seq, g_count, g_names, g_ts = next(group_iter, _NO_GROUP)
    while (data := read_row()) is not None:
        line = bytes(data)
        f = line[:-1].split(b"\t")
        count += 1
        seq, row_prev, row_hash = int(f[0]), f[1], f[2]
        if seq != prev_seq + 1 or row_prev != prev_hash:
            problem = link_problem(prev_seq, prev_hash.decode(), seq, copy_value(row_prev) or "")
            return _bad(count, prev_seq, prev_hash.decode(), seq, problem)
        text = copy_text(f, line, prev_hash)
        if text is None or sha(text).hexdigest().encode() != row_hash:
            slow = slow_row(seq)
            digest = row_digest(prev_hash.decode(), slow) if slow is not None else None
            if slow is None or digest is None:
                return _bad(count, prev_seq, prev_hash.decode(), seq, "record cannot be read (record edited)")
            if digest.encode() != row_hash:
                return _bad(count, prev_seq, prev_hash.decode(), seq, "content does not match its hash (record edited)")
        while g_seq < seq:
            if orphan is None:
                orphan = g_seq
            g_seq, g_count, g_names, g_ts = next(group_iter, _NO_GROUP)
        targets = f[15]
        if g_seq == seq:
            exact = g_ts == f[16] and g_ts != NULL
            quick = exact and targets == g_names and g_count == targets.count(b'","') + 1 and targets.find(b"\\") < 0
            if not quick and (index_bad is None or (orphan is None and not exact)):
                names = slow_nodes(seq)
                if index_bad is None and Counter(names) != Counter(_json_list(targets)):  # a duplicated row too
                    index_bad = seq
                elif orphan is None and len(names) != g_count:
                    orphan = seq
            g_seq, g_count, g_names, g_ts = next(group_iter, _NO_GROUP)
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

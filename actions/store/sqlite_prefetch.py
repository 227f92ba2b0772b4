"""A long verify's reads from a cold page cache, asked of the kernel ahead of time in large runs.

Why: a full verify of a log that is not in the page cache spent ~1 µs a record more CPU, nearly
all of it kernel time (10M records: 13.6 s of system time cold, 3.3 s warm). SQLite reads one
4 KiB page per ``pread``; the verify's streams (the records, the node index table, its seq index)
interleave on one file descriptor and over pages the bulk of the file interleaves with, so the
kernel's own readahead keeps restarting small. The same pages named with
``posix_fadvise(WILLNEED)`` in runs of megabytes cost the kernel a fraction of that (measured on
this box: 1 GiB read in 4 KiB preads 0.24-1.4 s of system time, as 8 MiB WILLNEED runs 0.18 s),
and SQLite then finds them cached. Measured where it counts: ``tests/bench/audit_scale.py --cold``.

Which pages: the leaves of the ``audit`` and ``audit_nodes`` table b-trees holding the range's
rows, found from their interior pages (about one page in 300) read with the file format
(https://www.sqlite.org/fileformat2.html, "B-tree Pages"). SQLite has no API that names the page
of a row: ``dbstat`` reads every leaf to describe it (the very reads to avoid), ``sqlite_dbpage``
is not compiled into Python's sqlite3, and ``mmap_size`` (page faults read around) measured no
better than plain reads.

A hint only, never a source of truth: it opens the database file read-only through its own
descriptor and reads interior pages and nothing else; SQLite reads and checks every row the way it
always does. A stale page (its newer version still in the WAL), a corrupt or hand-edited file can
only make the hint useless, and cannot make it run away: page numbers outside the file, a page met
twice, a tree deeper than SQLite allows or any error end the walk, silently. The kernel is asked
for at most ``WINDOW`` bytes of each table ahead of the verify's position, so a log larger than
the memory does not evict its own next pages.
"""

from __future__ import annotations

import os
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

WINDOW = 96 << 20  # bytes asked for ahead of the verify's position, per table
_MAX_DEPTH = 20  # SQLite's own limit on a b-tree's depth
_INTERIOR_TABLE, _LEAF_TABLE = 0x05, 0x0D
_BEYOND = 1 << 62


def _varint(buf: bytes, at: int) -> int:
    """SQLite's big-endian varint at ``at`` (up to 9 bytes, the ninth contributes 8 bits)."""
    value = 0
    for i in range(8):
        byte = buf[at + i]
        value = (value << 7) | (byte & 0x7F)
        if byte < 0x80:
            return value
    return (value << 8) | buf[at + 8]


@dataclass
class _File:
    fd: int
    page_size: int
    pages: int
    seen: set[int] = field(default_factory=set)

    def page(self, number: int) -> bytes:
        """Interior page ``number`` (1-based); raises ValueError for a page not to be trusted."""
        if not 1 <= number <= self.pages or number in self.seen:
            raise ValueError(f"page {number}: outside the file or met twice")
        self.seen.add(number)
        data = os.pread(self.fd, self.page_size, (number - 1) * self.page_size)
        if len(data) != self.page_size:
            raise ValueError(f"page {number}: short read")
        return data


def _open(path: str) -> _File:
    fd = os.open(path, os.O_RDONLY)
    try:
        header = os.pread(fd, 100, 0)
        size = struct.unpack_from(">H", header, 16)[0]
        page_size = 65536 if size == 1 else size
        if not header.startswith(b"SQLite format 3\x00") or page_size < 512 or page_size & (page_size - 1):
            raise ValueError(f"{path}: not an SQLite database")
        return _File(fd, page_size, os.fstat(fd).st_size // page_size)
    except BaseException:
        os.close(fd)
        raise


def _children(number: int, data: bytes, keyed: bool) -> tuple[list[int], list[int]] | None:
    """An interior table page's children, and (``keyed``) the greatest key of each child but the
    last; None for a leaf page."""
    base = 100 if number == 1 else 0
    kind = data[base]
    if kind == _LEAF_TABLE:
        return None
    if kind != _INTERIOR_TABLE:
        raise ValueError(f"page {number}: not a table b-tree page")
    cells, right = struct.unpack_from(">H", data, base + 3)[0], struct.unpack_from(">I", data, base + 8)[0]
    offsets = struct.unpack_from(f">{cells}H", data, base + 12)
    kids = [struct.unpack_from(">I", data, off)[0] for off in offsets]
    keys = [_varint(data, off + 4) for off in offsets] if keyed else []
    kids.append(right)
    return kids, keys


def leaf_pages(path: str, root: int, lo: int | None, hi: int | None, stop: Callable[[], bool] = bool) -> list[int]:
    """The leaf pages of the table b-tree rooted at page ``root`` that hold keys in (lo, hi]
    (None: unbounded), in key order. Raises ValueError/OSError on a file not to be trusted."""
    lo_key = -_BEYOND if lo is None else lo
    hi_key = _BEYOND if hi is None else hi
    f = _open(path)
    try:
        # one b-tree level's pages in key order, pruned to the range; "inside": every key of the
        # page is in the range, so its children are taken without decoding their keys
        level: list[tuple[int, bool]] = [(root, lo is None and hi is None)]
        for _ in range(_MAX_DEPTH):
            below: list[tuple[int, bool]] = []
            for i, (number, inside) in enumerate(level):
                if stop():
                    return []
                split = _children(number, f.page(number), not inside)
                if split is None:
                    if i:
                        raise ValueError(f"page {number}: a leaf beside interior pages")
                    return [n for n, _ in level]
                kids, keys = split
                if inside:
                    below.extend((k, True) for k in kids)
                    continue
                # child j holds keys in (keys[j-1], keys[j]]: keep those meeting (lo_key, hi_key]
                first = next((j for j, k in enumerate(keys) if k > lo_key), len(keys))
                last = next((j for j, k in enumerate(keys) if k >= hi_key), len(keys))
                for j in range(first, last + 1):
                    above_lo = lo is None if j == 0 else keys[j - 1] >= lo_key
                    below_hi = hi is None if j == len(keys) else keys[j] <= hi_key
                    below.append((kids[j], above_lo and below_hi))
            level = below
            if not level:
                return []
        raise ValueError(f"{path}: b-tree deeper than {_MAX_DEPTH} levels")
    finally:
        os.close(f.fd)


def runs(pages: list[int], page_size: int, gap: int = 16) -> list[tuple[int, int]]:
    """(offset, length) runs covering the pages in the order given: pages up to ``gap`` pages
    apart share a run (one request instead of many; the pages between are read too)."""
    out: list[list[int]] = []
    for number in pages:
        offset = (number - 1) * page_size
        if out and 0 <= offset - (out[-1][0] + out[-1][1]) <= gap * page_size:
            out[-1][1] = offset + page_size - out[-1][0]
        else:
            out.append([offset, page_size])
    return [(o, n) for o, n in out]


class Prefetch:
    """A daemon thread that asks the kernel for the leaves of the range's tables a window ahead of
    the verify's progress, a fraction of the range (``progress``: 0.0 to 1.0, read as it goes).
    ``tables``: (root page, lo, hi) of each table b-tree, keys in (lo, hi] (None: unbounded)."""

    def __init__(self, path: str, tables: list[tuple[int, int | None, int | None]], progress: Callable[[], float]):
        self._path, self._tables, self._progress = path, tables, progress
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="dcops-verify-prefetch", daemon=True)
        self.asked = 0  # bytes asked for (tests, the benchmark)
        self.finished = False  # every leaf of the range asked for

    def __enter__(self) -> Prefetch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        fd = -1
        try:
            fd = os.open(self._path, os.O_RDONLY)
            f = _open(self._path)
            os.close(f.fd)
            plans = [
                runs(leaf_pages(self._path, root, lo, hi, self._stop.is_set), f.page_size)
                for root, lo, hi in self._tables
            ]
            state = [[0, 0, sum(n for _, n in plan)] for plan in plans]  # runs asked, bytes asked, bytes
            while not self._stop.is_set():
                at = self._progress()
                for plan, st in zip(plans, state, strict=True):
                    want = min(st[2], int(at * st[2]) + WINDOW)
                    while st[0] < len(plan) and st[1] < want:
                        offset, length = plan[st[0]]
                        os.posix_fadvise(fd, offset, length, os.POSIX_FADV_WILLNEED)
                        st[0] += 1
                        st[1] += length
                        self.asked += length
                if all(st[0] == len(plan) for plan, st in zip(plans, state, strict=True)):
                    self.finished = True
                    return
                self._stop.wait(0.05)
        except (OSError, ValueError, IndexError, struct.error):
            return  # a hint only: the verify reads and checks every page itself
        finally:
            if fd >= 0:
                os.close(fd)

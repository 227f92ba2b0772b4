"""A long verify split over the machine's cores: contiguous seq ranges, one process each, joined.

Why processes: the chain is sequential, but each record's check needs only its own row and the
stored hash of the record before it, so a range ``(lo, hi]`` verifies on its own from ``(lo,
stored hash of lo)``. The joins are then checked here: range *i* must end at ``hi`` with exactly
the hash range *i+1* started from (range *i* recomputed it). Every record is hashed once, by one
worker; a verify of 10M records reads ~10 µs a record of Python and SQLite work, which one core
cannot do 200k times a second. Threads do not help: the hashing and the text splice hold the GIL.

Records are append-only, so workers reading their own snapshots agree on every record up to the
head fixed at the start; only the last range is open-ended, so it also sees records appended while
the verify runs and any node index rows beyond the newest record.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor

from .base import VerifyReport

SPLIT_MIN = 400_000  # fewer records than this verify in-process: a worker costs ~0.3 s to start
RangeCheck = Callable[..., VerifyReport]  # (target, lo, lo_hash, hi | None, expect_head) -> report


def workers_for(records: int) -> int:
    """How many processes a verify of ``records`` records uses (1: in this process)."""
    if records < SPLIT_MIN:
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(cores, records // (SPLIT_MIN // 2), 8))


def split_points(lo: int, hi: int, parts: int) -> list[int]:
    """``parts`` contiguous ranges of (lo, hi] as their inner boundaries."""
    step = (hi - lo) // parts
    return [lo + step * i for i in range(1, parts)]


def verify_split(
    check: RangeCheck,
    target: str,
    start: tuple[int, str],
    head_seq: int,
    hashes_at: Callable[[Sequence[int]], dict[int, str]],
    expect_head: tuple[int, str] | None,
    parts: int,
) -> VerifyReport:
    """Run ``check(target, lo, lo_hash, hi, expect_head)`` over ``parts`` ranges from ``start`` to
    the head (the last range open-ended) in worker processes, and join the reports."""
    cuts = split_points(start[0], head_seq, parts)
    known = hashes_at(cuts)
    if len(known) != len(cuts):  # a boundary record is missing: the serial walk names the gap
        return check(target, start[0], start[1], None, expect_head)
    bounds = [start] + [(c, known[c]) for c in cuts]
    highs: list[int | None] = [*cuts, None]
    jobs = []
    with ProcessPoolExecutor(max_workers=parts, mp_context=multiprocessing.get_context("spawn")) as pool:
        for (lo, lo_hash), hi in zip(bounds, highs, strict=True):
            mine = expect_head if expect_head is not None and (hi is None or lo < expect_head[0] <= hi) else None
            jobs.append(pool.submit(check, target, lo, lo_hash, hi, mine))
        reports = [job.result() for job in jobs]
    return join_reports(reports, highs, bounds)


def join_reports(
    reports: Sequence[VerifyReport], highs: Sequence[int | None], bounds: Sequence[tuple[int, str]]
) -> VerifyReport:
    """One report for the ranges, as one serial walk would have given it: the first broken record
    in seq order (a range that does not end where the next one starts is a broken link there); a
    node index disagreement only when the whole chain holds, the first one in seq order."""
    counted = 0
    index_problem: VerifyReport | None = None
    for i, (report, hi) in enumerate(zip(reports, highs, strict=True)):
        if not report.ok and "node search index" not in (report.problem or ""):
            return report.model_copy(update={"records": counted + report.records})
        if not report.ok and index_problem is None:
            index_problem = report
        if hi is not None and (report.head_seq != hi or report.head_hash != bounds[i + 1][1]):
            problem = f"sequence jumps from #{report.head_seq} to #{hi + 1} (records deleted or inserted)"
            if report.head_seq == hi:
                problem = "link to the previous record is wrong (record forged, inserted, reordered or chain forked)"
            return VerifyReport(
                ok=False,
                records=counted + report.records,
                head_seq=report.head_seq,
                head_hash=report.head_hash,
                first_bad_seq=hi + 1,
                problem=problem,
            )
        counted += report.records
    last = reports[-1]
    if index_problem is not None:
        return index_problem.model_copy(
            update={"records": counted, "head_seq": last.head_seq, "head_hash": last.head_hash}
        )
    return VerifyReport(ok=True, records=counted, head_seq=last.head_seq, head_hash=last.head_hash)

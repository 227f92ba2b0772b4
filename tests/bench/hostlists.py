"""Benchmark: dcops' Slurm-dialect hostlists (``dcops.actions.hostlists``) against python-hostlist, which
dcops used before, side by side in one run: expand and collapse of regular (``gpu[000000-N]``) and
irregular (``n000001-ib``, which Slurm cannot bracket) name sets, plus the cost of refusing an
expression that stands for too many names (counted before expanding; python-hostlist's own
per-part size check is shown for comparison).

    python -m tests.bench.hostlists [ROUNDS]

Medians of ROUNDS runs (default 7), milliseconds, and the dcops/python-hostlist ratio.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable

import hostlist

from dcops.actions.errors import UsageError
from dcops.actions.hostlists import collapse, expand


def median_ms(fn: Callable[[], object], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def refused(fn: Callable[[], object]) -> Callable[[], None]:
    def run() -> None:
        try:
            fn()
        except (UsageError, hostlist.BadHostlist):
            return
        raise AssertionError("the oversized expression was accepted")

    return run


def main(rounds: int) -> None:
    rows = []
    for n in (1_000, 10_000, 100_000):
        regular = [f"gpu{i:06d}" for i in range(n)]
        irregular = [f"n{i:06d}-ib" for i in range(n)]
        expr = collapse(regular)
        cases = [  # the lambdas run within this iteration: B023's late binding cannot bite
            (f"expand {n:,} (one range)", lambda: expand(expr, limit=n), lambda: hostlist.expand_hostlist(expr)),  # noqa: B023
            (f"collapse {n:,} regular", lambda: collapse(regular), lambda: hostlist.collect_hostlist(regular)),  # noqa: B023
            (f"collapse {n:,} irregular", lambda: collapse(irregular), lambda: hostlist.collect_hostlist(irregular)),  # noqa: B023
        ]
        for label, ours, theirs in cases:
            a, b = median_ms(ours, rounds), median_ms(theirs, rounds)
            rows.append((label, a, b))
    bomb = "a" + "[0-65535]" * 40  # ~370 characters, 65536^40 names
    rows.append(
        (
            "refuse a 65536^40 expression",
            median_ms(refused(lambda: expand(bomb)), rounds),
            median_ms(refused(lambda: hostlist.expand_hostlist(bomb)), rounds),
        )
    )
    print(f"{'case':<34}{'dcops ms':>12}{'python-hostlist ms':>20}{'ratio':>8}")
    for label, a, b in rows:
        print(f"{label:<34}{a:>12.2f}{b:>20.2f}{a / b if b else float('nan'):>8.2f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 7)

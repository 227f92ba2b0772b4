"""Benchmark: the full PostgreSQL ``verify()`` of one kept log, this tree against a baseline tree,
side by side in one run (ABAB...), on a log ``audit_scale`` generated and kept.

    python -m tests.bench.pg_verify_ab N --baseline DIR [--rounds 2] [--parts K]

``N``: the log ``bench_N`` of the lab PostgreSQL (``python -m tests.bench.audit_scale N --stores postgres
--keep /var/tmp/dcops-bench-10m --generate-only`` writes it). ``DIR``: another tree, e.g.
``git archive main actions dcops | tar -x -C DIR``. ``--parts K``: force K verify processes (default:
the store's own choice). Each verify runs in its own fresh interpreter (the tree's code, its worker
processes spawned from it); reported per tree: median wall, records/s, and client CPU µs per record
(the interpreter and its workers, from ``RUSAGE_CHILDREN``), plus the ratio of the medians. On a
loaded machine the CPU figure says more than the wall time. Never a timed test.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parents[2]

_ONE = """
import asyncio, json, os, resource, sys, time
from tests.lab import postgres as lab
from dcops.actions.store import postgres as P

if os.environ.get("PGV_PARTS"):
    P.workers_for = lambda records: int(os.environ["PGV_PARTS"])

async def main() -> None:
    store = P.PostgresStore(lab.status().url_for(sys.argv[1]))
    try:
        t0 = time.perf_counter()
        report = await store.verify()
        wall = time.perf_counter() - t0
    finally:
        await store.aclose()
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime
    print(json.dumps({"ok": report.ok, "records": report.records, "wall": wall, "cpu": cpu}))

if __name__ == "__main__":
    asyncio.run(main())
"""


def one(tree: Path, n: int, parts: int | None) -> dict[str, float]:
    env = dict(os.environ, PYTHONPATH=f"{tree}{os.pathsep}{HERE}")
    if parts:
        env["PGV_PARTS"] = str(parts)
    out = subprocess.run([sys.executable, "-c", _ONE, f"bench_{n}"], env=env, capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"{tree}: {out.stderr.strip().splitlines()[-1:]}")
    got = json.loads(out.stdout.strip().splitlines()[-1])
    if not got["ok"] or got["records"] < n:  # (audit_scale's seal runs add a record each)
        raise SystemExit(f"{tree}: verify said {got}")
    return got


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("records", type=int)
    ap.add_argument("--baseline", required=True, metavar="DIR")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--parts", type=int, default=None)
    args = ap.parse_args()
    trees = {"this": HERE, "baseline": Path(args.baseline).resolve()}
    runs: dict[str, list[dict[str, float]]] = {k: [] for k in trees}
    for _ in range(args.rounds):
        for name, tree in trees.items():
            runs[name].append(one(tree, args.records, args.parts))
    out: dict[str, dict[str, float]] = {}
    for name, rs in runs.items():
        wall = statistics.median(r["wall"] for r in rs)
        cpu = statistics.median(r["cpu"] for r in rs)
        records = rs[0]["records"]
        out[name] = {
            "wall_s": round(wall, 2),
            "records_per_s": round(records / wall),
            "client_cpu_us_per_record": round(cpu / records * 1e6, 2),
        }
    out["ratio"] = {
        "records_per_s": round(out["this"]["records_per_s"] / out["baseline"]["records_per_s"], 3),
        "client_cpu": round(out["this"]["client_cpu_us_per_record"] / out["baseline"]["client_cpu_us_per_record"], 3),
    }
    print(json.dumps(out), flush=True)
    print(f"load average: {os.getloadavg()}")


if __name__ == "__main__":
    main()

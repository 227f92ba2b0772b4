"""Benchmark: audited no-op actions per second through the engine with the SQLite store, vs raw
SQLite inserts of the same records at the same durability (WAL, synchronous=NORMAL, one
transaction for received+started and one for finished, as the engine does), side by side.
"Raw" still reads the chain head inside each transaction and hashes each record: that is what
inserting one record of a hash chain shared by several processes costs at the SQL level; the
difference to the engine is everything else (validation, RBAC, run bookkeeping, the event stream).
Both sides write into the same schema, made by the store's own ``_prepare``: the audit table, its
indexes and the open-runs triggers that keep ``audit_open`` inside each appending transaction (the
raw side once had only the base script, without the triggers and two of the indexes, and so did
less SQL work per record than any real append; ``--base-schema`` gives that old baseline back,
for comparison with figures measured before).
Each side is timed in wall seconds and in CPU seconds of this process (``time.process_time``): on a
shared machine the wall time is inflated by neighbours, the CPU time much less. ``--profile FILE``
writes a cProfile of one more engine round (``python -m pstats FILE``).

    python -m tests.bench.engine_audit [N] [ROUNDS] [--profile FILE] [--base-schema]
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

from dcops.actions.store.chain import GENESIS, record_hash
from dcops.actions.store.sqlite import _SCHEMA, _prepare
from tests.unit.core.worker import engine_for


async def engine_round(db: Path, n: int) -> tuple[float, float]:
    from dcops.actions.request import Request

    eng = engine_for(str(db))
    await eng.start()
    req = Request(principal="unix:bench", channel="api", action="ping")
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(n):
        run = await eng.submit(req)
        await run.wait()
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    await eng.aclose()
    return elapsed, cpu


def raw_round(source: Path, db: Path, base_schema: bool = False) -> tuple[float, float]:
    """Insert exactly the records the engine wrote (read back from its database), grouped into
    the same transactions (received+started, then finished), each with the head read and hash."""
    src = sqlite3.connect(source)
    cols = "ts, run_id, event, principal, channel, action, targets, params, decision, outcome, duration, error, detail, owner"
    rows = src.execute(f"SELECT {cols} FROM audit ORDER BY seq").fetchall()
    src.close()
    groups: list[list[tuple]] = []
    for row in rows:
        if row[2] == "started" and groups and groups[-1][-1][2] == "received":
            groups[-1].append(row)
        else:
            groups.append([row])
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    if base_schema:  # the old baseline: no audit_open triggers, two indexes fewer
        conn.executescript(_SCHEMA)
    else:
        _prepare(conn)  # the same tables, indexes and triggers as the store
    names = [c.strip() for c in cols.split(",")]
    t0, c0 = time.perf_counter(), time.process_time()
    for group in groups:
        conn.execute("BEGIN IMMEDIATE")
        head = conn.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        seq, prev = head if head else (0, GENESIS)
        for row in group:
            seq += 1
            content = dict(zip(names, row)) | {"seq": seq}
            content["targets"], content["params"] = json.loads(row[6]), json.loads(row[7])
            digest = record_hash(prev, content)
            conn.execute(
                "INSERT INTO audit (seq, " + cols + ", prev_hash, hash) VALUES (" + ",".join("?" * 17) + ")",
                (seq, *row, prev, digest),
            )
            prev = digest
        conn.execute("COMMIT")
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    conn.close()
    return elapsed, cpu


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    profile = sys.argv[sys.argv.index("--profile") + 1] if "--profile" in sys.argv else None
    if profile in args:
        args.remove(profile)
    n = int(args[0]) if args else 2000
    rounds = int(args[1]) if len(args) > 1 else 5
    eng_t, raw_t, eng_c, raw_c = [], [], [], []
    with tempfile.TemporaryDirectory() as d:
        for r in range(rounds):
            wall, cpu = asyncio.run(engine_round(Path(d) / f"e{r}.db", n))
            eng_t.append(wall)
            eng_c.append(cpu)
            wall, cpu = raw_round(Path(d) / f"e{r}.db", Path(d) / f"r{r}.db", "--base-schema" in sys.argv)
            raw_t.append(wall)
            raw_c.append(cpu)
        if profile:
            import cProfile

            with cProfile.Profile() as prof:
                asyncio.run(engine_round(Path(d) / "profiled.db", n))
            prof.dump_stats(profile)
    e, w = statistics.median(eng_t), statistics.median(raw_t)
    ec, wc = statistics.median(eng_c), statistics.median(raw_c)
    print(
        json.dumps(
            {
                "actions": n,
                "rounds": rounds,
                "raw_schema": "base script only (old baseline)" if "--base-schema" in sys.argv else "the store's",
                "engine_median_s": round(e, 3),
                "engine_actions_per_s": round(n / e),
                "raw_median_s": round(w, 3),
                "raw_actions_per_s": round(n / w),
                "ratio_engine_over_raw": round(e / w, 2),
                "engine_actions_per_cpu_s": round(n / ec),
                "raw_actions_per_cpu_s": round(n / wc),
                "cpu_ratio_engine_over_raw": round(ec / wc, 2),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()

"""Benchmark: audited ``ping`` actions per second through the engine, PostgreSQL store vs SQLite store,
side by side in one run, each in real separate processes (the worker of the integration tests):

- postgres x8: 8 processes on one PostgreSQL database (the shared-deployment case)
- postgres x1: 1 process on PostgreSQL (what one console pays for the network round trips)
- sqlite x1:   1 process on one SQLite file (the embedded default)
- sqlite x8:   8 processes on one SQLite file
- postgres x8 over a 1 ms link: the 8 processes reach PostgreSQL through a proxy that delays each
  direction by 0.5 ms (``latency_proxy.py``; no netem here), as consoles on other hosts would
- round trips per action: 1 process through the proxy, which counts the exchanges — how many network
  round trips one audited action costs (the engine writes two audit transactions per action); on a
  slow link they are what an operator waits for

Every process starts its engine first and waits at a gate; the clock runs from the gate opening to
the last process finishing, so interpreter and engine start-up are not counted. Throughput is all
processes' actions over that wall time. Each round uses a fresh database / file. The PostgreSQL
server is the lab's (``tests/lab/postgres.py``: default durability, fsync on, synchronous_commit on),
started here if it is not running and stopped again at the end.

CPU: each worker reports the CPU seconds its process spent on the actions (client side: engine,
psycopg, hashing); the output gives CPU milliseconds per action and the throughput that CPU alone
would allow per core (``..._actions_per_client_cpu_s``), the figure a loaded 2-core box cannot hide
(the server's CPU is not in it). ``DCOPS_BENCH_PROFILE=FILE`` makes every worker write a cProfile
(FILE.PID) of its actions. ``--cases a,b`` runs only those cases (names as in the output).

    python -m tests.bench.store_postgres [ACTIONS_PER_PROCESS] [ROUNDS] [--cases postgres_x8,sqlite_x1]
"""

from __future__ import annotations

import json
import os
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.bench.latency_proxy import LatencyProxy
from tests.integration.postgres.pg_worker import spawn
from tests.lab import postgres as lab

LINK_ONE_WAY = 0.0005  # a 1 ms round trip: consoles and the database on one LAN


CPU: dict[str, list[float]] = {}  # url kind -> CPU seconds per action, per worker, across rounds


def timed(url: str, processes: int, n: int, on_go: Callable[[], None] = lambda: None, cpu_key: str = "") -> float:
    """Wall seconds for ``processes`` workers doing ``n`` audited pings each, gate to last finish
    (``on_go`` runs as the gate opens). Each worker's CPU seconds per action go to ``CPU[cpu_key]``."""
    procs = [spawn(url, "ping", str(n), "--gate") for _ in range(processes)]
    try:
        for p in procs:
            assert p.stdout is not None
            line = p.stdout.readline().strip()
            if line != "ready":
                raise SystemExit(f"a worker did not start: {line or 'no output'}")
        on_go()
        t0 = time.perf_counter()
        for p in procs:
            assert p.stdin is not None
            p.stdin.write("go\n")
            p.stdin.flush()
        for p in procs:
            out, _ = p.communicate(timeout=600)
            if p.returncode != 0 or not out.startswith("done"):
                raise SystemExit(f"a worker failed: {out.strip()[-300:]}")
            fields = out.split()
            if cpu_key and len(fields) >= 3:
                CPU.setdefault(cpu_key, []).append(float(fields[2]) / n)
        return time.perf_counter() - t0
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()


def _pg_round(server: lab.PostgresLab, processes: int, n: int, one_way_s: float = 0.0, cpu_key: str = "") -> float:
    """One timed round on a fresh database, optionally through the latency proxy."""
    return _on_fresh_db(server, lambda url: timed(url, processes, n, cpu_key=cpu_key), one_way_s)


def _round_trips_per_action(server: lab.PostgresLab, n: int) -> tuple[float, float]:
    """Round trips one audited action costs, and one audit record (1 process, counted by the proxy
    after the gate opens; the records are counted in the database afterwards)."""
    counted: list[tuple[float, float]] = []

    def run(url: str, proxy: LatencyProxy) -> None:
        timed(url, 1, n, on_go=lambda: setattr(proxy, "round_trips", 0))
        trips = proxy.round_trips
        import psycopg

        with psycopg.connect(url) as conn:
            row = conn.execute("SELECT count(*) FROM audit WHERE action = 'ping'").fetchone()
        assert row is not None
        records = row[0]
        counted.append((trips / n, trips / records))

    _on_fresh_db(server, run, one_way_s=0.0005, want_proxy=True)
    return counted[0]


def _on_fresh_db(server: lab.PostgresLab, fn: Callable[..., Any], one_way_s: float, want_proxy: bool = False) -> Any:
    db = f"bench_{secrets.token_hex(4)}"
    url = server.create_database(db)
    try:
        if not one_way_s:
            return fn(url)
        with LatencyProxy(server.port, one_way_s) as proxy:
            via = url.replace(f":{server.port}/", f":{proxy.port}/")
            return fn(via, proxy) if want_proxy else fn(via)
    finally:
        server.drop_database(db)


def main() -> None:
    only = sys.argv[sys.argv.index("--cases") + 1].split(",") if "--cases" in sys.argv else None
    args = [a for a in sys.argv[1:] if a.isdigit()]
    n = int(args[0]) if args else 300
    rounds = int(args[1]) if len(args) > 1 else 3
    server = lab.status()
    started = server is None
    server = server or lab.start()
    cases = {
        "postgres_x8": ("pg", 8),
        "postgres_x1": ("pg", 1),
        "sqlite_x1": ("sqlite", 1),
        "sqlite_x8": ("sqlite", 8),
        "postgres_x8_1ms_link": ("pg-link", 8),
    }
    if only:
        cases = {k: v for k, v in cases.items() if k in only}
    times: dict[str, list[float]] = {k: [] for k in cases}
    rtts: list[tuple[float, float]] = []
    try:
        with tempfile.TemporaryDirectory() as d:
            for r in range(rounds):
                for name, (kind, procs) in cases.items():
                    if kind == "pg":
                        times[name].append(_pg_round(server, procs, n, cpu_key=name))
                    elif kind == "pg-link":
                        times[name].append(_pg_round(server, procs, n, one_way_s=LINK_ONE_WAY, cpu_key=name))
                    else:
                        times[name].append(timed(f"sqlite:///{Path(d) / f'{name}-{r}.db'}", procs, n, cpu_key=name))
                if only is None or "round_trips" in only:
                    rtts.append(_round_trips_per_action(server, n))
    finally:
        if started:
            lab.stop()
    rate = {k: cases[k][1] * n / statistics.median(v) for k, v in times.items()}
    ratios = {
        "ratio_postgres_x8_over_sqlite_x1": ("postgres_x8", "sqlite_x1"),
        "ratio_postgres_x8_over_sqlite_x8": ("postgres_x8", "sqlite_x8"),
        "ratio_postgres_x8_over_postgres_x1": ("postgres_x8", "postgres_x1"),
        "ratio_postgres_x8_1ms_link_over_postgres_x8": ("postgres_x8_1ms_link", "postgres_x8"),
    }
    out: dict[str, Any] = {
        "actions_per_process": n,
        "rounds": rounds,
        "load_average_at_end": round(os.getloadavg()[0], 2),
        **{f"{k}_median_s": round(statistics.median(v), 3) for k, v in times.items()},
        **{f"{k}_actions_per_s": round(v) for k, v in rate.items()},
        **{k: round(rate[a] / rate[b], 2) for k, (a, b) in ratios.items() if a in rate and b in rate},
        **{f"{k}_client_cpu_ms_per_action": round(statistics.median(v) * 1000, 3) for k, v in CPU.items()},
        **{f"{k}_actions_per_client_cpu_s": round(1 / statistics.median(v)) for k, v in CPU.items()},
    }
    if rtts:
        out["postgres_round_trips_per_action"] = round(statistics.median(r[0] for r in rtts), 2)
        out["postgres_round_trips_per_record"] = round(statistics.median(r[1] for r in rtts), 2)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()

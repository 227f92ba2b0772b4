"""Benchmark: ``gpu-health`` for 64 nodes x 8 GPUs and ``fabric-health`` for 128 ports, run through
the engine (validation, RBAC, audit records, event stream) against the metrics lab's real
Prometheus, vs the summed time of the raw PromQL queries each action needs, sent one after the
other over the same kind of HTTP client. Target: ratio <= 1.3.

Rounds interleave the action and its raw queries so drift in the shared machine's load hits both.

    python -m tests.bench.metrics_health [ROUNDS]     # starts the metrics lab unless it runs
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from dcops.actions import load_actions
from dcops.actions.backends.factory import build_backends
from dcops.actions.backends.prometheus import PrometheusAdapter
from dcops.actions.config.model import AuditSection, ClusterSection, DcopsConfig, NodeEntry
from dcops.actions.config.prometheus import PrometheusSection
from dcops.actions.engine import Engine
from dcops.actions.fabric.counters import growth_queries
from dcops.actions.metrics.gpu import gpu_queries
from dcops.actions.rbac import Policy
from dcops.actions.request import Request
from dcops.actions.store.sqlite import SqliteStore
from tests.lab.metrics import lab as metrics_lab

NODES = [f"gpu{i:03d}" for i in range(1, 65)]


async def raw(prom: PrometheusAdapter, queries: list[str]) -> float:
    t0 = time.perf_counter()
    for q in queries:
        await prom.query(q)
    return time.perf_counter() - t0


async def through_engine(eng: Engine, action: str, params: dict) -> float:
    t0 = time.perf_counter()
    run = await eng.submit(Request(principal="unix:bench", channel="api", action=action, params=params))
    finished = await run.wait()
    elapsed = time.perf_counter() - t0
    if finished.outcome != "ok":
        raise SystemExit(f"{action} failed: {finished.summary}")
    return elapsed


async def main(rounds: int) -> None:
    running = metrics_lab.status()
    lab = running or metrics_lab.start(nodes=64)
    try:
        await _bench(lab, rounds)
    finally:
        if running is None:
            metrics_lab.stop()


async def _bench(lab: metrics_lab.MetricsLab, rounds: int) -> None:
    load_actions()
    with tempfile.TemporaryDirectory() as tmp:
        cfg = DcopsConfig(
            cluster=ClusterSection(name="bench"),
            audit=AuditSection(url=f"sqlite:///{tmp}/a.db"),
            nodes=[NodeEntry(names="gpu[001-064]", partitions=["gpu"])],
            prometheus=PrometheusSection(url=lab.prometheus_url),
            topology=str(lab.topology_path),
        )
        eng = Engine(cfg, build_backends(cfg), SqliteStore(str(Path(tmp) / "a.db")), Policy.demo())
        await eng.start()
        prom = PrometheusAdapter(lab.prometheus_url)
        cases: dict[str, tuple[str, dict[str, Any], list[str]]] = {
            "gpu-health 64 nodes x 8 GPUs": (
                "gpu-health",
                {"nodes": "gpu[001-064]"},
                list(gpu_queries(NODES).values()),
            ),
            "fabric-health 128 ports": ("fabric-health", {"top": 128}, list(growth_queries(None).values())),
        }
        times: dict[str, tuple[list[float], list[float]]] = {k: ([], []) for k in cases}
        floor: list[float] = []
        for action, params, queries in cases.values():  # warm-up: connections, caches
            await through_engine(eng, action, params)
            await raw(prom, queries)
        for _ in range(rounds):
            floor.append(await through_engine(eng, "ping", {}))
            for name, (action, params, queries) in cases.items():
                times[name][0].append(await through_engine(eng, action, params))
                times[name][1].append(await raw(prom, queries))
        await prom.aclose()
        await eng.aclose()
    _report(cases, times, floor, rounds)


def _report(cases: dict, times: dict, floor: list[float], rounds: int) -> None:
    print(
        f"{'case':32} {'queries':>7} {'action (ms)':>12} {'raw sum (ms)':>13} {'ratio':>6}   ({rounds} rounds, medians)"
    )
    for name, (_action, _params, queries) in cases.items():
        a, r = statistics.median(times[name][0]), statistics.median(times[name][1])
        print(f"{name:32} {len(queries):>7} {a * 1000:>12.1f} {r * 1000:>13.1f} {a / r:>6.2f}")
    print(
        f"(engine floor: an audited no-op `ping` takes {statistics.median(floor) * 1000:.1f} ms of each action's time)"
    )


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 15))

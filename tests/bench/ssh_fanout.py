"""Benchmark: one command on 16 lab SSH nodes in parallel vs the same command on one node, through
dcops' SSH adapter, side by side in one run (median wall time, and the ratio).

    python -m tests.bench.ssh_fanout [ROUNDS] [--command WORD...]

Two cases: "cold" opens new connections every round (a fresh adapter: TCP, key exchange, host-key
check, auth), "warm" reuses the adapter's per-host connections (what a console does after its first
command). Three commands by default: ``hostname`` (nothing but the SSH round trip), ``sleep 0.2``
(a command that waits, as real diagnostics wait on firmware) and the stand-in ``mlxlink -d mlx5_0
--show_ber`` (a Python script: ~40 ms of CPU per call). Starts the SSH lab if it is not running.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time

from dcops.actions.backends.ssh import SshAdapter
from dcops.actions.config.ssh import SshSection
from tests.lab import sshnodes

CPU: dict[tuple[str, int], list[float]] = {}  # (cold|warm, hosts) -> dcops' own CPU seconds per call
PHASE = ["cold"]


async def _timed(adapter: SshAdapter, hosts: list[str], argv: list[str]) -> float:
    t0, c0 = time.perf_counter(), time.process_time()
    results = dict(zip(hosts, await asyncio.gather(*(adapter.run(h, argv) for h in hosts))))
    elapsed = time.perf_counter() - t0
    CPU.setdefault((PHASE[0], len(hosts)), []).append(time.process_time() - c0)
    bad = {h: r.error or r.stderr for h, r in results.items() if not r.ok}
    if bad:
        raise RuntimeError(f"command failed on {bad}")
    return elapsed


async def cold(section: SshSection, hosts: list[str], argv: list[str]) -> float:
    adapter = SshAdapter(section)
    try:
        return await _timed(adapter, hosts, argv)
    finally:
        await adapter.aclose()


async def bench(lab: sshnodes.SshNodesLab, rounds: int, argv: list[str]) -> None:
    CPU.clear()
    PHASE[0] = "cold"
    section = SshSection(**lab.ssh_config())
    one, all16 = lab.nodes[:1], lab.nodes[:16]
    await cold(section, all16, argv)  # warm the machine up
    cold_one, cold_all = [], []
    for _ in range(rounds):
        cold_one.append(await cold(section, one, argv))
        cold_all.append(await cold(section, all16, argv))
    adapter = SshAdapter(section)
    PHASE[0] = "warm"
    try:
        await _timed(adapter, all16, argv)  # open the connections
        warm_one, warm_all = [], []
        for _ in range(rounds):
            warm_one.append(await _timed(adapter, one, argv))
            warm_all.append(await _timed(adapter, all16, argv))
    finally:
        await adapter.aclose()
    med = {
        k: statistics.median(v) * 1000
        for k, v in (("cold_one", cold_one), ("cold_16", cold_all), ("warm_one", warm_one), ("warm_16", warm_all))
    }
    cpu = {k: statistics.median(v) * 1000 for k, v in CPU.items()}
    print(
        json.dumps(
            {
                "benchmark": "ssh one command, 16 nodes vs 1",
                "command": argv,
                "rounds": rounds,
                **{f"{k}_ms": round(v, 1) for k, v in med.items()},
                **{f"client_cpu_{p}_{n}_ms": round(cpu[p, n], 1) for p, n in sorted(cpu)},
                "ratio_cold": round(med["cold_16"] / med["cold_one"], 2),
                "ratio_warm": round(med["warm_16"] / med["warm_one"], 2),
            }
        )
    )
    print(
        f"{' '.join(argv)}: new connections: 1 node {med['cold_one']:.0f} ms, 16 nodes {med['cold_16']:.0f} ms, "
        f"ratio {med['cold_16'] / med['cold_one']:.2f}; reused connections: 1 node {med['warm_one']:.0f} ms, "
        f"16 nodes {med['warm_16']:.0f} ms, ratio {med['warm_16'] / med['warm_one']:.2f}; dcops' own CPU per call "
        f"(new / reused connections): 1 node {cpu['cold', 1]:.1f} / {cpu['warm', 1]:.1f} ms, "
        f"16 nodes {cpu['cold', 16]:.1f} / {cpu['warm', 16]:.1f} ms"
    )


DEFAULT_COMMANDS = (["hostname"], ["sleep", "0.2"], ["mlxlink", "-d", "mlx5_0", "--show_ber"])


async def main(rounds: int, commands: list[list[str]]) -> None:
    with sshnodes.session() as lab:
        for argv in commands:
            await bench(lab, rounds, argv)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rounds", nargs="?", type=int, default=10)
    parser.add_argument("--command", nargs="+", help="one command to time (default: three, see the docstring)")
    args = parser.parse_args()
    asyncio.run(main(args.rounds, [args.command] if args.command else [list(c) for c in DEFAULT_COMMANDS]))

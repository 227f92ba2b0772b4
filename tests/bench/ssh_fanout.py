"""Benchmark: one command on 16 lab SSH nodes in parallel vs the same command on one node, through
dcops' SSH adapter, side by side in one run (median wall time, and the ratio).

    python -m tests.bench.ssh_fanout [ROUNDS] [--command WORD...]

Two cases: "cold" opens new connections every round (a fresh adapter: TCP, key exchange, host-key
check, auth), "warm" reuses the adapter's per-host connections (what a console does after its first
command). The default command is the stand-in ``mlxlink -d mlx5_0 --show_ber`` (a Python script on
the node, like the real tool a real cost per call). Starts the SSH lab if it is not running.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time

from actions.backends.ssh import SshAdapter
from actions.config.ssh import SshSection
from tests.lab import sshnodes


async def _timed(adapter: SshAdapter, hosts: list[str], argv: list[str]) -> float:
    t0 = time.perf_counter()
    results = await adapter.run_many(hosts, argv)
    elapsed = time.perf_counter() - t0
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


async def main(rounds: int, argv: list[str]) -> None:
    with sshnodes.session() as lab:
        section = SshSection(**lab.ssh_config())
        one, all16 = lab.nodes[:1], lab.nodes[:16]
        await cold(section, all16, argv)                                 # warm the machine up
        cold_one, cold_all = [], []
        for _ in range(rounds):
            cold_one.append(await cold(section, one, argv))
            cold_all.append(await cold(section, all16, argv))
        adapter = SshAdapter(section)
        try:
            await _timed(adapter, all16, argv)                           # open the connections
            warm_one, warm_all = [], []
            for _ in range(rounds):
                warm_one.append(await _timed(adapter, one, argv))
                warm_all.append(await _timed(adapter, all16, argv))
        finally:
            await adapter.aclose()
    med = {k: statistics.median(v) * 1000 for k, v in
           (("cold_one", cold_one), ("cold_16", cold_all), ("warm_one", warm_one), ("warm_16", warm_all))}
    print(json.dumps({"benchmark": "ssh one command, 16 nodes vs 1", "command": argv, "rounds": rounds,
                      **{f"{k}_ms": round(v, 1) for k, v in med.items()},
                      "ratio_cold": round(med["cold_16"] / med["cold_one"], 2),
                      "ratio_warm": round(med["warm_16"] / med["warm_one"], 2)}))
    print(f"{' '.join(argv)}: new connections: 1 node {med['cold_one']:.0f} ms, 16 nodes {med['cold_16']:.0f} ms, "
          f"ratio {med['cold_16'] / med['cold_one']:.2f}; reused connections: 1 node {med['warm_one']:.0f} ms, "
          f"16 nodes {med['warm_16']:.0f} ms, ratio {med['warm_16'] / med['warm_one']:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rounds", nargs="?", type=int, default=10)
    parser.add_argument("--command", nargs="+", default=["mlxlink", "-d", "mlx5_0", "--show_ber"])
    args = parser.parse_args()
    asyncio.run(main(args.rounds, args.command))

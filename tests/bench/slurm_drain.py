"""Benchmark: drain + resume of 16 lab nodes through dcops (engine: RBAC, blast-radius guard, audit
records per node, locks; the Slurm adapter) vs the same ``scontrol update`` run directly, side by
side in one run against the lab's real Slurm cluster.

    python -m tests.bench.slurm_drain [ROUNDS] [--mode cli|rest]

"direct" is one ``scontrol update NodeName=gpu[001-016] State=DRAIN Reason=...`` and one
``State=RESUME``, each a subprocess. "dcops" is ``drain gpu[001-016] --reason ...`` then
``resume gpu[001-016]`` through ``Engine.submit``. Besides the write, dcops reads node state twice
per pair: the engine's blast-radius guard before a drain (how much of each partition would be out;
states only: squeue runs only for targets that may hold a job, none here) and resume's health-mark
check (a node NHC drained must not be resumed by mistake; fresh each run). Both reads go through
the adapter's long-lived ``scontrol`` (``slurm_session``), and so do the two writes (the reason
"bench" is a safe word there); the "reads" column times the reads alone so the ratio can be read
against them. CPU: the milliseconds of CPU each side costs per pair, this
process plus its finished subprocesses (``scontrol``, ``sinfo``, ``squeue``) plus the long-lived
``scontrol`` (read from /proc: it is not a finished child); slurmctld's own CPU is in neither. The
figure a loaded machine hides least. Starts the Slurm lab if it is not running (and stops it again).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import tempfile
import time
from pathlib import Path
from typing import Literal

from dcops.actions import Request, open_engine
from dcops.actions.backends.ports import SlurmPort
from dcops.actions.config.model import AuditSection, ClusterSection, DcopsConfig, GuardsSection
from dcops.actions.config.slurm import SlurmSection
from dcops.actions.events import RunFinished
from dcops.actions.rbac import Policy
from tests.lab import slurm as lab_slurm

NODES = "gpu[001-016]"
ALLOW_ALL = '[roles.all]\nactions = ["*"]\n[[bindings]]\nprincipals = ["unix:*"]\nroles = ["all"]\n'


async def _scontrol(env: dict[str, str], *args: str) -> None:
    proc = await asyncio.create_subprocess_exec(
        "scontrol", "update", *args, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    _, err = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"scontrol failed: {err.decode().strip()}")


def cpu_now(engine=None) -> float:  # noqa: ANN001 - an Engine
    """CPU seconds of this process, its finished children and the engine's long-lived scontrol."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime + (session_cpu(engine) if engine else 0.0)


def session_cpu(engine) -> float:  # noqa: ANN001
    """CPU seconds the Slurm adapter's long-lived scontrol used so far (0 when it has none)."""
    session = getattr(engine.backends.get(SlurmPort), "session", None)
    proc = getattr(session, "_proc", None)
    if proc is None:
        return 0.0
    try:  # nanoseconds on the CPU (/proc/PID/stat counts 10 ms ticks: too coarse per pair)
        return int(Path(f"/proc/{proc.pid}/schedstat").read_text().split()[0]) / 1e9
    except (OSError, ValueError, IndexError):
        return 0.0


async def direct_pair(env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    await _scontrol(env, f"NodeName={NODES}", "State=DRAIN", "Reason=bench [unix:bench via cli]")
    await _scontrol(env, f"NodeName={NODES}", "State=RESUME")
    return time.perf_counter() - t0


async def dcops_pair(engine) -> float:  # noqa: ANN001 - an Engine
    t0 = time.perf_counter()
    for action, params in (("drain", {"nodes": NODES, "reason": "bench"}), ("resume", {"nodes": NODES})):
        run = await engine.submit(Request(principal="unix:bench", channel="cli", action=action, params=params))
        final = [ev async for ev in run.events()][-1]
        if not isinstance(final, RunFinished) or final.outcome != "ok":
            raise RuntimeError(f"{action} did not succeed: {final}")
    return time.perf_counter() - t0


async def reads_only(engine) -> float:  # noqa: ANN001
    """The two Slurm reads a dcops pair makes besides its writes (guard + health check)."""
    slurm = engine.backends.get(SlurmPort)
    t0 = time.perf_counter()
    await slurm.nodes(jobs=False)  # the guard: every node's state (jobs only of busy targets: none here)
    await slurm.nodes([f"gpu{i:03d}" for i in range(1, 17)], jobs=False)
    return time.perf_counter() - t0


def config(lab: lab_slurm.SlurmLab, db: Path, mode: Literal["cli", "rest"]) -> DcopsConfig:
    slurm = SlurmSection(mode=mode, env=lab.env, timeout=15, rest_url=lab.rest_url, rest_user="root")
    return DcopsConfig(
        cluster=ClusterSection(name="bench"),
        audit=AuditSection(url=f"sqlite:///{db}"),
        guards=GuardsSection(max_partition_unavailable=1.0),
        slurm=slurm,
    )


async def main(rounds: int, mode: Literal["cli", "rest"]) -> None:
    with lab_slurm.session() as lab:
        lab.reset()
        os.environ["SLURM_JWT"] = lab.token  # [slurm] token_env for mode = "rest"
        env = {**os.environ, **lab.env}
        with tempfile.TemporaryDirectory() as tmp:
            engine = await open_engine(config(lab, Path(tmp) / "audit.db", mode), policy=Policy.from_toml(ALLOW_ALL))
            try:
                await dcops_pair(engine)  # warm up: inventory cache, imports, connections
                await direct_pair(env)
                direct, dcops, reads, direct_cpu, dcops_cpu = [], [], [], [], []
                for _ in range(rounds):  # interleaved so drift hits both alike
                    c0 = cpu_now(engine)
                    direct.append(await direct_pair(env))
                    c1 = cpu_now(engine)
                    dcops.append(await dcops_pair(engine))
                    c2 = cpu_now(engine)
                    direct_cpu.append(c1 - c0)
                    dcops_cpu.append(c2 - c1)
                    reads.append(await reads_only(engine))
            finally:
                await engine.aclose()
    d, c, r = (statistics.median(x) * 1000 for x in (direct, dcops, reads))
    dc, cc = (statistics.median(x) * 1000 for x in (direct_cpu, dcops_cpu))
    print(
        json.dumps(
            {
                "benchmark": "drain+resume 16 nodes",
                "mode": mode,
                "rounds": rounds,
                "direct_scontrol_ms": round(d, 1),
                "dcops_ms": round(c, 1),
                "ratio": round(c / d, 2),
                "dcops_slurm_reads_ms": round(r, 1),
                "ratio_without_reads": round((c - r) / d, 2),
                "direct_cpu_ms": round(dc, 1),
                "dcops_cpu_ms": round(cc, 1),
                "cpu_ratio": round(cc / dc, 2),
                "load_average": round(os.getloadavg()[0], 2),
            }
        )
    )
    print(
        f"drain+resume of 16 nodes ({mode}): direct scontrol {d:.1f} ms, dcops {c:.1f} ms, ratio {c / d:.2f} "
        f"(of which the guard + health-check reads {r:.1f} ms; without them {(c - r) / d:.2f})"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rounds", nargs="?", type=int, default=20)
    parser.add_argument("--mode", choices=["cli", "rest"], default="cli")
    args = parser.parse_args()
    asyncio.run(main(args.rounds, args.mode))

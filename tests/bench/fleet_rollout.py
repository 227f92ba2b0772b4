"""Rolling firmware update at fleet size, side by side in one run (issue 16):

- ``alone``: `firmware-update` of ONE node (drain, update, task, reset, verify, resume);
- ``fleet``: the same on 64 lab BMCs with ``--max-parallel 16``;
- ``fleet, 1 failing``: the same with one BMC failing its update, under ``--max-failures 1``.

Target: each fleet wall time <= 1.2 x ceil(64/16) x the per-node time alone (the median of the
``alone`` runs of the same session). Every run goes through the engine in this process with the real
adapters: the lab BMCs (sushy-based Redfish with task monitors, resets and injected latency per
request) and the lab Kubernetes API server (cordon, evict, uncordon of 64 nodes), audited to SQLite.
Each round resets the BMCs (old firmware again) and the Kubernetes world, so every run does the work.

Next to each wall time the bench reports where the time and the CPU went, so a loaded 2-core box
can be told apart from a cost of ours:

- ``dcops cpu``: CPU seconds of this process (the engine, the adapters, the audit appends:
  ``time.process_time``) during the run;
- ``bmc cpu`` / ``kube cpu``: CPU seconds of the lab's Redfish emulator process and of the lab
  Kubernetes API server (``/proc/PID/stat`` utime+stime, all threads) during the run;
- per step, the median seconds a node spent in it (from the run's own step events): ``drain``
  (cordon, evict, wait idle), ``push`` (inventory, update path, SimpleUpdate), ``task`` (following
  the update task), ``reset`` (reset and back), ``verify+resume`` (inventory again, uncordon), and
  ``queued`` (submit to the node's first event: waiting for a slot).

Run by hand (own lab dir and ports from the env file), one command:
    python -m tests.bench.fleet_rollout [--nodes 64] [--parallel 16] [--rounds 3] [--latency 0.05 0.5]
        [--update-seconds 2.0] [--profile FILE.prof]
``--profile`` writes a CPU-time cProfile of this process over the fleet runs (``python -m pstats FILE``).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import math
import os
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dcops.actions import open_engine
from dcops.actions.config.kube import KubeSection
from dcops.actions.config.model import AuditSection, ClusterSection, DcopsConfig, NodeEntry
from dcops.actions.config.redfish import RedfishSection
from dcops.actions.errors import ApprovalRequired, ConfirmationRequired
from dcops.actions.rbac import Policy
from dcops.actions.request import Request
from tests.lab import bmc as lab_bmc
from tests.lab.kubeapi import lab as kube_lab
from tests.lab.kubeapi.scenario import OPERATOR_DAEMONSETS, daemonset, node
from tests.lab.slurm.procs import read_pid

ALLOW_ALL = '[roles.all]\nactions = ["*"]\napprove = ["*"]\n[[bindings]]\nprincipals = ["unix:*"]\nroles = ["all"]\n'
NEW_BIOS = "2.4.0"
FAILING = "gpu007"


def kube_world(n: int) -> list[dict[str, Any]]:
    """n GPU nodes with the operators' DaemonSet pods on each (drain leaves those, as kubectl does)."""
    return [node(f"gpu{i:03d}") for i in range(1, n + 1)] + [daemonset(ns, ds) for ns, ds in OPERATOR_DAEMONSETS]


def config(work: Path, bmcs: lab_bmc.LabBmcs, kube: kube_lab.LabInfo, n: int) -> DcopsConfig:
    return DcopsConfig(
        cluster=ClusterSection(name="bench"),
        audit=AuditSection(url=f"sqlite:///{work / 'audit.db'}"),
        nodes=[NodeEntry(names=f"gpu[001-{n:03d}]", partitions=["gpu"])],
        redfish=RedfishSection(
            bmcs=bmcs.bmcs, username=bmcs.user, password_file=bmcs.password_file, ca_bundle=bmcs.ca, timeout=10.0
        ),
        kube=KubeSection(kubeconfig=str(kube.kubeconfig), drain_timeout=60),
    )


STEPS = ("queued", "drain", "push", "task", "reset", "verify+resume")
TICK = os.sysconf("SC_CLK_TCK")


def cpu_of(pid: int | None) -> float:
    """CPU seconds (user + system, all threads) a process has used so far; 0 when it is gone."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime (fields 14, 15 of stat)


def step_of(detail: str) -> str | None:
    """Which step a node's finished-step line ends (the lines firmware.Rollout writes)."""
    if "started: task" in detail:
        return "push"
    if ("waiting for" in detail and "to activate" in detail) or "task Completed" in detail:
        return "task"
    if detail.endswith(" and back"):
        return "reset"
    if detail.startswith(("updated, verified", "failed")):
        return "verify+resume"
    if "drain" in detail or "cordon" in detail:
        return "drain"
    return None


@dataclass
class Sample:
    """One run: wall, CPU per process, and per-node seconds per step."""

    wall: float
    dcops_cpu: float
    bmc_cpu: float
    kube_cpu: float
    steps: dict[str, list[float]] = field(default_factory=dict)


async def step_times(run: Any, t0: float) -> dict[str, list[float]]:
    """Seconds each node spent per step, from the run's step events timed as they arrive."""
    last: dict[str, float] = {}
    out: dict[str, list[float]] = {}
    async for ev in run.events():
        if getattr(ev, "kind", "") != "step" or ev.target == "*":
            continue
        now = time.perf_counter()
        if ev.target not in last:
            out.setdefault("queued", []).append(now - t0)
            last[ev.target] = now
        if ev.status in ("ok", "failed") and ev.keep and (name := step_of(ev.detail)):
            out.setdefault(name, []).append(now - last[ev.target])
            last[ev.target] = now
    return out


async def rollout(cfg: DcopsConfig, params: dict[str, Any], pids: tuple[int | None, int | None]) -> tuple[Sample, Any]:
    """Submit like a front end (confirm, a second person approves), wait; wall time from submit to
    finish, CPU of this process and of the lab servers over the same span, seconds per step."""
    engine = await open_engine(cfg, policy=Policy.from_toml(ALLOW_ALL))
    try:
        cpu0, bmc0, kube0 = time.process_time(), cpu_of(pids[0]), cpu_of(pids[1])
        t = time.perf_counter()
        req = Request(principal="unix:alice", channel="cli", action="firmware-update", params=params)
        try:
            try:
                run = await engine.submit(req)
            except ConfirmationRequired as exc:
                run = await engine.submit(req.model_copy(update={"confirm": exc.token}))
        except ApprovalRequired as exc:
            run = await engine.approve(exc.approval_id, "unix:bob", "cli")
        steps = asyncio.create_task(step_times(run, t))
        fin = await run.wait()
        wall = time.perf_counter() - t
        sample = Sample(
            wall,
            time.process_time() - cpu0,
            cpu_of(pids[0]) - bmc0,
            cpu_of(pids[1]) - kube0,
            await steps,
        )
        return sample, (fin, run.result)
    finally:
        await engine.aclose()


def prepare(
    bmcs: lab_bmc.LabBmcs, kube: kube_lab.LabInfo, n: int, latency: tuple[float, float], failing: str | None = None
) -> None:
    bmcs.reset()
    bmcs.latency(*latency)
    if failing:
        bmcs.faults([failing], fail_update="flash write error at 0x3f000")
    kube.reset(kube_world(n), pod_start_delay=0.05, kubelet_stop_seconds=0.1)


async def main_async(args: argparse.Namespace) -> None:
    n, par = args.nodes, args.parallel
    lat = (args.latency[0], args.latency[1])
    bmcs = lab_bmc.start(n, update_seconds=args.update_seconds, power_delay=1)
    kube = kube_lab.start()
    pids = (read_pid(bmcs.directory / "server.pid"), kube.pid)
    runs: dict[str, list[Sample]] = {"alone": [], "fleet": [], "fleet, 1 failing": []}
    prof = cProfile.Profile(time.process_time) if args.profile else None  # CPU, not waiting
    try:
        with tempfile.TemporaryDirectory(prefix="dcops-bench-rollout-") as tmp:
            cfg = config(Path(tmp), bmcs, kube, n)
            image = {"image": bmcs.image_url(f"bios-{NEW_BIOS}.bin"), "component": "BIOS"}
            for r in range(args.rounds):
                one = f"gpu{n - r % 4:03d}"
                prepare(bmcs, kube, n, lat)
                sample, (fin, res) = await rollout(cfg, {"nodes": one, **image, "max_parallel": 1}, pids)
                assert fin.outcome == "ok", fin.summary
                runs["alone"].append(sample)
                print(f"round {r + 1}: alone ({one}) {line(sample)}", flush=True)

                prepare(bmcs, kube, n, lat)
                if prof:
                    prof.enable()
                sample, (fin, res) = await rollout(
                    cfg, {"nodes": f"gpu[001-{n:03d}]", **image, "max_parallel": par}, pids
                )
                if prof:
                    prof.disable()
                assert fin.outcome == "ok" and len(res.data["updated"]) == n, fin.summary
                seen = bmcs.status()
                assert all(s["versions"]["BIOS"] == NEW_BIOS for s in seen["nodes"].values())
                runs["fleet"].append(sample)
                assert all(v >= 1 for v in seen["resets"].values())  # every node was reset
                print(f"round {r + 1}: fleet {n} x{par} {line(sample)}", flush=True)

                prepare(bmcs, kube, n, lat, failing=FAILING)
                sample, (fin, res) = await rollout(
                    cfg, {"nodes": f"gpu[001-{n:03d}]", **image, "max_parallel": par, "max_failures": 1}, pids
                )
                assert fin.outcome == "failed" and set(res.data["failed"]) == {FAILING}, fin.summary
                assert len(res.data["updated"]) == n - 1, fin.summary
                runs["fleet, 1 failing"].append(sample)
                print(
                    f"round {r + 1}: fleet {n} x{par}, {FAILING} failing, --max-failures 1: {line(sample)}", flush=True
                )
    finally:
        lab_bmc.stop()
        kube_lab.stop()
    if prof:
        prof.dump_stats(args.profile)
    report(runs, n, par, lat, args)


def line(s: Sample) -> str:
    return f"{s.wall:.2f}s wall, dcops {s.dcops_cpu:.2f} / bmc {s.bmc_cpu:.2f} / kube {s.kube_cpu:.2f} CPU-s"


def report(runs: dict[str, list[Sample]], n: int, par: int, lat: tuple[float, float], args: argparse.Namespace) -> None:
    """Medians side by side: wall and ratio to the limit, CPU per process (and per node), seconds per step."""
    med = statistics.median
    alone = med(s.wall for s in runs["alone"])
    limit = math.ceil(n / par) * alone
    print(
        f"\n{n} lab BMCs, --max-parallel {par}, latency {lat[0]}-{lat[1]} s per request, "
        f"update {args.update_seconds}s, {args.rounds} round(s); medians; load {os.getloadavg()[0]:.1f} at the end"
    )
    head = f"{'run':<18}{'wall s':>8}{'x limit':>8}{'dcops cpu':>10}{'/node ms':>9}{'bmc cpu':>8}{'kube cpu':>9}"
    print(head + "".join(f"{st:>14}" for st in STEPS))
    for name, samples in runs.items():
        wall = med(s.wall for s in samples)
        nodes = 1 if name == "alone" else n
        ratio = "" if name == "alone" else f"{wall / limit:.2f}"
        dc = med(s.dcops_cpu for s in samples)
        cols = (
            f"{name:<18}{wall:>8.2f}{ratio:>8}{dc:>10.2f}{dc / nodes * 1000:>9.0f}"
            f"{med(s.bmc_cpu for s in samples):>8.2f}{med(s.kube_cpu for s in samples):>9.2f}"
        )
        for st in STEPS:
            per_run = [med(s.steps[st]) for s in samples if s.steps.get(st)]
            worst = [max(s.steps[st]) for s in samples if s.steps.get(st)]
            cols += f"{med(per_run):>7.2f}/{med(worst):<6.2f}" if per_run else f"{'-':>14}"
        print(cols)
    print(f"limit = ceil({n}/{par}) x alone = {limit:.2f}s; target <= 1.2; steps: median/max seconds per node")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--nodes", type=int, default=64)
    ap.add_argument("--parallel", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--latency", type=float, nargs=2, default=(0.05, 0.5), metavar=("LO", "HI"))
    ap.add_argument("--update-seconds", type=float, default=2.0)
    ap.add_argument("--profile", metavar="FILE", help="cProfile this process over the fleet runs into FILE")
    asyncio.run(main_async(ap.parse_args()))


if __name__ == "__main__":
    main()

"""Rolling firmware update at fleet size, side by side in one run (issue 16):

- ``alone``: `firmware-update` of ONE node (drain, update, task, reset, verify, resume);
- ``fleet``: the same on 64 lab BMCs with ``--max-parallel 16``;
- ``fleet, 1 failing``: the same with one BMC failing its update, under ``--max-failures 1``.

Target: each fleet wall time <= 1.2 x ceil(64/16) x the per-node time alone (the median of the
``alone`` runs of the same session). Every run goes through the engine in this process with the real
adapters: the lab BMCs (sushy-based Redfish with task monitors, resets and injected latency per
request) and the lab Kubernetes API server (cordon, evict, uncordon of 64 nodes), audited to SQLite.
Each round resets the BMCs (old firmware again) and the Kubernetes world, so every run does the work.

Run by hand (own lab dir and ports from the env file):
    python -m tests.bench.fleet_rollout [--nodes 64] [--parallel 16] [--rounds 3] [--latency 0.05 0.5]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import statistics
import tempfile
import time
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


async def rollout(cfg: DcopsConfig, params: dict[str, Any]) -> tuple[float, Any]:
    """Submit like a front end (confirm, a second person approves), wait; wall time from submit to finish."""
    engine = await open_engine(cfg, policy=Policy.from_toml(ALLOW_ALL))
    try:
        t = time.perf_counter()
        req = Request(principal="unix:alice", channel="cli", action="firmware-update", params=params)
        try:
            try:
                run = await engine.submit(req)
            except ConfirmationRequired as exc:
                run = await engine.submit(req.model_copy(update={"confirm": exc.token}))
        except ApprovalRequired as exc:
            run = await engine.approve(exc.approval_id, "unix:bob", "cli")
        fin = await run.wait()
        return time.perf_counter() - t, (fin, run.result)
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
    times: dict[str, list[float]] = {"alone": [], "fleet": [], "fleet, 1 failing": []}
    try:
        with tempfile.TemporaryDirectory(prefix="dcops-bench-rollout-") as tmp:
            cfg = config(Path(tmp), bmcs, kube, n)
            image = {"image": bmcs.image_url(f"bios-{NEW_BIOS}.bin"), "component": "BIOS"}
            for r in range(args.rounds):
                one = f"gpu{n - r % 4:03d}"
                prepare(bmcs, kube, n, lat)
                wall, (fin, res) = await rollout(cfg, {"nodes": one, **image, "max_parallel": 1})
                assert fin.outcome == "ok", fin.summary
                times["alone"].append(wall)
                print(f"round {r + 1}: alone ({one}) {wall:.2f}s", flush=True)

                prepare(bmcs, kube, n, lat)
                wall, (fin, res) = await rollout(cfg, {"nodes": f"gpu[001-{n:03d}]", **image, "max_parallel": par})
                assert fin.outcome == "ok" and len(res.data["updated"]) == n, fin.summary
                seen = bmcs.status()
                assert all(s["versions"]["BIOS"] == NEW_BIOS for s in seen["nodes"].values())
                times["fleet"].append(wall)
                assert all(v >= 1 for v in seen["resets"].values())  # every node was reset
                print(f"round {r + 1}: fleet {n} x{par} {wall:.2f}s", flush=True)

                prepare(bmcs, kube, n, lat, failing=FAILING)
                wall, (fin, res) = await rollout(
                    cfg, {"nodes": f"gpu[001-{n:03d}]", **image, "max_parallel": par, "max_failures": 1}
                )
                assert fin.outcome == "failed" and set(res.data["failed"]) == {FAILING}, fin.summary
                assert len(res.data["updated"]) == n - 1, fin.summary
                times["fleet, 1 failing"].append(wall)
                print(f"round {r + 1}: fleet {n} x{par}, {FAILING} failing, --max-failures 1: {wall:.2f}s", flush=True)
    finally:
        lab_bmc.stop()
        kube_lab.stop()
    alone = statistics.median(times["alone"])
    limit = math.ceil(n / par) * alone
    print(
        f"\n{n} lab BMCs, --max-parallel {par}, latency {lat[0]}-{lat[1]} s per request, "
        f"update {args.update_seconds}s, {args.rounds} round(s); medians"
    )
    print(f"{'run':<22}{'median s':>10}{'runs':>30}{'x limit':>10}")
    for name, values in times.items():
        med = statistics.median(values)
        ratio = "" if name == "alone" else f"{med / limit:.2f}"
        print(f"{name:<22}{med:>10.2f}{', '.join(f'{v:.1f}' for v in values):>30}{ratio:>10}")
    print(f"limit = ceil({n}/{par}) x alone = {limit:.2f}s; target <= 1.2")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--nodes", type=int, default=64)
    ap.add_argument("--parallel", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--latency", type=float, nargs=2, default=(0.05, 0.5), metavar=("LO", "HI"))
    ap.add_argument("--update-seconds", type=float, default=2.0)
    asyncio.run(main_async(ap.parse_args()))


if __name__ == "__main__":
    main()

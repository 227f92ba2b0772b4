"""The fleet view: one row per node joining every management plane, for the TUI's first screen
and `dcops run fleet`. Each plane is fetched once for the whole fleet (one Slurm listing, one
Kubernetes listing, a handful of PromQL aggregations), never per node, so 10,000 nodes cost the
same handful of calls; a plane that is down leaves its columns empty with a warning, it never
hides the others."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from pydantic import Field

from ..backends.ports import KubePort, PrometheusPort, SlurmPort
from ..context import ActionContext
from ..errors import DcopsError
from ..events import ActionEvent, Log, Result, Table
from ..hostlists import expand
from ..operators import node_operator_state
from ..registry import Kind, Params, TargetKind, action

COLUMNS = ["node", "partitions", "state", "flags", "reason", "jobs", "k8s", "operators", "gpu_util", "gpu_temp", "xid",
           "ib_errors", "util_history", "temp_history"]
_TABLE_COLUMNS = [c for c in COLUMNS if not c.endswith("_history")]

_GPU_QUERIES = {
    "gpu_util": "avg by (Hostname) (DCGM_FI_DEV_GPU_UTIL)",
    "gpu_temp": "max by (Hostname) (DCGM_FI_DEV_GPU_TEMP)",
    "xid": "max by (Hostname) (DCGM_FI_DEV_XID_ERRORS)",
}
_IB_QUERY = "sum by (instance) (rate(node_infiniband_symbol_error_total[10m]) + rate(node_infiniband_link_downed_total[10m]))"
_HISTORY = {"util_history": "avg by (Hostname) (DCGM_FI_DEV_GPU_UTIL)",
            "temp_history": "max by (Hostname) (DCGM_FI_DEV_GPU_TEMP)"}


class FleetParams(Params):
    nodes: str = Field("", description="hostlist (default: every node)")
    history: bool = Field(True, description="include 30 min of GPU utilisation and temperature for sparklines")


@action("fleet", example='fleet gpu[001-008]', help="every node across Slurm, Kubernetes and GPU/IB metrics", params=FleetParams,
        kind=Kind.READ, targets=TargetKind.NONE, positional=("nodes",), category="nodes")
async def fleet(ctx: ActionContext, p: FleetParams) -> AsyncIterator[ActionEvent]:
    wanted = set(expand(p.nodes)) if p.nodes else None
    rows: dict[str, dict[str, Any]] = {}
    for ref in await ctx.backends.inventory.nodes():
        if wanted is None or ref.name in wanted:
            rows[ref.name] = {"node": ref.name, "partitions": ",".join(ref.partitions), "state": "", "flags": "",
                              "reason": "", "jobs": 0, "k8s": "", "operators": "", "gpu_util": None, "gpu_temp": None, "xid": 0,
                              "ib_errors": None, "util_history": [], "temp_history": []}
    warnings: list[str] = []

    async def slurm_plane() -> None:
        for n in await ctx.backends.get(SlurmPort).nodes():
            if n.name in rows:
                rows[n.name].update(state=n.display_state, flags=",".join(n.flags), reason=n.reason, jobs=len(n.jobs),
                                    partitions=",".join(n.partitions) or rows[n.name]["partitions"])

    policies: list[str] = []

    async def kube_plane() -> None:
        kube = ctx.backends.get(KubePort)
        try:                                             # ClusterPolicy / NicClusterPolicy not ready: say so
            for pol in await kube.operator_policies():
                if pol.state and pol.state != "ready":
                    policies.append(f"{pol.kind} {pol.state}")
        except DcopsError as exc:                        # e.g. no RBAC on the operators' CRDs: nodes still show
            warnings.append(f"kube: operator policies: {exc}")
        for k in await kube.nodes():
            if k.name in rows:
                rows[k.name]["k8s"] = ("cordoned" if k.unschedulable else "ready" if k.ready else "notready")
                rows[k.name]["operators"] = node_operator_state(k.operator_pods)   # GPU / Network Operator pods

    async def gpu_plane() -> None:
        prom = ctx.backends.get(PrometheusPort)
        results = await asyncio.gather(*(prom.query(q) for q in _GPU_QUERIES.values()))
        for col, samples in zip(_GPU_QUERIES, results):
            for s in samples:
                host = s.labels.get("Hostname", "")
                if host in rows:
                    rows[host][col] = round(s.value, 1) if col != "xid" else int(s.value)
        if p.history:
            from datetime import datetime, timedelta, timezone

            end = datetime.now(timezone.utc)
            # 8 points: what a sparkline cell shows; finer steps cost memory and range evaluation
            ranges = await asyncio.gather(*(prom.query_range(q, end - timedelta(minutes=30), end, 240)
                                            for q in _HISTORY.values()))
            for col, found in zip(_HISTORY, ranges):
                for series in found:
                    host = series.labels.get("Hostname", "")
                    if host in rows:
                        rows[host][col] = [round(v, 1) for _, v in series.points]

    async def ib_plane() -> None:
        for s in await ctx.backends.get(PrometheusPort).query(_IB_QUERY):
            host = s.labels.get("instance", "").split(":")[0]
            if host in rows:
                rows[host]["ib_errors"] = round(s.value, 4)

    planes = {"slurm": (slurm_plane, SlurmPort), "kube": (kube_plane, KubePort),
              "prometheus": (gpu_plane, PrometheusPort), "ib": (ib_plane, PrometheusPort)}
    todo = {name: fn for name, (fn, port) in planes.items() if ctx.backends.has(port)}
    results = await asyncio.gather(*(fn() for fn in todo.values()), return_exceptions=True)
    for name, res in zip(todo, results):
        if isinstance(res, DcopsError):
            warnings.append(f"{name}: {res}")
        elif isinstance(res, BaseException):
            warnings.append(f"{name}: {type(res).__name__}: {res}")
    for w in warnings:
        yield Log(level="warning", message=w)
    data = list(rows.values())
    yield Result(summary=f"{len(data)} nodes" + (f"; {len(warnings)} plane(s) unavailable" if warnings else "")
                 + "".join(f"; {p}" for p in policies),
                 table=Table(columns=_TABLE_COLUMNS, rows=[[r[c] for c in _TABLE_COLUMNS] for r in data]), data=data)

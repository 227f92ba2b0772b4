"""The fleet view: one row per node joining every management plane, for the TUI's first screen
and `dcops run fleet`. Each plane is fetched once for the whole fleet (one Slurm listing, one
Kubernetes listing, a handful of PromQL aggregations), never per node, so 10,000 nodes cost the
same handful of calls; a plane that is down leaves its columns empty with a warning, it never
hides the others."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import Field

from ..backends.ports import KubePort, PrometheusPort, SlurmPort
from ..context import ActionContext
from ..errors import DcopsError, UsageError
from ..events import ActionEvent, Log, Result
from ..fabric import setup
from ..fabric.counters import node_of_instance
from ..hostlists import expand
from ..operators import node_operator_state
from ..registry import Kind, Params, TargetKind, action
from ..result_models import FleetRow

# PromQL per column, grouped by the DCGM exporter's node label ({label}: `[prometheus] node_label`, as in
# gpu-health). The IB errors are summed per node_exporter `instance`, which names the node through
# `[prometheus] instance_map` or its host part (FQDN and port stripped), as in fabric-health.
_GPU_QUERIES = {
    "gpu_util": "avg by ({label}) (DCGM_FI_DEV_GPU_UTIL{sel})",
    "gpu_temp": "max by ({label}) (DCGM_FI_DEV_GPU_TEMP{sel})",
    "xid": "max by ({label}) (DCGM_FI_DEV_XID_ERRORS{sel}) > 0",  # 0 is the default: only nodes with an XID travel
}
_IB_QUERY = (
    "sum by (instance) (rate(node_infiniband_symbol_error_total{sel}[10m]) "
    "+ rate(node_infiniband_link_downed_total{sel}[10m]))"
)
# The sparklines' history; its newest point is evaluated at "now", so it is also the current value and the
# instant query of the same column is not sent (each query aggregates every GPU of the fleet: at 10,000
# nodes that is 80,000 series per query, the cost of this view on the Prometheus server).
_HISTORY = {
    "util_history": ("gpu_util", "avg by ({label}) (DCGM_FI_DEV_GPU_UTIL{sel})"),
    "temp_history": ("gpu_temp", "max by ({label}) (DCGM_FI_DEV_GPU_TEMP{sel})"),
}
_HISTORY_STEP = 240.0  # 8 points (what a sparkline cell shows); finer steps cost memory and evaluation
_HISTORY_POINTS = 8

# A large fleet's answers are split into shards by the last character of the node's name (for the IB
# query: of the host part of `instance`, before any domain or port), eleven shards that cover every name
# exactly once. Why: `json.loads` of one answer holds the GIL for its whole length (a 10,000-node
# history is 2.4 MB: 0.3-1 s on a loaded machine), and the TUI runs the engine on a thread of its own
# process, so one big answer freezes typing; eleven small ones leave the UI gaps between them. The
# server selects the same series either way (a regex over one label's values is cheap).
_SHARD_FROM = 2000
_NAME_SHARDS = [f".*{d}" for d in "0123456789"] + ["(.*[^0-9])?"]
_INSTANCE_SHARDS = [f"[^.:]*{d}([.:].*)?" for d in "0123456789"] + ["([^.:]*[^0-9.:])?([.:].*)?"]


def _selectors(label: str, shards: list[str], n_rows: int) -> list[str]:
    """The selector(s) a fleet-wide query runs with: one match-all, or one per shard for a large fleet."""
    if n_rows < _SHARD_FROM:
        return [""]
    return ["{" + f'{label}=~"{pattern}"' + "}" for pattern in shards]


def _promql_label(name: str) -> str:
    """A label name fit to paste into ``by (...)``: PromQL label names are [a-zA-Z_][a-zA-Z0-9_]*;
    the config validates nothing, so refuse anything else here rather than build broken PromQL."""
    if not re.fullmatch(r"[a-zA-Z_][a-zA-Z0-9_]*", name):
        raise UsageError(
            f"[prometheus] node_label {name!r} is not a Prometheus label name "
            "(letters, digits and underscores, not starting with a digit)"
        )
    return name


def _typed_rows(rows: Iterable[dict[str, Any]]) -> list[FleetRow]:
    """The rows, validated, sharing what every row holds alike. Why: the engine keeps the newest runs'
    results (the console's operations view), so each 10,000-node refresh stays resident for several
    refreshes; per row pydantic keeps a set of the fields given (~730 bytes for FleetRow's 14), the
    same for every row here, and the sparklines' 16 floats repeat few values (0.5-step utilisation,
    whole degrees). One shared set and one float object per value take ~1 KB off each of ~2.3 KB.
    Safe to share: FleetRow is frozen, so pydantic never adds to a row's set (``model_copy`` copies
    it before updating)."""
    every = set(FleetRow.model_fields)
    out = []
    for r in rows:
        row = FleetRow(**r)
        if row.__pydantic_fields_set__ == every:
            object.__setattr__(row, "__pydantic_fields_set__", every)
        out.append(row)
    return out


class FleetParams(Params):
    nodes: str = Field("", description="hostlist (default: every node)")
    history: bool = Field(True, description="include 30 min of GPU utilisation and temperature for sparklines")


@action(
    "fleet",
    example="fleet gpu[001-008]",
    help="every node across Slurm, Kubernetes and GPU/IB metrics",
    params=FleetParams,
    kind=Kind.READ,
    targets=TargetKind.NONE,
    positional=("nodes",),
    category="nodes",
    rows=FleetRow,
)
async def fleet(ctx: ActionContext, p: FleetParams) -> AsyncIterator[ActionEvent]:
    wanted = set(expand(p.nodes)) if p.nodes else None
    rows: dict[str, dict[str, Any]] = {}
    for ref in await ctx.backends.inventory.nodes():
        if wanted is None or ref.name in wanted:
            rows[ref.name] = {
                "node": ref.name,
                "partitions": list(ref.partitions),
                "state": "",
                "flags": [],
                "reason": "",
                "jobs": 0,
                "k8s": "",
                "operators": "",
                "gpu_util": None,
                "gpu_temp": None,
                "xid": 0,
                "ib_errors": None,
                "util_history": [],
                "temp_history": [],
            }
    warnings: list[str] = []

    async def slurm_plane() -> None:
        for n in await ctx.backends.get(SlurmPort).nodes():
            if n.name in rows:
                rows[n.name].update(
                    state=n.display_state,
                    flags=list(n.flags),
                    reason=n.reason,
                    jobs=len(n.jobs),
                    partitions=list(n.partitions) or rows[n.name]["partitions"],
                )

    policies: list[str] = []

    async def kube_plane() -> None:
        kube = ctx.backends.get(KubePort)
        try:  # ClusterPolicy / NicClusterPolicy not ready: say so
            for pol in await kube.operator_policies():
                if pol.state and pol.state != "ready":
                    policies.append(f"{pol.kind} {pol.state}")
        except DcopsError as exc:  # e.g. no RBAC on the operators' CRDs: nodes still show
            warnings.append(f"kube: operator policies: {exc}")
        for k in await kube.nodes():
            if k.name in rows:
                rows[k.name]["k8s"] = "cordoned" if k.unschedulable else "ready" if k.ready else "notready"
                rows[k.name]["operators"] = node_operator_state(k.operator_pods)  # GPU / Network Operator pods

    node_label = _promql_label(setup.node_label(ctx))
    instance_map = setup.instance_map(ctx)

    by_name = _selectors(node_label, _NAME_SHARDS, len(rows))
    by_instance = _selectors("instance", _INSTANCE_SHARDS, len(rows))

    shared: dict[float, float] = {}  # one float object per distinct value (see _typed_rows)
    share = shared.setdefault

    async def gpu_plane() -> None:
        prom = ctx.backends.get(PrometheusPort)
        from_history = {col for col, _ in _HISTORY.values()} if p.history else set()
        instant = [(col, sel) for col in _GPU_QUERIES if col not in from_history for sel in by_name]
        end = datetime.now(UTC)
        start = end - timedelta(seconds=_HISTORY_STEP * (_HISTORY_POINTS - 1))  # the last step falls on `end`
        history = (
            [(col, current, q, sel) for col, (current, q) in _HISTORY.items() for sel in by_name] if p.history else []
        )
        results: list[Any] = await asyncio.gather(  # instant samples, then range series
            *(prom.query(_GPU_QUERIES[col].format(label=node_label, sel=sel)) for col, sel in instant),
            *(
                prom.query_range(q.format(label=node_label, sel=sel), start, end, _HISTORY_STEP)
                for _, _, q, sel in history
            ),
        )
        for (col, _), samples in zip(instant, results):
            for s in samples:
                host = s.labels.get(node_label, "")
                if host in rows:
                    rows[host][col] = round(s.value, 1) if col != "xid" else int(s.value)
        fresh_after = end.timestamp() - _HISTORY_STEP / 2
        for (col, current, _, _), found in zip(history, results[len(instant) :]):
            for series in found:
                host = series.labels.get(node_label, "")
                if host in rows and series.points:
                    rows[host][col] = [share(x, x) for x in (round(v, 1) for _, v in series.points)]
                    t, v = series.points[-1]
                    if t >= fresh_after:  # a series that went stale earlier has no current value
                        rows[host][current] = round(v, 1)

    async def ib_plane() -> None:
        prom = ctx.backends.get(PrometheusPort)
        for samples in await asyncio.gather(*(prom.query(_IB_QUERY.format(sel=sel)) for sel in by_instance)):
            for s in samples:
                host = node_of_instance(s.labels.get("instance", ""), instance_map)
                if host in rows:
                    rows[host]["ib_errors"] = round(s.value, 4)

    planes = {
        "slurm": (slurm_plane, SlurmPort),
        "kube": (kube_plane, KubePort),
        "prometheus": (gpu_plane, PrometheusPort),
        "ib": (ib_plane, PrometheusPort),
    }
    todo = {name: fn for name, (fn, port) in planes.items() if ctx.backends.has(port)}
    results = await asyncio.gather(*(fn() for fn in todo.values()), return_exceptions=True)
    for name, res in zip(todo, results):
        if isinstance(res, DcopsError):
            warnings.append(f"{name}: {res}")
        elif isinstance(res, BaseException):
            warnings.append(f"{name}: {type(res).__name__}: {res}")
    for w in warnings:
        yield Log(level="warning", message=w)
    typed = _typed_rows(rows.values())
    yield Result(
        summary=f"{len(typed)} nodes"
        + (f"; {len(warnings)} plane(s) unavailable" if warnings else "")
        + "".join(f"; {p}" for p in policies),
        rows=typed,
        row_model=FleetRow,
    )

"""Metric actions: PromQL queries (instant and range), GPU health, fabric health, node health.

Results carry a table for every front end and ``data`` shaped for charts (``series`` of
``[unix time, value]`` points for range queries; per-GPU and per-port records for the health views).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

from pydantic import Field, computed_field

from ..backends.ports import KubePort, PrometheusPort
from ..context import ActionContext
from ..errors import BackendError
from ..events import ActionEvent, Result
from ..fabric import setup
from ..fabric.counters import COUNTERS, PortGrowth, host_port_growth
from ..fabric.thresholds import LONG_WINDOW, SHORT_WINDOW
from ..fabric.topology import Endpoint, Link, Topology
from ..fabric.triage import judge_link
from ..fabric.verdict import EndEvidence, Verdict
from ..hostlists import collapse, expand
from ..links import grafana_links
from ..metrics.gpu import XID_MEANING, GpuHealth, gpu_health
from ..registry import Kind, Params, TargetKind, action
from ..result_models import PortRow
from ..result_rows import Row, hidden
from ..timespec import Duration


class QueryParams(Params):
    promql: str = Field(..., min_length=1, description="PromQL expression")
    range: Duration | None = Field(None, description="look back this long (e.g. 3h) for a range query")
    step: Duration = Field(60.0, description="range query resolution (e.g. 1m)")


class SampleRow(Row):
    """One series of an instant query and its value."""

    series: str = Field(description='the series as PromQL writes it: name{label="value",...}')
    labels: dict[str, str] = hidden({})
    value: float


class SeriesRow(Row):
    """One series of a range query: how many points, and the last value (the points are in ``data``)."""

    series: str = Field(description='the series as PromQL writes it: name{label="value",...}')
    labels: dict[str, str] = hidden({})
    points: int
    last: float | None


@action(
    "query",
    example="query DCGM_FI_DEV_GPU_TEMP",
    help="run a PromQL query (instant, or --range for a chart)",
    params=QueryParams,
    kind=Kind.READ,
    targets=TargetKind.NONE,
    positional=("promql",),
    category="metrics",
    rows=(SampleRow, SeriesRow),
)
async def query(ctx: ActionContext, p: QueryParams) -> AsyncIterator[ActionEvent]:
    prom = ctx.backends.get(PrometheusPort)
    if p.range:
        end = datetime.now(UTC)
        series = await prom.query_range(p.promql, end - timedelta(seconds=p.range), end, p.step)
        ranged = [
            SeriesRow(
                series=_labels(s.labels),
                labels=dict(s.labels),
                points=len(s.points),
                last=s.points[-1][1] if s.points else None,
            )
            for s in series
        ]
        nodes = [s.labels[setup.node_label(ctx)] for s in series if s.labels.get(setup.node_label(ctx))]
        yield Result(
            summary=f"{len(series)} series over {p.range:.0f}s",
            rows=ranged,
            row_model=SeriesRow,
            data={"series": [{"labels": s.labels, "points": [list(pt) for pt in s.points]} for s in series]},
            links=grafana_links(ctx.config, nodes, start=end - timedelta(seconds=p.range), end=end),
        )
        return
    samples = await prom.query(p.promql)
    rows = [SampleRow(series=_labels(s.labels), labels=dict(s.labels), value=s.value) for s in samples]
    yield Result(
        summary=f"{len(samples)} samples",
        rows=rows,
        row_model=SampleRow,
        data={"samples": [{"labels": s.labels, "value": s.value} for s in samples]},
    )


def _labels(labels: dict[str, str]) -> str:
    name = labels.get("__name__", "")
    rest = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()) if k != "__name__")
    return f"{name}{{{rest}}}" if rest else name or "{}"


# ------------------------------------------------------------------ GPU health


class GpuHealthParams(Params):
    nodes: str = Field(..., description="hostlist of nodes")
    flagged: bool = Field(False, description="show only GPUs with a flag")


def _gpu_data(rows: list[GpuHealth]) -> list[dict]:
    return [{"node": g.node, "gpu": g.gpu, **g.values, "flags": g.flags} for g in rows]


def _num(value: float | None, unit: str = "") -> str:
    return "-" if value is None else f"{value:.0f}{unit}"


class GpuRow(Row):
    """One GPU's health: DCGM values as numbers (None: not reported) and the flags past thresholds."""

    TABLE = (
        "node",
        "gpu",
        "util_shown",
        "temp_shown",
        "power_shown",
        "memory",
        "last_xid",
        "ecc",
        "nvlink",
        "flags_shown",
    )

    node: str
    gpu: int
    util: float | None = hidden(None, description="utilisation, %")
    temp: float | None = hidden(None, description="degrees C")
    power: float | None = hidden(None, description="watts")
    fb_used: float | None = hidden(None, description="framebuffer used, MiB")
    fb_free: float | None = hidden(None, description="framebuffer free, MiB")
    xid: int = hidden(0, description="last XID error code (0: none)")
    ecc_dbe: float | None = hidden(None, description="ECC double-bit errors")
    nvlink_1h: float | None = hidden(None, description="NVLink errors in the last hour")
    flags: list[str] = hidden([], description="what is past a threshold")

    @classmethod
    def of(cls, g: GpuHealth) -> GpuRow:
        v = g.values
        return cls(
            node=g.node,
            gpu=g.gpu,
            util=v.get("util"),
            temp=v.get("temp"),
            power=v.get("power"),
            fb_used=v.get("fb_used"),
            fb_free=v.get("fb_free"),
            xid=int(v.get("xid", 0) or 0),
            ecc_dbe=v.get("ecc_dbe"),
            nvlink_1h=v.get("nvlink_1h"),
            flags=list(g.flags),
        )

    @computed_field(title="util")  # type: ignore[prop-decorator]
    @property
    def util_shown(self) -> str:
        return _num(self.util, "%")

    @computed_field(title="temp")  # type: ignore[prop-decorator]
    @property
    def temp_shown(self) -> str:
        return _num(self.temp, " C")

    @computed_field(title="power")  # type: ignore[prop-decorator]
    @property
    def power_shown(self) -> str:
        return _num(self.power, " W")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def memory(self) -> str:
        if self.fb_used is None or self.fb_free is None or not self.fb_used + self.fb_free:
            return "-"
        return f"{self.fb_used / 1024:.1f}/{(self.fb_used + self.fb_free) / 1024:.0f} GiB"

    @computed_field(title="last XID")  # type: ignore[prop-decorator]
    @property
    def last_xid(self) -> str:
        return f"{self.xid} ({XID_MEANING.get(self.xid, 'see NVIDIA XID catalogue')})" if self.xid else "-"

    @computed_field(title="ECC DBE")  # type: ignore[prop-decorator]
    @property
    def ecc(self) -> str:
        return _num(self.ecc_dbe)

    @computed_field(title="NVLink err 1h")  # type: ignore[prop-decorator]
    @property
    def nvlink(self) -> str:
        return _num(self.nvlink_1h)

    @computed_field(title="flags")  # type: ignore[prop-decorator]
    @property
    def flags_shown(self) -> str:
        return "; ".join(self.flags) or "ok"


@action(
    "gpu-health",
    example="gpu-health gpu[001-004]",
    help="per GPU: util, temp, power, memory, last XID, ECC, NVLink; flags past thresholds",
    params=GpuHealthParams,
    kind=Kind.READ,
    targets=TargetKind.NODES,
    positional=("nodes",),
    category="metrics",
    timeout=60,
    rows=GpuRow,
)
async def gpu_health_action(ctx: ActionContext, p: GpuHealthParams) -> AsyncIterator[ActionEvent]:
    prom = ctx.backends.get(PrometheusPort)
    try:
        rows, silent = await gpu_health(
            prom, ctx.nodes, node_label=setup.node_label(ctx), overrides=ctx.config.thresholds
        )
    except BackendError as exc:  # Prometheus down: no evidence is not good health
        yield Result(
            summary=f"GPU health unknown for {collapse(ctx.nodes)}: {exc}",
            ok=False,
            data={"gpus": [], "silent_nodes": [], "unknown_nodes": list(ctx.nodes), "health": "unknown"},
        )
        return
    flagged = [g for g in rows if g.flags]
    shown = flagged if p.flagged else rows
    parts = [f"{len(rows)} GPUs on {len(ctx.nodes) - len(silent)} node(s): {len(flagged)} flagged"]
    if flagged:
        parts.append(f"({collapse(sorted({g.node for g in flagged}))})")
    if silent:
        parts.append(f"; no DCGM metrics from {collapse(silent)}")
    first_flagged: dict[str, int] = {}
    for g in flagged:
        first_flagged.setdefault(g.node, g.gpu)
    yield Result(
        summary=" ".join(parts).replace(" ;", ";"),
        ok=True,
        rows=[GpuRow.of(g) for g in shown],
        row_model=GpuRow,
        title="GPU health",
        data={"gpus": _gpu_data(shown), "silent_nodes": silent},
        links=grafana_links(ctx.config, [*first_flagged, *ctx.nodes], gpus=first_flagged),
    )


# ------------------------------------------------------------------ fabric health


class NodeHealthRow(Row):
    """A node's GPU and InfiniBand health together, with its operator pods."""

    TABLE = ("node", "status", "gpus", "gpu_flags_shown", "ports", "port_flags_shown", "operators_shown")

    node: str
    status: str = Field(description="ok or attention")
    gpus: int
    gpu_flags: list[str] = hidden([])
    ports: int
    port_flags: list[str] = hidden([])
    operators: str = hidden("", description="GPU / Network Operator pods not ready ('' without Kubernetes)")

    @computed_field(title="gpu flags")  # type: ignore[prop-decorator]
    @property
    def gpu_flags_shown(self) -> str:
        return "; ".join(self.gpu_flags) or "ok"

    @computed_field(title="port flags")  # type: ignore[prop-decorator]
    @property
    def port_flags_shown(self) -> str:
        return "; ".join(self.port_flags) or "ok"

    @computed_field(title="operators")  # type: ignore[prop-decorator]
    @property
    def operators_shown(self) -> str:
        return self.operators or "-"


def _port_verdicts(
    growth: dict[Endpoint, PortGrowth], topo: Topology | None, thresholds: dict[str, float]
) -> list[tuple[Endpoint, Link | None, Verdict]]:
    out = []
    for end, g in growth.items():
        link = topo.link_of(end) if topo else None
        verdict = judge_link(link or Link(a=end, b=end), [EndEvidence(end, g)], thresholds)
        out.append((end, link, verdict))
    return sorted(out, key=lambda x: (-x[2].score, -x[2].magnitude, str(x[0])))


def _port_row(end: Endpoint, link: Link | None, v: Verdict, g: PortGrowth) -> PortRow:
    return PortRow(
        port=str(end),
        node=end.name,
        peer=str(link.other(end)) if link else "?",
        verdict=v.kind,
        symbol_12m=round(g.get("symbol_error_total", SHORT_WINDOW)),
        symbol_125m=round(g.get("symbol_error_total", LONG_WINDOW)),
        link_downed_125m=round(g.get("link_downed_total", LONG_WINDOW)),
        rcv_errors_125m=round(g.get("port_errors_received_total", LONG_WINDOW)),
        remote_phys_125m=round(g.get("port_receive_remote_physical_errors_total", LONG_WINDOW)),
        xmit_wait_per_s=round(g.get("port_transmit_wait_total", SHORT_WINDOW) / SHORT_WINDOW),
    )


def _port_data(end: Endpoint, link: Link | None, v: Verdict, g: PortGrowth) -> dict:
    return {
        "port": str(end),
        "node": end.name,
        "peer": str(link.other(end)) if link else None,
        "verdict": v.kind,
        "evidence": v.evidence,
        "growth_12m": {COUNTERS[c]: g.get(c, SHORT_WINDOW) for c in COUNTERS},
        "growth_125m": {COUNTERS[c]: g.get(c, LONG_WINDOW) for c in COUNTERS},
    }


class FabricHealthParams(Params):
    top: int = Field(20, ge=1, le=100_000, description="show this many ports, worst first")
    nodes: str = Field("", description="only the ports of these nodes (hostlist; default: the whole fabric)")


@action(
    "fabric-health",
    example="fabric-health --top 10",
    positional=("nodes",),
    help="InfiniBand ports ranked by error rates over 12 and 125 min",
    params=FabricHealthParams,
    kind=Kind.READ,
    targets=TargetKind.NONE,
    category="metrics",
    timeout=60,
    rows=PortRow,
)
async def fabric_health(ctx: ActionContext, p: FabricHealthParams) -> AsyncIterator[ActionEvent]:
    prom = ctx.backends.get(PrometheusPort)
    topo = setup.topology(ctx, required=False)
    growth = await host_port_growth(prom, expand(p.nodes) if p.nodes else None, instance_map=setup.instance_map(ctx))
    ranked = _port_verdicts(growth, topo, dict(ctx.config.thresholds))
    bad = [r for r in ranked if r[2].kind != "healthy"]
    kinds: dict[str, int] = {}
    for _, _, v in bad:
        kinds[v.kind] = kinds.get(v.kind, 0) + 1
    summary = f"{len(ranked)} ports: " + (
        ", ".join(f"{n} {k}" for k, n in sorted(kinds.items())) if kinds else "all healthy"
    )
    top = ranked[: p.top]
    yield Result(
        summary=summary,
        rows=[_port_row(e, link, v, growth[e]) for e, link, v in top],
        row_model=PortRow,
        title="fabric health, worst first",
        data={
            "ports": [_port_data(e, link, v, growth[e]) for e, link, v in top],
            "total_ports": len(ranked),
            "counts": kinds,
        },
    )


# ------------------------------------------------------------------ node health


class NodeHealthParams(Params):
    nodes: str = Field(..., description="hostlist of nodes")


@action(
    "node-health",
    example="node-health gpu023",
    help="GPU health and InfiniBand port health of nodes together",
    params=NodeHealthParams,
    kind=Kind.READ,
    targets=TargetKind.NODES,
    positional=("nodes",),
    category="metrics",
    timeout=60,
    rows=NodeHealthRow,
)
async def node_health(ctx: ActionContext, p: NodeHealthParams) -> AsyncIterator[ActionEvent]:
    prom = ctx.backends.get(PrometheusPort)
    nodes = ctx.nodes
    topo = setup.topology(ctx, required=False)
    (gpus, silent), growth = await asyncio.gather(
        gpu_health(prom, nodes, node_label=setup.node_label(ctx), overrides=ctx.config.thresholds),
        host_port_growth(prom, nodes, instance_map=setup.instance_map(ctx)),
    )
    ports = _port_verdicts(growth, topo, dict(ctx.config.thresholds))
    operators = await _operator_states(ctx)
    rows: list[NodeHealthRow] = []
    for node in nodes:
        node_gpus = [g for g in gpus if g.node == node]
        node_ports = [(e, link, v) for e, link, v in ports if e.name == node]
        gpu_flags = [f"gpu{g.gpu}: {f}" for g in node_gpus for f in g.flags]
        port_flags = [f"{e.device}: {v.kind}" for e, _, v in node_ports if v.kind not in ("healthy", "unknown")]
        if node in silent:
            gpu_flags.insert(0, "no DCGM metrics")
        if not node_ports:
            port_flags.insert(0, "no InfiniBand metrics")
        op_state = operators.get(node, "")
        status = "ok" if not gpu_flags and not port_flags and op_state in ("", "ok") else "attention"
        rows.append(
            NodeHealthRow(
                node=node,
                status=status,
                gpus=len(node_gpus),
                gpu_flags=gpu_flags,
                ports=len(node_ports),
                port_flags=port_flags,
                operators=op_state,
            )
        )
    attention = [r.node for r in rows if r.status != "ok"]
    summary = (
        f"{len(nodes)} node(s): {len(attention)} need attention ({collapse(attention)})"
        if attention
        else f"{len(nodes)} node(s): all ok"
    )
    yield Result(
        summary=summary,
        rows=rows,
        row_model=NodeHealthRow,
        title="node health",
        links=grafana_links(ctx.config, [*attention, *nodes]),
        data={
            "nodes": [
                {
                    "node": r.node,
                    "status": r.status,
                    "gpus": r.gpus,  # the shape `data` always had
                    "gpu_flags": r.gpu_flags_shown,
                    "ports": r.ports,
                    "port_flags": r.port_flags_shown,
                    "operators": r.operators_shown,
                }
                for r in rows
            ],
            "gpus": _gpu_data(gpus),
            "ports": [_port_data(e, link, v, growth[e]) for e, link, v in ports],
        },
    )


async def _operator_states(ctx: ActionContext) -> dict[str, str]:
    """GPU / Network Operator pod state per dcops node name ("" without Kubernetes; a Kubernetes
    API that does not answer leaves the column empty rather than failing the health check)."""
    if not ctx.backends.has(KubePort):
        return {}
    from ..errors import DcopsError
    from ..operators import node_operator_state

    try:
        knodes = await ctx.backends.get(KubePort).nodes()
    except DcopsError:
        return {}
    section = ctx.config.kube
    return {
        (section.dcops_name(k.name) if section is not None else k.name): node_operator_state(k.operator_pods)
        for k in knodes
    }

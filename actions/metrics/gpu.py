"""GPU health from DCGM exporter metrics: per GPU utilisation, temperature, power, memory, last XID,
ECC and NVLink errors, flagged against thresholds the config may override.

One instant query per field for all requested nodes (run concurrently) rather than one per node:
64 nodes cost the same handful of round trips as one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from ..backends.ports import PrometheusPort
from .promql import AnyOf, selector

FIELDS: dict[str, str] = {
    "util": "DCGM_FI_DEV_GPU_UTIL",
    "temp": "DCGM_FI_DEV_GPU_TEMP",
    "power": "DCGM_FI_DEV_POWER_USAGE",
    "fb_used": "DCGM_FI_DEV_FB_USED",
    "fb_free": "DCGM_FI_DEV_FB_FREE",
    "xid": "DCGM_FI_DEV_XID_ERRORS",
    "ecc_dbe": "DCGM_FI_DEV_ECC_DBE_VOL_TOTAL",
}
NVLINK_ERRORS = "DCGM_FI_DEV_NVLINK_CRC_FLIT_ERROR_COUNT_TOTAL"

DEFAULTS: dict[str, float] = {
    "gpu_temp_c": 85.0,  # H100 slows down near 87 C; flag before it does
    "gpu_power_w": 700.0,  # H100 SXM TDP
    "gpu_mem_used_pct": 98.0,
    "gpu_ecc_dbe": 1.0,  # any double-bit ECC error is a page retirement / RMA candidate
    "gpu_nvlink_errors_1h": 100.0,  # CRC flit errors in the last hour
}

# XIDs an on-call engineer acts on (NVIDIA's XID catalogue); others are shown by number
XID_MEANING: dict[int, str] = {
    13: "graphics engine exception",
    31: "GPU memory page fault",
    43: "GPU stopped processing",
    45: "preemptive cleanup",
    48: "double-bit ECC error",
    61: "internal micro-controller breakpoint",
    62: "internal micro-controller halt",
    63: "ECC page retirement / row remap",
    64: "row remap failure",
    74: "NVLink error",
    79: "GPU fell off the bus",
    92: "high single-bit ECC rate",
    94: "contained ECC error",
    95: "uncontained ECC error",
    119: "GSP RPC timeout",
    120: "GSP error",
}


@dataclass
class GpuHealth:
    node: str
    gpu: int
    values: dict[str, float] = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)

    @property
    def mem_total(self) -> float | None:
        used, free = self.values.get("fb_used"), self.values.get("fb_free")
        return None if used is None or free is None else used + free


def thresholds(overrides: Mapping[str, float] | None) -> dict[str, float]:
    return {**DEFAULTS, **{k: float(v) for k, v in (overrides or {}).items() if k in DEFAULTS}}


def gpu_queries(nodes: Iterable[str], node_label: str = "Hostname") -> dict[str, str]:
    """The PromQL gpu-health runs (one per field, all nodes at once)."""
    match = {node_label: AnyOf.of(nodes)}
    out = {key: selector(metric, match) for key, metric in FIELDS.items()}
    out["nvlink_1h"] = f"increase({selector(NVLINK_ERRORS, match)}[1h])"
    return out


def judge_gpu(g: GpuHealth, t: Mapping[str, float]) -> None:
    v = g.values
    if "temp" not in v and "util" not in v:
        g.flags.append("no telemetry (GPU lost or DCGM not reporting)")
    if v.get("temp", 0) >= t["gpu_temp_c"]:
        g.flags.append(f"temp {v['temp']:.0f} C >= {t['gpu_temp_c']:g}")
    if v.get("power", 0) >= t["gpu_power_w"]:
        g.flags.append(f"power {v['power']:.0f} W >= {t['gpu_power_w']:g}")
    total = g.mem_total
    if total and v["fb_used"] / total * 100 >= t["gpu_mem_used_pct"]:
        g.flags.append(f"memory {v['fb_used'] / total * 100:.0f}% used")
    xid = int(v.get("xid", 0) or 0)
    if xid:
        g.flags.append(f"XID {xid}: {XID_MEANING.get(xid, 'unlisted XID')}")
    if v.get("ecc_dbe", 0) >= t["gpu_ecc_dbe"]:
        g.flags.append(f"{v['ecc_dbe']:.0f} double-bit ECC errors")
    if v.get("nvlink_1h", 0) >= t["gpu_nvlink_errors_1h"]:
        g.flags.append(f"NVLink CRC errors +{v['nvlink_1h']:.0f} in 1 h")


async def gpu_health(
    prom: PrometheusPort,
    nodes: list[str],
    *,
    node_label: str = "Hostname",
    overrides: Mapping[str, float] | None = None,
) -> tuple[list[GpuHealth], list[str]]:
    """Per-GPU health for ``nodes``, and the nodes for which DCGM reported nothing at all."""
    queries = gpu_queries(nodes, node_label)
    results = await asyncio.gather(*(prom.query(q) for q in queries.values()))
    gpus: dict[tuple[str, int], GpuHealth] = {}
    for key, samples in zip(queries, results):
        for s in samples:
            node, gpu = s.labels.get(node_label), s.labels.get("gpu", "")
            if node is None or not gpu.isdigit() or s.value != s.value:
                continue
            gpus.setdefault((node, int(gpu)), GpuHealth(node, int(gpu))).values[key] = s.value
    # a GPU seen only through the 1 h NVLink increase (range data outlives a dead exporter's
    # staleness) is not reporting now: its node counts as silent rather than 8 "no telemetry" rows
    gpus = {k: g for k, g in gpus.items() if any(f in g.values for f in FIELDS)}
    limits = thresholds(overrides)
    for g in gpus.values():
        judge_gpu(g, limits)
    order = {n: i for i, n in enumerate(nodes)}
    rows = sorted(gpus.values(), key=lambda g: (order.get(g.node, len(order)), g.gpu))
    seen = {g.node for g in rows}
    silent = [n for n in nodes if n not in seen]
    return rows, silent

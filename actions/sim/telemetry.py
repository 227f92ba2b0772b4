"""GPU telemetry of simulated nodes as closed-form functions of (seed, node, GPU, time).

One source for DCGM metrics and ``nvidia-smi`` so they agree. Values change once per 15 s (a
scrape interval), busy GPUs run hot and near full utilisation, idle ones cool and empty; the
story's XID 79 GPU and the drained node's ECC-failed GPU show their last XID. A GPU that fell off
the bus, or a node whose OS is down, reports nothing (``None``), as a real exporter would.
"""

from __future__ import annotations

import hashlib
import math
import uuid

from .cluster import SimCluster
from .scenario import GPU_MEMORY_MIB, PCI_BUS_IDS, rand01
from .state import SimNode

SCRAPE_SECONDS = 15.0
XID_ONSET = 40 * 60.0  # the XID 79 happened this long before the simulation started
ECC_ONSET = 26 * 3600.0
EXPORTER_CLEARED = 30 * 86400.0  # counters count from here (before any simulated time)


def gpu_uuid(seed: int, node: str, gpu: int) -> str:
    digest = hashlib.blake2b(f"{seed}:{node}:{gpu}".encode(), digest_size=16).digest()
    return f"GPU-{uuid.UUID(bytes=digest)}"


def pci_bus_id(gpu: int) -> str:
    return f"00000000:{PCI_BUS_IDS[gpu % len(PCI_BUS_IDS)]}:00.0"


def reporting(node: SimNode, t: float) -> bool:
    """Whether the node's exporters answer at time t."""
    return node.os_up or t < node.os_down_at


def _noise(sim: SimCluster, node: SimNode, gpu: int, what: str, t: float) -> float:
    return rand01(sim.seed, node.name, gpu, what, int(t // SCRAPE_SECONDS))


def _busy(node: SimNode, gpu: int, t: float) -> bool:
    return gpu < node.gpus_used_at(t)


def _lost(sim: SimCluster, node: SimNode, gpu: int, t: float) -> bool:
    return gpu in node.lost_gpus and t >= sim.epoch - XID_ONSET


def gpu_value(sim: SimCluster, node: SimNode, gpu: int, metric: str, t: float) -> float | None:
    """A DCGM field (without the DCGM_FI_DEV_ prefix) for one GPU at time t, None when unreadable."""
    if not reporting(node, t):
        return None
    if metric == "XID_ERRORS":
        if gpu in node.lost_gpus and t >= sim.epoch - XID_ONSET:
            return 79.0
        if node.index == sim.story.drained and gpu == sim.story.drained_gpu and t >= sim.epoch - ECC_ONSET:
            return 48.0
        return 0.0
    if _lost(sim, node, gpu, t):
        return None
    busy = _busy(node, gpu, t)
    n = _noise(sim, node, gpu, metric, t)
    if metric == "GPU_UTIL":
        return float(round(82 + 17 * n)) if busy else 0.0
    if metric == "GPU_TEMP":
        return float(round((56 + 16 * n) if busy else (30 + 5 * n)))
    if metric == "POWER_USAGE":
        return round((480 + 210 * n) if busy else (68 + 12 * n), 3)
    if metric == "FB_USED":
        return float(round(58000 + 20000 * rand01(sim.seed, node.name, gpu, "fb", int(t // 600)))) if busy else 0.0
    if metric == "FB_FREE":
        used = gpu_value(sim, node, gpu, "FB_USED", t)
        return None if used is None else GPU_MEMORY_MIB - used
    if metric == "ECC_DBE_VOL_TOTAL":
        ecc = node.index == sim.story.drained and gpu == sim.story.drained_gpu and t >= sim.epoch - ECC_ONSET
        return 2.0 if ecc else 0.0
    if metric == "ECC_SBE_VOL_TOTAL":
        return float(math.floor(3 * rand01(sim.seed, node.name, gpu, "sbe")))
    if metric == "NVLINK_CRC_FLIT_ERROR_COUNT_TOTAL":
        rate = 2e-4 * rand01(sim.seed, node.name, gpu, "crc")
        return float(math.floor(rate * (t - (sim.epoch - EXPORTER_CLEARED))))
    if metric == "NVLINK_BANDWIDTH_TOTAL":
        return float(
            math.floor(
                (4e11 if busy else 1e7)
                * rand01(sim.seed, node.name, gpu, "nvl")
                * (t - (sim.epoch - EXPORTER_CLEARED))
                / 1e3
            )
        )
    if metric == "SM_CLOCK":
        return float(1980 if busy else 345)
    raise KeyError(metric)


GPU_FIELDS = (
    "GPU_UTIL",
    "GPU_TEMP",
    "POWER_USAGE",
    "FB_USED",
    "FB_FREE",
    "XID_ERRORS",
    "ECC_DBE_VOL_TOTAL",
    "ECC_SBE_VOL_TOTAL",
    "NVLINK_CRC_FLIT_ERROR_COUNT_TOTAL",
    "NVLINK_BANDWIDTH_TOTAL",
    "SM_CLOCK",
)
COUNTER_FIELDS = ("NVLINK_CRC_FLIT_ERROR_COUNT_TOTAL", "NVLINK_BANDWIDTH_TOTAL")

"""The metrics lab's simulated nodes: names, HCAs, GPUs, cabling, and their healthy baseline values.

Everything is a pure function of the node count and time, so the promtool history, the fake sysfs
the live node_exporters read and the DCGM-format exporter agree with each other: a counter's
backfilled history ends exactly where its live sysfs file starts, and Prometheus sees one series
with no reset at the seam.

Cabling (written as a dcops topology file by :func:`topology_text`):
- ``mlx5_0`` of node pairs (gpu001<->gpu002, gpu003<->gpu004, ...) is wired back to back, so both
  ends of the link are hosts whose counters Prometheus has (what a flapping test needs);
- ``mlx5_1`` of every node goes to a leaf switch port (leaf01 port 1.. for gpu001-032, leaf02 ...):
  dcops has no counters for a switch end and must say so.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass

GPUS = 8
HCAS = ("mlx5_0", "mlx5_1")
NODES_PER_LEAF = 32
GPU_MODEL = "NVIDIA H100 80GB HBM3"
PCI_BUS_IDS = ("18", "2A", "3A", "5D", "9A", "AB", "BA", "DB")
LINK_RATE = "400 Gb/sec (4X NDR)"
DRIVER = "535.104.05"

# sysfs counter file -> (healthy growth per second, base value). Error counters do not grow on a
# healthy fabric; the data counters (in 4-byte words, as the kernel reports them) and xmit wait do.
COUNTERS: dict[str, tuple[float, int]] = {
    "symbol_error": (0.0, 0),
    "link_downed": (0.0, 1),
    "link_error_recovery": (0.0, 0),
    "local_link_integrity_errors": (0.0, 0),
    "port_rcv_remote_physical_errors": (0.0, 0),
    "port_rcv_errors": (0.0, 0),
    "excessive_buffer_overrun_errors": (0.0, 0),
    "port_xmit_wait": (50.0, 1_000_000),
    "port_rcv_data": (2.5e8, 10**12),
    "port_xmit_data": (2.5e8, 10**12),
    "port_rcv_packets": (1e6, 10**10),
    "port_xmit_packets": (1e6, 10**10),
    "port_xmit_discards": (0.0, 0),
    "port_rcv_constraint_errors": (0.0, 0),
    "port_xmit_constraint_errors": (0.0, 0),
    "VL15_dropped": (0.0, 0),
    "port_rcv_switch_relay_errors": (0.0, 0),
}

# node_exporter's name for each sysfs counter (and its multiplier), so history matches live scrapes.
EXPORTED: dict[str, tuple[str, int]] = {
    "symbol_error": ("node_infiniband_symbol_error_total", 1),
    "link_downed": ("node_infiniband_link_downed_total", 1),
    "link_error_recovery": ("node_infiniband_link_error_recovery_total", 1),
    "local_link_integrity_errors": ("node_infiniband_local_link_integrity_errors_total", 1),
    "port_rcv_remote_physical_errors": ("node_infiniband_port_receive_remote_physical_errors_total", 1),
    "port_rcv_errors": ("node_infiniband_port_errors_received_total", 1),
    "excessive_buffer_overrun_errors": ("node_infiniband_excessive_buffer_overrun_errors_total", 1),
    "port_xmit_wait": ("node_infiniband_port_transmit_wait_total", 1),
    "port_rcv_data": ("node_infiniband_port_data_received_bytes_total", 4),
    "port_xmit_data": ("node_infiniband_port_data_transmitted_bytes_total", 4),
}


def rand01(*key: object) -> float:
    """A stable uniform float in [0, 1) for ``key`` (same in every process, unlike ``hash()``)."""
    digest = hashlib.blake2b(repr(key).encode(), digest_size=8).digest()
    return (struct.unpack("<Q", digest)[0] >> 11) / float(1 << 53)


@dataclass(frozen=True)
class World:
    nodes: tuple[str, ...]

    @classmethod
    def build(cls, count: int) -> World:
        if count < 2 or count % 2:
            raise ValueError("the metrics lab needs an even number of nodes (mlx5_0 is wired in pairs)")
        return cls(tuple(f"gpu{i:03d}" for i in range(1, count + 1)))

    # ------------------------------------------------------------ InfiniBand

    def counter(self, name: str, counter: str, t: float, t0: float) -> int:
        """A healthy counter's value at time ``t`` (``t0``: the lab's start, the history's seam)."""
        rate, base = COUNTERS[counter]
        jitter = 0.5 + rand01(name, counter)
        return int(base * jitter + rate * jitter * max(0.0, t - (t0 - 6 * 3600)))

    def peer(self, node: str) -> str:
        i = self.nodes.index(node)
        return self.nodes[i + 1] if i % 2 == 0 else self.nodes[i - 1]

    def leaf(self, node: str) -> tuple[str, int]:
        i = self.nodes.index(node)
        return f"leaf{i // NODES_PER_LEAF + 1:02d}", i % NODES_PER_LEAF + 1

    def topology_text(self) -> str:
        lines = [
            "# dcops fabric topology (metrics lab): one cable per line, see actions/fabric/topology.py",
            "# mlx5_0: node pairs back to back; mlx5_1: leaf switches",
        ]
        for i in range(0, len(self.nodes), 2):
            a, b = self.nodes[i], self.nodes[i + 1]
            lines.append(f"{a}:mlx5_0:1  <->  {b}:mlx5_0:1  speed=NDR width=4x media=DAC")
        for node in self.nodes:
            leaf, port = self.leaf(node)
            lines.append(f"{node}:mlx5_1:1  <->  {leaf}:{port}  speed=NDR width=4x media=optical")
        return "\n".join(lines) + "\n"

    # ------------------------------------------------------------ GPUs

    def gpu_labels(self, node: str, gpu: int) -> dict[str, str]:
        uuid_hex = hashlib.blake2b(f"{node}:{gpu}".encode(), digest_size=16).hexdigest()
        uuid = f"GPU-{uuid_hex[:8]}-{uuid_hex[8:12]}-{uuid_hex[12:16]}-{uuid_hex[16:20]}-{uuid_hex[20:32]}"
        return {
            "gpu": str(gpu),
            "UUID": uuid,
            "device": f"nvidia{gpu}",
            "modelName": GPU_MODEL,
            "pci_bus_id": f"00000000:{PCI_BUS_IDS[gpu]}:00.0",
            "Hostname": node,
            "DCGM_FI_DRIVER_VERSION": DRIVER,
        }

    def gpu_values(self, node: str, gpu: int, t: float) -> dict[str, float]:
        """A busy, healthy H100: the baseline the scenario file overrides field by field."""
        wave = rand01(node, gpu, int(t // 120))
        util = 85 + 14 * wave
        return {
            "util": round(util),
            "temp": round(52 + 14 * rand01(node, gpu, "t") + 4 * wave),
            "power": round(480 + 180 * wave, 1),
            "fb_used": 61000 + int(15000 * rand01(node, gpu, "fb")),
            "fb_free": 0,  # filled in from fb_used
            "xid": 0,
            "ecc_dbe": 0,
            "ecc_sbe": int(3 * rand01(node, gpu, "sbe")),
            "nvlink_crc": 0,
            "nvlink_replay": 0,
        }


# DCGM exporter field for each scenario key, with its Prometheus type.
DCGM_FIELDS: dict[str, tuple[str, str]] = {
    "util": ("DCGM_FI_DEV_GPU_UTIL", "gauge"),
    "temp": ("DCGM_FI_DEV_GPU_TEMP", "gauge"),
    "power": ("DCGM_FI_DEV_POWER_USAGE", "gauge"),
    "fb_used": ("DCGM_FI_DEV_FB_USED", "gauge"),
    "fb_free": ("DCGM_FI_DEV_FB_FREE", "gauge"),
    "xid": ("DCGM_FI_DEV_XID_ERRORS", "gauge"),
    "ecc_dbe": ("DCGM_FI_DEV_ECC_DBE_VOL_TOTAL", "counter"),
    "ecc_sbe": ("DCGM_FI_DEV_ECC_SBE_VOL_TOTAL", "counter"),
    "nvlink_crc": ("DCGM_FI_DEV_NVLINK_CRC_FLIT_ERROR_COUNT_TOTAL", "counter"),
    "nvlink_replay": ("DCGM_FI_DEV_NVLINK_REPLAY_ERROR_COUNT_TOTAL", "counter"),
}
FB_TOTAL_MIB = 81559


def gpu_sample(world: World, node: str, gpu: int, t: float, override: dict[str, float] | None) -> dict[str, float]:
    values = world.gpu_values(node, gpu, t)
    if override:
        values.update({k: v for k, v in override.items() if k in values})
    values["fb_free"] = max(0, FB_TOTAL_MIB - values["fb_used"])
    return values

"""What ``dmesg`` shows on a simulated node: a quiet boot, plus the story's kernel messages.

The XID node logs NVRM's "GPU has fallen off the bus" (Xid 79), the drained node its double-bit
ECC error (Xid 48), the flapping link's HCA its link down/up messages. Timestamps are seconds
since boot, as plain ``dmesg`` prints them.
"""

from __future__ import annotations

from .cluster import SimCluster
from .fabric import FLAP_DOWN_SECONDS, FLAP_ONSET, FLAP_PERIOD
from .state import SimNode
from .telemetry import ECC_ONSET, XID_ONSET, pci_bus_id

_BOOT = (
    (0.0, "Linux version 5.15.0-122-generic (buildd@lcy02-amd64-034) (gcc (Ubuntu 11.4.0-1ubuntu1~22.04) 11.4.0)"),
    (2.41, "mlx5_core 0000:0c:00.0: firmware version: 28.39.1002"),
    (2.97, "mlx5_core 0000:0c:00.0: Rate limit: 127 rates are supported, range: 0Mbps to 97656Mbps"),
    (3.02, "mlx5_core 0000:8c:00.0: firmware version: 28.39.1002"),
    (9.88, "nvidia: module license 'NVIDIA' taints kernel."),
    (10.43, "nvidia-nvlink: Nvlink Core is being initialized, major device number 508"),
    (10.91, "NVRM: loading NVIDIA UNIX x86_64 Kernel Module  550.90.07  Fri May 31 09:35:42 UTC 2024"),
    (14.20, "nvidia-fabricmanager: Fabric Manager started"),
)


def _pci(gpu: int) -> str:
    return pci_bus_id(gpu)[4:14].lower()  # "0000:5d:00" as NVRM writes it


def dmesg(sim: SimCluster, node: SimNode, t: float) -> str:
    events: list[tuple[float, str]] = list(_BOOT)
    story, boot = sim.story, node.booted_at
    if node.lost_gpus:
        at = sim.epoch - XID_ONSET - boot
        for gpu in node.lost_gpus:
            events.append(
                (at, f"NVRM: Xid (PCI:{_pci(gpu)}): 79, pid='<unknown>', name=<unknown>, GPU has fallen off the bus.")
            )
            events.append((at + 0.002, f"NVRM: GPU {pci_bus_id(gpu)[4:].lower()}: GPU has fallen off the bus."))
    if node.index == story.drained:
        events.append(
            (
                sim.epoch - ECC_ONSET - boot,
                f"NVRM: Xid (PCI:{_pci(story.drained_gpu)}): 48, pid=21874, name=python, An uncorrectable "
                "double bit error (DBE) has been detected on GPU in the framebuffer at partition 6, subpartition 0.",
            )
        )
    if node.index == story.flapping:
        onset = sim.epoch - FLAP_ONSET
        first = max(0, int((t - onset) // FLAP_PERIOD) - 4)
        for k in range(first, int((t - onset) // FLAP_PERIOD) + 1):
            down = onset + k * FLAP_PERIOD
            if boot <= down <= t:
                events.append((down - boot, "mlx5_core 0000:0c:00.0 ibp12s0: Link down"))
                if down + FLAP_DOWN_SECONDS <= t:
                    events.append((down + FLAP_DOWN_SECONDS - boot, "mlx5_core 0000:0c:00.0 ibp12s0: Link up"))
    lines = sorted((at, text) for at, text in events if 0 <= at <= t - boot)
    return "".join(f"[{at:12.6f}] {text}\n" for at, text in lines)

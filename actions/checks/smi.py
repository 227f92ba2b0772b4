"""``nvidia-smi`` outputs validation reads: the GPU list with driver version, NVLink status
(``nvidia-smi nvlink -s``) and the compute processes on each GPU (before a reset)."""

from __future__ import annotations

import re
from dataclasses import dataclass

GPU_QUERY = "index,pci.bus_id,name,driver_version"
APPS_QUERY = "gpu_bus_id,pid,process_name"


@dataclass(frozen=True)
class SmiGpu:
    index: int
    bus_id: str
    name: str
    driver: str
    lost: bool = False


def parse_gpus(text: str) -> list[SmiGpu]:
    """``--query-gpu=index,pci.bus_id,name,driver_version --format=csv,noheader``; a lost GPU prints ERR!."""
    out = []
    for line in text.splitlines():
        cells = [c.strip() for c in line.split(",")]
        if len(cells) != 4 or not cells[0].isdigit():
            continue
        lost = any(c.startswith("ERR!") or c == "[GPU requires reset]" for c in cells[1:])
        out.append(SmiGpu(index=int(cells[0]), bus_id=cells[1], name=cells[2], driver=cells[3], lost=lost))
    return out


def parse_nvlink_status(text: str) -> dict[int, list[int]]:
    """GPU index -> its inactive NVLinks, from ``nvidia-smi nvlink -s`` (``Link 3: <inactive>``)."""
    inactive: dict[int, list[int]] = {}
    gpu: int | None = None
    for line in text.splitlines():
        if m := re.match(r"^GPU (\d+):", line.strip()):
            gpu = int(m.group(1))
            inactive.setdefault(gpu, [])
        elif (
            gpu is not None
            and (m := re.match(r"^Link (\d+):\s*(.*)$", line.strip()))
            and "inactive" in m.group(2).lower()
        ):
            inactive[gpu].append(int(m.group(1)))
    return inactive


def parse_apps(text: str) -> list[tuple[str, int, str]]:
    """(bus id, pid, process name) per compute process."""
    out = []
    for line in text.splitlines():
        cells = [c.strip() for c in line.split(",")]
        if len(cells) == 3 and cells[1].isdigit():
            out.append((cells[0], int(cells[1]), cells[2]))
    return out

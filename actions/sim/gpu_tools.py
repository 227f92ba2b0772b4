"""The validation tools on simulated nodes: ``dcgmi diag -r L -j`` (DCGM 3.x JSON), ``nvidia-smi
nvlink -s``, ``nvidia-smi --query-compute-apps=...`` and ``nvidia-smi -r -i N`` (refused while a
process uses the GPU). Faults come from the node: GPUs that fell off the bus, ``gpu_faults``
(GPU -> the DCGM test that fails on it) and ``nvlink_down`` (GPU -> inactive links)."""

from __future__ import annotations

import json
import zlib
from collections.abc import Sequence
from typing import Any

from .state import SimNode
from .telemetry import pci_bus_id

DRIVER = "535.104.05"
DCGM_VERSION = "3.3.5"
GPUS = 8
NVLINKS = 18
# the tests each level runs, by category (DCGM 3.x names)
LEVEL_TESTS: dict[int, list[tuple[str, list[str]]]] = {
    1: [
        (
            "Deployment",
            [
                "Denylist",
                "NVML Library",
                "CUDA Main Library",
                "Permissions and OS Blocks",
                "Persistence Mode",
                "Environment Variables",
                "Page Retirement/Row Remap",
                "Graphics Processes",
                "Inforom",
            ],
        )
    ],
    2: [("Integration", ["PCIe"]), ("Hardware", ["GPU Memory"])],
    3: [("Stress", ["SM Stress", "Targeted Stress", "Targeted Power", "Memory Bandwidth"])],
}
Output = tuple[int, str, str]


def busy_gpus(node: SimNode) -> list[int]:
    used = sum(node.alloc.values())
    return list(range(min(GPUS, used)))


def diag_document(level: int, faults: dict[int, str], lost: Sequence[int]) -> dict:
    """The dcgmi JSON for ``level`` with ``faults`` (GPU -> failing test name) and lost GPUs."""
    cats = []
    for lvl in range(1, min(level, 3) + 1):
        for category, tests in LEVEL_TESTS[lvl]:
            entries = []
            for name in tests:
                if category == "Deployment":
                    bad = [g for g in range(GPUS) if g in lost]
                    res: list[dict[str, Any]] = [
                        {
                            "gpu_ids": ",".join(str(g) for g in range(GPUS)),
                            "status": "Fail" if bad and name == "NVML Library" else "Pass",
                        }
                    ]
                    if bad and name == "NVML Library":
                        res[0]["warnings"] = [
                            {
                                "warning": f"Unable to get the device handle for GPU {bad[0]}: GPU is lost",
                                "error_id": 1,
                                "error_category": 1,
                                "error_severity": 2,
                            }
                        ]
                    entries.append({"name": name, "results": res})
                    continue
                res = []
                for g in range(GPUS):
                    if faults.get(g) == name:
                        res.append(
                            {
                                "gpu_ids": str(g),
                                "status": "Fail",
                                "warnings": [
                                    {
                                        "warning": f"Error using CUDA API cudaMalloc / memory mismatch detected on GPU {g}: "
                                        "DBE detected"
                                        if "Memory" in name
                                        else f"{name} failed on GPU {g}",
                                        "error_id": 28 if "Memory" in name else 95,
                                        "error_category": 4,
                                        "error_severity": 2,
                                    }
                                ],
                            }
                        )
                    elif g in lost:
                        res.append({"gpu_ids": str(g), "status": "Skip", "info": ["GPU is lost"]})
                    else:
                        res.append({"gpu_ids": str(g), "status": "Pass"})
                entries.append({"name": name, "results": res})
            cats.append({"category": category, "tests": entries})
    return {
        "DCGM GPU Diagnostic": {"test_categories": cats, "version": DCGM_VERSION, "Driver Version Detected": DRIVER}
    }


def dcgmi(node: SimNode, args: Sequence[str]) -> Output:
    args = list(args)
    if args[:1] != ["diag"] or not any(a in args for a in ("-r", "--run")):
        return 255, "", "Usage: dcgmi diag -r <level> [-j] (the simulator supports diag only)\n"
    flag = "-r" if "-r" in args else "--run"
    try:
        level = int(args[args.index(flag) + 1])
    except (IndexError, ValueError):
        return 255, "", "Error: invalid diag level; use 1, 2, 3 or 4\n"
    if level not in (1, 2, 3, 4):
        return 255, "", f"Error: invalid diag level {level}; use 1, 2, 3 or 4\n"
    doc = diag_document(level, dict(node.gpu_faults), node.lost_gpus)
    failed = any(
        r["status"] == "Fail"
        for c in doc["DCGM GPU Diagnostic"]["test_categories"]
        for t in c["tests"]
        for r in t["results"]
    )
    if "-j" not in args:
        return (226 if failed else 0), ("FAIL\n" if failed else "PASS\n"), ""
    return (226 if failed else 0), json.dumps(doc, indent=1) + "\n", ""


def smi_extra(node: SimNode, args: Sequence[str]) -> Output | None:
    """The nvidia-smi forms validation and gpu-reset use; None for the rest."""
    args = list(args)
    if args[:2] == ["nvlink", "-s"]:
        out = []
        for g in range(GPUS):
            if g in node.lost_gpus:
                continue
            uuid = f"GPU-{zlib.crc32(f'{node.name}:{g}'.encode()):08x}"
            out.append(f"GPU {g}: NVIDIA H100 80GB HBM3 (UUID: {uuid})\n")
            down = node.nvlink_down.get(g, ())
            out += [
                f"\t Link {i}: <inactive>\n" if i in down else f"\t Link {i}: 26.562 GB/s\n" for i in range(NVLINKS)
            ]
        return 0, "".join(out), ""
    if any(a.startswith("--query-compute-apps=") for a in args):
        rows = [f"{pci_bus_id(g)}, {40000 + g + 100 * node.index}, python\n" for g in busy_gpus(node)]
        return 0, "".join(rows), ""
    if "-r" in args or "--gpu-reset" in args:
        if "-i" not in args:
            return 2, "", "-r/--gpu-reset needs -i <GPU index> on this system\n"
        try:
            g = int(args[args.index("-i") + 1])
        except (IndexError, ValueError):
            return 2, "", "Invalid GPU index\n"
        if not 0 <= g < GPUS:
            return 6, "", f"No devices were found with index {g}\n"
        if g in busy_gpus(node):
            return (
                255,
                "",
                (
                    f"GPU {pci_bus_id(g)} is currently in use by another process.\n\n1 device is currently "
                    "being used by one or more other processes (e.g., Fabric Manager, CUDA application, "
                    "graphics application such as an X server, or a monitoring application such as another "
                    "instance of nvidia-smi). Please first kill all processes using this device and all "
                    "compute applications running in the system.\n"
                ),
            )
        node.gpu_faults.pop(g, None)
        return 0, f"GPU {pci_bus_id(g)} was successfully reset.\nAll done.\n", ""
    return None

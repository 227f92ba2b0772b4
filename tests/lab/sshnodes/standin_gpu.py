"""Stand-in GPU validation tools for lab nodes (run by ``standin.py``; system Python, no dcops
imports): ``dcgmi diag -r L [-j]`` printing DCGM 3.x's JSON document, and the ``nvidia-smi`` forms
``nvlink -s``, ``--query-compute-apps=...`` and ``-r -i N`` (refused while a process uses the GPU).

State files in the node's state directory (see ``state.py``):
``dcgmi.json``       ``{"fail": {"3": "GPU Memory"}}`` — GPU -> the diag test that fails on it
``nvidia-smi.json``  adds ``"processes": {"3": [[4242, "python"]]}``, ``"nvlink_inactive": {"5": [2]}``,
                     ``"driver": "535.104.05"``, ``"reset_log": [...]`` (written by ``-r``)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import state as st  # the module beside it (this stand-alone script's directory is on sys.path)

DCGM_VERSION = "3.3.5"
DRIVER = "535.104.05"
LEVEL_TESTS = {
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
MESSAGES = {
    "GPU Memory": ("Error using CUDA API cuMemAlloc; GPU {g} memory test found {n} errors: DBE detected", 28),
    "PCIe": ("GPU {g} PCIe link width 8x is below the expected 16x; replay rate exceeds the limit", 68),
}


def bus_id(gpu: int) -> str:
    return f"00000000:{0x18 + gpu * 0x10:02X}:00.0"


def dcgmi(state_dir: Path, args: list[str]) -> int:
    if args[:1] != ["diag"] or not ({"-r", "--run"} & set(args)):
        sys.stderr.write("Usage: dcgmi diag -r <level> [-j]  (the lab stand-in supports diag only)\n")
        return 255
    flag = "-r" if "-r" in args else "--run"
    try:
        level = int(args[args.index(flag) + 1])
    except (IndexError, ValueError):
        level = 0
    if level not in (1, 2, 3, 4):
        sys.stderr.write("Error: Invalid level. Valid levels are 1, 2, 3, 4\n")
        return 255
    fails = {int(k): v for k, v in st.load(state_dir, "dcgmi.json").get("fail", {}).items()}
    smi = st.load(state_dir, "nvidia-smi.json")
    lost = set(smi.get("lost", []))
    cats, failed = [], False
    for lvl in range(1, min(level, 3) + 1):
        for category, tests in LEVEL_TESTS[lvl]:
            entries = []
            for name in tests:
                if category == "Deployment":
                    res = {"gpu_ids": ",".join(str(g) for g in range(st.GPU_COUNT)), "status": "Pass"}
                    if lost and name == "NVML Library":
                        g = sorted(lost)[0]
                        res.update(
                            status="Fail",
                            warnings=[
                                {
                                    "warning": f"Unable to get the device handle for GPU {g}: GPU is lost",
                                    "error_id": 1,
                                    "error_category": 1,
                                    "error_severity": 2,
                                }
                            ],
                        )
                        failed = True
                    entries.append({"name": name, "results": [res]})
                    continue
                results = []
                for g in range(st.GPU_COUNT):
                    if fails.get(g) == name:
                        text, eid = MESSAGES.get(name, ("{t} failed on GPU {g}", 95))
                        results.append(
                            {
                                "gpu_ids": str(g),
                                "status": "Fail",
                                "warnings": [
                                    {
                                        "warning": text.format(g=g, n=3, t=name),
                                        "error_id": eid,
                                        "error_category": 4,
                                        "error_severity": 2,
                                    }
                                ],
                                "info": [f"GPU {g} test ran 30 s"],
                            }
                        )
                        failed = True
                    elif g in lost:
                        results.append({"gpu_ids": str(g), "status": "Skip", "info": ["GPU is lost"]})
                    else:
                        results.append({"gpu_ids": str(g), "status": "Pass"})
                entries.append({"name": name, "results": results})
            cats.append({"category": category, "tests": entries})
    doc = {
        "DCGM GPU Diagnostic": {
            "test_categories": cats,
            "version": DCGM_VERSION,
            "Driver Version Detected": smi.get("driver", DRIVER),
        }
    }
    if "-j" in args or "--json" in args:
        sys.stdout.write(json.dumps(doc, indent=4) + "\n")
    else:
        sys.stdout.write("Successfully ran diagnostic for group.\n" + ("Fail\n" if failed else "Pass\n"))
    return 226 if failed else 0


def nvidia_smi_extra(state_dir: Path, args: list[str]) -> int | None:
    data = st.load(state_dir, "nvidia-smi.json")
    lost = set(data.get("lost", []))
    if args[:2] == ["nvlink", "-s"]:
        inactive = {int(k): v for k, v in data.get("nvlink_inactive", {}).items()}
        out = []
        for g in range(st.GPU_COUNT):
            if g in lost:
                continue
            out.append(f"GPU {g}: {st.GPU_MODEL} (UUID: GPU-lab-{g})\n")
            out += [
                f"\t Link {i}: <inactive>\n" if i in inactive.get(g, []) else f"\t Link {i}: 26.562 GB/s\n"
                for i in range(18)
            ]
        sys.stdout.write("".join(out))
        return 0
    if any(a.startswith("--query-compute-apps=") for a in args):
        for g, procs in sorted(data.get("processes", {}).items()):
            for pid, name in procs:
                sys.stdout.write(f"{bus_id(int(g))}, {pid}, {name}\n")
        return 0
    if "-r" in args or "--gpu-reset" in args:
        try:
            g = int(args[args.index("-i") + 1])
        except (ValueError, IndexError):
            sys.stderr.write("-r/--gpu-reset requires -i <index> on a multi-GPU system\n")
            return 2
        if not 0 <= g < st.GPU_COUNT:
            sys.stderr.write(f"No devices were found with index {g}\n")
            return 6
        if data.get("processes", {}).get(str(g)):
            sys.stderr.write(
                f"GPU {bus_id(g)} is currently in use by another process.\n\n1 device is currently being "
                "used by one or more other processes (e.g., Fabric Manager, CUDA application, graphics "
                "application such as an X server, or a monitoring application such as another instance of "
                "nvidia-smi). Please first kill all processes using this device and all compute "
                "applications running in the system.\n"
            )
            return 255
        dcgm = st.load(state_dir, "dcgmi.json")
        dcgm.get("fail", {}).pop(str(g), None)
        (state_dir / "dcgmi.json").write_text(json.dumps(dcgm))
        log = data.get("reset_log", []) + [g]
        st._merge(state_dir / "nvidia-smi.json", {"reset_log": log, "lost": sorted(lost - {g})})
        sys.stdout.write(f"GPU {bus_id(g)} was successfully reset.\nAll done.\n")
        return 0
    return None

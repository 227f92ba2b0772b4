"""What the stand-in diagnostic tools print on a lab node: per-node JSON files a test writes.

Each node has a state directory ``<lab>/nodes/<node>/state/`` (see :meth:`SshNodesLab.state_dir`):

``ibstat.json``        ``{"mlx5_0": {"state": "Down", "physical_state": "Polling", "rate": 10}, ...}``
``mlxlink/<dev>.json`` counters for ``mlxlink -d <dev> --show_ber``: ``symbol_errors``,
                       ``effective_errors``, ``raw_errors_per_lane`` (4 ints), ``link_down``,
                       ``link_error_recovery``, ``minutes_since_clear``, ``state``, ``physical_state``;
                       BERs are derived from the counters and the time since clear at 400 Gb/s
                       unless given (``symbol_ber``, ``effective_ber``, ``raw_ber`` as floats)
``nvidia-smi.json``    ``{"lost": [3], "gpus": {"0": {"temperature.gpu": 91, "utilization.gpu": 100}}}``

A missing file or key means a healthy default. Write them with the helpers below (or by hand, from
another language): ``set_mlxlink(state_dir, "mlx5_0", symbol_errors=1200, link_down=3)``. The
stand-ins read the files on every call, so a test changes a node's story between two SSH commands.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

DEVICES = ("mlx5_0", "mlx5_1")
LINK_BITS_PER_SECOND = 400e9
GPU_COUNT = 8
GPU_MODEL = "NVIDIA H100 80GB HBM3"
GPU_MEMORY_MIB = 81559


def _merge(path: Path, values: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        old = json.loads(path.read_text())
    except (OSError, ValueError):
        old = {}
    old.update(values)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(old))
    tmp.replace(path)  # a stand-in never reads a half-written file


def set_mlxlink(state_dir: Path, device: str, **values: Any) -> None:
    _merge(state_dir / "mlxlink" / f"{device}.json", values)


def set_ibstat(state_dir: Path, device: str, **values: Any) -> None:
    path = state_dir / "ibstat.json"
    try:
        old = json.loads(path.read_text())
    except (OSError, ValueError):
        old = {}
    _merge(path, {device: {**old.get(device, {}), **values}})


def set_gpus(state_dir: Path, *, lost: list[int] | None = None, **per_gpu: dict[str, Any]) -> None:
    """``set_gpus(d, lost=[3], gpu0={"temperature.gpu": 91})``."""
    values: dict[str, Any] = {}
    if lost is not None:
        values["lost"] = lost
    if per_gpu:
        values["gpus"] = {k.removeprefix("gpu"): v for k, v in per_gpu.items()}
    _merge(state_dir / "nvidia-smi.json", values)


def load(state_dir: Path, name: str) -> dict[str, Any]:
    try:
        return json.loads((state_dir / name).read_text())
    except (OSError, ValueError):
        return {}

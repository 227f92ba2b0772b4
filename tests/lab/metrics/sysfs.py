"""A fake ``/sys`` per lab node, in the layout node_exporter's infiniband collector reads:

    DIR/class/infiniband/mlx5_N/{fw_ver,board_id,hca_type}
    DIR/class/infiniband/mlx5_N/ports/1/{state,phys_state,rate,counters/<name>}

Files are replaced atomically (write + rename) so a scrape never reads half a number.
"""

from __future__ import annotations

import os
from pathlib import Path

from .world import COUNTERS, HCAS, LINK_RATE, World

STATES = {
    "active": ("4: ACTIVE", "5: LinkUp"),
    "down": ("1: DOWN", "3: Disabled"),
    "init": ("2: INIT", "5: LinkUp"),
    "polling": ("1: DOWN", "2: Polling"),
}


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text + "\n")
    os.replace(tmp, path)


def port_dir(root: Path, device: str, port: int = 1) -> Path:
    return root / "class" / "infiniband" / device / "ports" / str(port)


def create(root: Path, world: World, node: str, t0: float) -> None:
    for dev in HCAS:
        base = root / "class" / "infiniband" / dev
        counters = port_dir(root, dev) / "counters"
        counters.mkdir(parents=True, exist_ok=True)
        _write(base / "fw_ver", "28.39.1002")
        _write(base / "board_id", "MT_0000000838")
        _write(base / "hca_type", "MT4129")
        set_state(root, dev, "active")
        _write(port_dir(root, dev) / "rate", LINK_RATE)
        for name in COUNTERS:
            _write(counters / name, str(world.counter(node + dev, name, t0, t0)))


def set_state(root: Path, device: str, state: str) -> None:
    logical, physical = STATES[state]
    _write(port_dir(root, device) / "state", logical)
    _write(port_dir(root, device) / "phys_state", physical)


def read_counter(root: Path, device: str, name: str) -> int:
    return int((port_dir(root, device) / "counters" / name).read_text())


def add_counter(root: Path, device: str, name: str, delta: int) -> int:
    if name not in COUNTERS:
        raise KeyError(f"unknown counter {name!r}; known: {', '.join(COUNTERS)}")
    value = read_counter(root, device, name) + delta
    _write(port_dir(root, device) / "counters" / name, str(value))
    return value

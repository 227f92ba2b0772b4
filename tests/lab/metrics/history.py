"""Hours of metric history for the lab, written as OpenMetrics and backfilled with ``promtool``.

Range queries (``query --range 3h``) and the UFM-style 125-minute windows need data from before the
lab started. ``promtool tsdb create-blocks-from openmetrics`` turns a text file into TSDB blocks
in the data directory before Prometheus starts. Every backfilled series carries exactly the label
set the live scrape will produce (``instance`` and ``job`` included), and counters end at the value
the live sysfs file starts with, so history and live data join into one series.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from .world import DCGM_FIELDS, EXPORTED, GPUS, HCAS, World, gpu_sample

NODE_JOB = "node"
DCGM_JOB = "dcgm"
_STATE = {
    "node_infiniband_state_id": 4,
    "node_infiniband_physical_state_id": 5,
    "node_infiniband_rate_bytes_per_second": 5e10,
}


def _fmt(labels: dict[str, str]) -> str:
    return ",".join(f'{k}="{v}"' for k, v in labels.items())


def _times(t0: float, hours: float, step: float) -> list[float]:
    n = int(hours * 3600 // step)
    return [t0 - (n - i) * step for i in range(n)]


def _ib_lines(world: World, t0: float, times: list[float]) -> Iterator[str]:
    families: list[tuple[str, str, Callable[..., Any]]] = [
        (metric, "counter", lambda port, t, c=counter, m=mult: world.counter(port, c, t, t0) * m)
        for counter, (metric, mult) in EXPORTED.items()
    ]
    families += [(metric, "gauge", lambda port, t, v=value: v) for metric, value in _STATE.items()]
    for metric, kind, value in families:
        yield f"# TYPE {metric.removesuffix('_total') if kind == 'counter' else metric} {kind}"
        for node in world.nodes:
            for dev in HCAS:
                lbl = _fmt({"device": dev, "port": "1", "instance": node, "job": NODE_JOB})
                for t in times:
                    yield f"{metric}{{{lbl}}} {value(node + dev, t)} {t:.3f}"


def _dcgm_lines(world: World, times: list[float]) -> Iterator[str]:
    labels = {
        (n, g): _fmt({**world.gpu_labels(n, g), "instance": n, "job": DCGM_JOB})
        for n in world.nodes
        for g in range(GPUS)
    }
    values = {(n, g, t): gpu_sample(world, n, g, t, None) for n in world.nodes for g in range(GPUS) for t in times}
    for key, (metric, _) in DCGM_FIELDS.items():
        yield f"# TYPE {metric} gauge"  # counters here have no _total suffix: OpenMetrics wants gauge
        for node in world.nodes:
            for gpu in range(GPUS):
                lbl = labels[node, gpu]
                for t in times:
                    yield f"{metric}{{{lbl}}} {values[node, gpu, t][key]} {t:.3f}"


def write_openmetrics(
    path: Path, world: World, t0: float, *, hours: float = 3.0, ib_step: float = 60.0, gpu_step: float = 120.0
) -> int:
    """Write the history ending just before ``t0``; returns the number of samples."""
    count = 0
    with path.open("w") as out:
        for gen in (_ib_lines(world, t0, _times(t0, hours, ib_step)), _dcgm_lines(world, _times(t0, hours, gpu_step))):
            buf: list[str] = []
            for line in gen:
                buf.append(line)
                if len(buf) >= 20000:
                    count += sum(1 for x in buf if x[0] != "#")
                    out.write("\n".join(buf) + "\n")
                    buf.clear()
            count += sum(1 for x in buf if x[0] != "#")
            out.write("\n".join(buf) + "\n")
        out.write("# EOF\n")
    return count

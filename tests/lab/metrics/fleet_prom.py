"""A real Prometheus holding a whole fleet's DCGM and InfiniBand series, backfilled with ``promtool``.

The live metrics lab scrapes 64 node_exporters; 10,000 nodes x 8 GPUs cannot be exporters on this
machine. Instead the series the fleet view reads are written as OpenMetrics and turned into TSDB
blocks by ``promtool tsdb create-blocks-from openmetrics`` (the backfill Prometheus documents), and
a Prometheus with no scrape jobs serves them. So the queries, the label matching, the aggregation
at 80,000 series and the HTTP answers are all the real server's.

Two knobs make it stand in for a scraping Prometheus:
- the samples run from ``before`` seconds in the past to ``after`` seconds in the future, one every
  ``step`` seconds: a query at "now" during the next ``after`` seconds sees recent samples exactly
  as a live server would (instant lookback, ``rate(...[10m])``, 30 min ranges); a sample in the
  future is invisible until its time comes, as in any TSDB;
- the label conventions are parameters (``node_label`` for the DCGM exporter's node name, and the
  node_exporter ``instance`` form, e.g. an FQDN with a port), to test ``[prometheus] node_label`` /
  ``instance_map``.

Values are a cheap pure function of (node, gpu, time); ``hot`` nodes carry XID 79, and ``flapping``
nodes a growing symbol error counter, ``stale`` nodes' GPU series stop 20 minutes before now, so a
test can tell filled cells from defaults.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from ..slurm.procs import LabError, kill_pids, owned_pids, spawn
from .lab import PROMETHEUS, PROMTOOL, lab_dir

GPUS = 8
HCAS = ("mlx5_0", "mlx5_1")
DCGM = ("DCGM_FI_DEV_GPU_UTIL", "DCGM_FI_DEV_GPU_TEMP", "DCGM_FI_DEV_XID_ERRORS")
IB = ("node_infiniband_symbol_error_total", "node_infiniband_link_downed_total")


@dataclass(frozen=True)
class FleetSeries:
    """What to write: the nodes, their label conventions and the time span."""

    nodes: list[str]
    t0: float = field(default_factory=time.time)
    before: float = 40 * 60
    after: float = 30 * 60
    step: float = 240.0
    node_label: str = "Hostname"
    instance: Callable[[str], str] = lambda node: node
    hot: frozenset[str] = frozenset()
    flapping: frozenset[str] = frozenset()
    stale: frozenset[str] = frozenset()  # their DCGM exporter stopped 20 minutes before t0

    def times(self) -> list[float]:
        first = self.t0 - self.before
        return [first + i * self.step for i in range(int((self.before + self.after) // self.step) + 1)]

    def util(self, i: int, gpu: int, k: int) -> int:
        return (i * 37 + gpu * 11 + k * 7) % 100

    def temp(self, i: int, gpu: int, k: int) -> int:
        return 40 + (i * 13 + gpu * 5 + k * 3) % 40

    def series_count(self) -> int:
        return len(self.nodes) * (GPUS * len(DCGM) + len(HCAS) * len(IB))


def _lines(spec: FleetSeries) -> Iterator[str]:
    times = spec.times()
    all_stamps = [f"{t:.3f}" for t in times]
    until_stale = [f"{t:.3f}" for t in times if t <= spec.t0 - 20 * 60]
    for metric in DCGM:
        yield f"# TYPE {metric} gauge"
        for i, node in enumerate(spec.nodes):
            xid = 79 if node in spec.hot else 0
            stamps = until_stale if node in spec.stale else all_stamps
            for gpu in range(GPUS):
                lbl = (
                    f'{metric}{{gpu="{gpu}",UUID="GPU-{i:05d}-{gpu}",{spec.node_label}="{node}",'
                    f'instance="{spec.instance(node)}",job="dcgm"}}'
                )
                if metric == DCGM[0]:
                    yield "\n".join(f"{lbl} {spec.util(i, gpu, k)} {s}" for k, s in enumerate(stamps))
                elif metric == DCGM[1]:
                    yield "\n".join(f"{lbl} {spec.temp(i, gpu, k)} {s}" for k, s in enumerate(stamps))
                else:
                    yield "\n".join(f"{lbl} {xid if gpu == 0 else 0} {s}" for s in stamps)
    for metric in IB:
        yield f"# TYPE {metric.removesuffix('_total')} counter"
        for node in spec.nodes:
            grows = metric == IB[0] and node in spec.flapping
            for hca in HCAS:
                lbl = f'{metric}{{device="{hca}",port="1",instance="{spec.instance(node)}",job="node"}}'
                yield "\n".join(f"{lbl} {k * 600 if grows else 0} {s}" for k, s in enumerate(all_stamps))


def write_openmetrics(path: Path, spec: FleetSeries) -> None:
    with path.open("w") as out:
        for chunk in _lines(spec):
            out.write(chunk)
            out.write("\n")
        out.write("# EOF\n")


@dataclass(frozen=True)
class BackfilledPrometheus:
    url: str
    directory: Path
    spec: FleetSeries
    backfill_seconds: float


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def backfilled(name: str, spec: FleetSeries, *, timeout: float = 120.0) -> Iterator[BackfilledPrometheus]:
    """Write, backfill and serve ``spec``; stop the server and delete its files on exit."""
    for tool in (PROMETHEUS, PROMTOOL):
        if not Path(tool).exists():
            raise LabError(f"{tool} is missing: apt-get install prometheus")
    d = lab_dir().parent / f"fleet-prom-{name}"
    kill_pids(owned_pids(str(d)))  # what a crashed earlier run left
    shutil.rmtree(d, ignore_errors=True)
    (d / "data").mkdir(parents=True)
    started = time.monotonic()
    history = d / "history.om"
    write_openmetrics(history, spec)
    # 2 h blocks (the default) hold the whole span in one or two blocks
    fill = subprocess.run(
        [PROMTOOL, "tsdb", "create-blocks-from", "openmetrics", str(history), str(d / "data")],
        capture_output=True,
        text=True,
        timeout=timeout * 10,
    )
    history.unlink()
    if fill.returncode != 0:
        shutil.rmtree(d, ignore_errors=True)
        raise LabError(f"promtool backfill failed: {(fill.stderr or fill.stdout).strip()[-300:]}")
    backfill_seconds = time.monotonic() - started
    port = _free_port()
    config = d / "prometheus.yml"
    config.write_text(json.dumps({"global": {"scrape_interval": "1m"}, "scrape_configs": []}))
    proc = spawn(
        [
            PROMETHEUS,
            f"--config.file={config}",
            f"--storage.tsdb.path={d / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--storage.tsdb.retention.time=7d",
            "--log.level=warn",
        ],
        env={},
        log=d / "prometheus.log",
        owner=str(d),
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_loaded(url, proc, spec, timeout)
        yield BackfilledPrometheus(url=url, directory=d, spec=spec, backfill_seconds=backfill_seconds)
    finally:
        kill_pids([proc.pid, *owned_pids(str(d))])
        proc.wait(timeout=10)
        shutil.rmtree(d, ignore_errors=True)


def _wait_loaded(url: str, proc: subprocess.Popen[bytes], spec: FleetSeries, timeout: float) -> None:
    """Until every node's GPU utilisation answers (the blocks are loaded and queryable)."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    want = (len(spec.nodes) - len(spec.stale)) * GPUS  # a stale series is not "now"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise LabError(f"backfilled prometheus exited with {proc.returncode}")
        try:
            r = httpx.get(f"{url}/api/v1/query", params={"query": f"count({DCGM[0]})"}, timeout=30.0)
            res = r.json()["data"]["result"] if r.status_code == 200 else []
            if res and int(float(res[0]["value"][1])) == want:
                return
            last = f"{res[0]['value'][1] if res else 0}/{want} GPU series"
        except (httpx.HTTPError, KeyError, ValueError) as exc:
            last = str(exc) or type(exc).__name__
        time.sleep(0.3)
    raise LabError(f"backfilled prometheus not ready within {timeout:.0f}s: {last}")

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


def _lines(spec: FleetSeries, window: range | None = None) -> Iterator[str]:
    """The OpenMetrics text of ``spec``, only the samples whose index is in ``window`` (all by default)."""
    times = spec.times()
    ks = window if window is not None else range(len(times))
    stamps = [(k, f"{times[k]:.3f}") for k in ks]
    until_stale = [(k, s) for k, s in stamps if times[k] <= spec.t0 - 20 * 60]
    for metric in DCGM:
        yield f"# TYPE {metric} gauge"
        for i, node in enumerate(spec.nodes):
            xid = 79 if node in spec.hot else 0
            mine = until_stale if node in spec.stale else stamps
            if not mine:
                continue
            for gpu in range(GPUS):
                lbl = (
                    f'{metric}{{gpu="{gpu}",UUID="GPU-{i:05d}-{gpu}",{spec.node_label}="{node}",'
                    f'instance="{spec.instance(node)}",job="dcgm"}}'
                )
                if metric == DCGM[0]:
                    yield "\n".join(f"{lbl} {spec.util(i, gpu, k)} {s}" for k, s in mine)
                elif metric == DCGM[1]:
                    yield "\n".join(f"{lbl} {spec.temp(i, gpu, k)} {s}" for k, s in mine)
                else:
                    yield "\n".join(f"{lbl} {xid if gpu == 0 else 0} {s}" for _, s in mine)
    for metric in IB:
        yield f"# TYPE {metric.removesuffix('_total')} counter"
        for node in spec.nodes:
            grows = metric == IB[0] and node in spec.flapping
            for hca in HCAS:
                lbl = f'{metric}{{device="{hca}",port="1",instance="{spec.instance(node)}",job="node"}}'
                yield "\n".join(f"{lbl} {k * 600 if grows else 0} {s}" for k, s in stamps)


def write_openmetrics(path: Path, spec: FleetSeries, window: range | None = None) -> None:
    with path.open("w") as out:
        for chunk in _lines(spec, window):
            out.write(chunk)
            out.write("\n")
        out.write("# EOF\n")


BLOCK = 2 * 3600  # promtool's default block span: one OpenMetrics file per aligned 2 h window


def _windows(spec: FleetSeries) -> list[range]:
    """Sample index ranges, one per 2 h block, so no text file holds more than 2 h of samples
    (a 10k-node fleet writes ~0.5 GB of text per hour; a kept TSDB may span many hours)."""
    times = spec.times()
    out: list[range] = []
    start = 0
    for k in range(1, len(times) + 1):
        if k == len(times) or times[k] // BLOCK != times[start] // BLOCK:
            out.append(range(start, k))
            start = k
    return out


def _fingerprint(spec: FleetSeries) -> dict[str, object]:
    """What a kept TSDB must match to be reused (everything but the time span)."""
    return {
        "nodes": len(spec.nodes),
        "first": spec.nodes[0],
        "last": spec.nodes[-1],
        "node_label": spec.node_label,
        "instances": [spec.instance(n) for n in spec.nodes[:3]],
        "hot": sorted(spec.hot),
        "flapping": sorted(spec.flapping),
        "stale": sorted(spec.stale),
        "step": spec.step,
    }


def _reusable(d: Path, spec: FleetSeries, need: float) -> FleetSeries | None:
    """The spec the kept TSDB in ``d`` was written with, if it matches ``spec`` and its samples cover
    the next ``need`` seconds with 40 minutes of history behind now; else None."""
    try:
        meta = json.loads((d / "meta.json").read_text())
    except (OSError, ValueError):
        return None
    now = time.time()
    if meta.get("fingerprint") != _fingerprint(spec) or not (d / "data").is_dir():
        return None
    t0, before, after = float(meta["t0"]), float(meta["before"]), float(meta["after"])
    if t0 - before > now - 40 * 60 or t0 + after < now + need:
        return None
    return FleetSeries(
        nodes=spec.nodes,
        t0=t0,
        before=before,
        after=after,
        step=spec.step,
        node_label=spec.node_label,
        instance=spec.instance,
        hot=spec.hot,
        flapping=spec.flapping,
        stale=spec.stale,
    )


def _backfill(d: Path, spec: FleetSeries, timeout: float) -> None:
    shutil.rmtree(d / "data", ignore_errors=True)
    (d / "meta.json").unlink(missing_ok=True)
    (d / "data").mkdir(parents=True)
    history = d / "history.om"
    try:
        for window in _windows(spec):
            write_openmetrics(history, spec, window)
            # 2 h blocks (the default): one block per window
            fill = subprocess.run(
                [PROMTOOL, "tsdb", "create-blocks-from", "openmetrics", str(history), str(d / "data")],
                capture_output=True,
                text=True,
                timeout=timeout * 10,
            )
            if fill.returncode != 0:
                raise LabError(f"promtool backfill failed: {(fill.stderr or fill.stdout).strip()[-300:]}")
    finally:
        history.unlink(missing_ok=True)
    meta = {"fingerprint": _fingerprint(spec), "t0": spec.t0, "before": spec.before, "after": spec.after}
    (d / "meta.json").write_text(json.dumps(meta))


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
def backfilled(
    name: str, spec: FleetSeries, *, timeout: float = 120.0, keep: Path | None = None, need: float = 30 * 60
) -> Iterator[BackfilledPrometheus]:
    """Write, backfill and serve ``spec``; stop the server and delete its files on exit.

    With ``keep`` the TSDB lives in that directory and outlives the call: a later call with the same
    fleet reuses it (no backfill, ``backfill_seconds`` 0) as long as its samples still cover the next
    ``need`` seconds, else it is backfilled again there. Give such a spec a long ``after`` (hours)."""
    for tool in (PROMETHEUS, PROMTOOL):
        if not Path(tool).exists():
            raise LabError(f"{tool} is missing: apt-get install prometheus")
    d = keep if keep is not None else lab_dir().parent / f"fleet-prom-{name}"
    kill_pids(owned_pids(str(d)))  # what a crashed earlier run left
    started = time.monotonic()
    kept = _reusable(d, spec, need) if keep is not None else None
    if kept is not None:
        spec = kept
    else:
        if keep is None:
            shutil.rmtree(d, ignore_errors=True)
        try:
            _backfill(d, spec, timeout)
        except BaseException:
            if keep is None:
                shutil.rmtree(d, ignore_errors=True)
            raise
    backfill_seconds = 0.0 if kept is not None else time.monotonic() - started
    port = _free_port()
    config = d / "prometheus.yml"
    config.write_text(json.dumps({"global": {"scrape_interval": "1m"}, "scrape_configs": []}))
    proc = spawn(
        [
            PROMETHEUS,
            f"--config.file={config}",
            f"--storage.tsdb.path={d / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--storage.tsdb.retention.time=30d",
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
        if keep is None:
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

"""Start, stop and drive the metrics lab: real Prometheus scraping real node_exporters (one per lab
node, InfiniBand counters from a fake sysfs the tests write) and the lab's DCGM-format exporter,
with hours of history backfilled by promtool before Prometheus starts.

Files live in ``$DCOPS_LAB_DIR/metrics`` (default ``/tmp/dcops-lab/metrics``): ``lab.json`` (ports,
node count, start time), ``pids/``, ``logs/``, ``sysfs/<node>/``, ``dcgm/scenario.json``,
``topology.txt``, ``prometheus/``. ``start`` always begins from nothing: it stops what an earlier
run left (by pid, checking the process is ours) and deletes its files, because a reused lab would
carry an earlier test's counters. ``stop`` ends every process by pid and removes the directory.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from ..slurm.procs import LabError, alive, kill_pids, owned_pids, spawn
from . import sysfs
from .history import DCGM_JOB, NODE_JOB, write_openmetrics
from .world import World

REPO_ROOT = Path(__file__).resolve().parents[3]
SCRAPE_INTERVAL = 2.0
NODE_EXPORTER = "/usr/bin/prometheus-node-exporter"
PROMETHEUS = "/usr/bin/prometheus"
PROMTOOL = "/usr/bin/promtool"


def lab_dir() -> Path:
    return Path(os.environ.get("DCOPS_LAB_DIR") or "/tmp/dcops-lab") / "metrics"


@dataclass(frozen=True)
class MetricsLab:
    """A running lab, and the levers tests pull."""

    directory: Path
    prometheus_url: str
    dcgm_url: str
    node_ports: dict[str, int]
    started_at: float

    @property
    def world(self) -> World:
        return World.build(len(self.node_ports))

    @property
    def nodes(self) -> list[str]:
        return list(self.node_ports)

    @property
    def topology_path(self) -> Path:
        return self.directory / "topology.txt"

    def sysfs_root(self, node: str) -> Path:
        if node not in self.node_ports:
            raise KeyError(f"no lab node {node!r}")
        return self.directory / "sysfs" / node

    # ---------------------------------------------------------- faults
    def freeze_prometheus(self, frozen: bool = True) -> None:
        """SIGSTOP / SIGCONT the lab's Prometheus: it keeps its port but answers nothing (a server that
        hangs past every client timeout); thawed, it serves again with its data intact."""
        pid = _pids(self.directory).get("prometheus")
        if pid is None or not _ours(pid, self.directory):
            raise RuntimeError("the lab's Prometheus is not running")
        os.kill(pid, signal.SIGSTOP if frozen else signal.SIGCONT)

    # ---------------------------------------------------------- InfiniBand levers

    def add_counters(self, node: str, device: str = "mlx5_0", **deltas: int) -> dict[str, int]:
        """Grow counters on one port (e.g. ``symbol_error=500``); returns the new values."""
        return {name: sysfs.add_counter(self.sysfs_root(node), device, name, d) for name, d in deltas.items()}

    def counter(self, node: str, device: str, name: str) -> int:
        return sysfs.read_counter(self.sysfs_root(node), device, name)

    def set_port_state(self, node: str, device: str, state: str) -> None:
        sysfs.set_state(self.sysfs_root(node), device, state)

    # ---------------------------------------------------------- GPU levers

    def set_gpus(self, node: str, gpus: dict[int, dict[str, float]]) -> None:
        """Override DCGM fields (util, temp, power, fb_used, xid, ecc_dbe, ...) for GPUs of a node."""
        path = self.directory / "dcgm" / "scenario.json"
        data = json.loads(path.read_text() or "{}")
        node_over = data.setdefault("gpus", {}).setdefault(node, {})
        for gpu, fields in gpus.items():
            node_over.setdefault(str(gpu), {}).update(fields)
        _atomic_write(path, json.dumps(data))

    def set_dcgm_absent(self, node: str, absent: bool = True) -> None:
        path = self.directory / "dcgm" / "scenario.json"
        data = json.loads(path.read_text() or "{}")
        names = set(data.get("absent", ()))
        (names.add if absent else names.discard)(node)
        data["absent"] = sorted(names)
        _atomic_write(path, json.dumps(data))

    # ---------------------------------------------------------- waiting for Prometheus

    def query(self, promql: str) -> list[dict[str, Any]]:
        resp = httpx.get(f"{self.prometheus_url}/api/v1/query", params={"query": promql}, timeout=5.0)
        resp.raise_for_status()
        return resp.json()["data"]["result"]

    def wait_for(self, promql: str, check: Callable[[list[dict[str, Any]]], bool], timeout: float = 20.0) -> list:
        """Poll until ``check(result)`` holds (a scrape has picked up what the test wrote)."""
        deadline = time.monotonic() + timeout
        result: list = []
        while time.monotonic() < deadline:
            result = self.query(promql)
            if check(result):
                return result
            time.sleep(0.5)
        raise LabError(f"timed out after {timeout:.0f}s waiting for {promql!r}; last result: {result!r:.300}")

    def wait_value(self, promql: str, at_least: float, timeout: float = 20.0) -> float:
        res = self.wait_for(promql, lambda r: bool(r) and float(r[0]["value"][1]) >= at_least, timeout)
        return float(res[0]["value"][1])


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _free_ports(n: int) -> list[int]:
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _alive(pid: int) -> bool:
    """Running, not a zombie (a lab started by this very process leaves zombies until reaped)."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
    return alive(pid)


def _ours(pid: int, directory: Path) -> bool:
    """Only signal a process whose command line names this lab's directory (pids get reused)."""
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return str(directory).encode() in cmd


def _pids(directory: Path) -> dict[str, int]:
    out: dict[str, int] = {}
    for f in sorted((directory / "pids").glob("*.pid")) if (directory / "pids").is_dir() else []:
        text = f.read_text().strip()
        if text.isdigit():
            out[f.stem] = int(text)
    return out


def _spawn(directory: Path, name: str, argv: list[str]) -> subprocess.Popen:
    """Detached, logged, and marked with the lab's owner variable so a later start or stop finds
    it even when a crashed run left no pid file."""
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    proc = spawn(argv, env=env, log=directory / "logs" / f"{name}.log", owner=str(directory))
    (directory / "pids" / f"{name}.pid").write_text(str(proc.pid))
    return proc


def stop() -> bool:
    """Stop every lab process by pid and remove the lab's files; True when something was running."""
    d = lab_dir()
    pids = set(owned_pids(str(d))) | {p for p in _pids(d).values() if _alive(p) and _ours(p, d)}
    kill_pids(sorted(pids))
    for pid in pids:
        _alive(pid)  # reap our own children
    shutil.rmtree(d, ignore_errors=True)
    return bool(pids)


def status() -> MetricsLab | None:
    d = lab_dir()
    try:
        info = json.loads((d / "lab.json").read_text())
    except (OSError, ValueError):
        return None
    pids = _pids(d)
    if not pids or not all(_alive(p) and _ours(p, d) for p in pids.values()):
        return None
    return _info(d, info)


def _info(d: Path, info: dict[str, Any]) -> MetricsLab:
    return MetricsLab(
        directory=d,
        prometheus_url=f"http://127.0.0.1:{info['prometheus']}",
        dcgm_url=f"http://127.0.0.1:{info['dcgm']}",
        node_ports=info["nodes"],
        started_at=info["started_at"],
    )


def _scrape_config(world: World, node_ports: dict[str, int], dcgm_port: int) -> dict[str, Any]:
    return {
        "global": {"scrape_interval": f"{SCRAPE_INTERVAL:g}s", "scrape_timeout": f"{SCRAPE_INTERVAL:g}s"},
        "scrape_configs": [
            {
                "job_name": NODE_JOB,
                "static_configs": [
                    {"targets": [f"127.0.0.1:{port}"], "labels": {"instance": node}}
                    for node, port in node_ports.items()
                ],
            },
            {
                "job_name": DCGM_JOB,
                "static_configs": [
                    {
                        "targets": [f"127.0.0.1:{dcgm_port}"],
                        "labels": {"instance": node, "__metrics_path__": f"/nodes/{node}/metrics"},
                    }
                    for node in world.nodes
                ],
            },
        ],
    }


def start(nodes: int = 64, history_hours: float = 3.0, timeout: float = 90.0) -> MetricsLab:
    """Start the lab from nothing and wait until every target has been scraped once."""
    for tool in (NODE_EXPORTER, PROMETHEUS, PROMTOOL):
        if not Path(tool).exists():
            raise LabError(f"{tool} is missing: apt-get install prometheus prometheus-node-exporter")
    stop()
    d = lab_dir()
    for sub in ("pids", "logs", "sysfs", "dcgm", "prometheus/data"):
        (d / sub).mkdir(parents=True, exist_ok=True)
    world = World.build(nodes)
    t0 = time.time()
    for node in world.nodes:
        sysfs.create(d / "sysfs" / node, world, node, t0)
    (d / "topology.txt").write_text(world.topology_text())
    _atomic_write(d / "dcgm" / "scenario.json", "{}")

    history = d / "prometheus" / "history.om"
    write_openmetrics(history, world, t0, hours=history_hours)
    backfill = subprocess.run(
        [PROMTOOL, "tsdb", "create-blocks-from", "openmetrics", str(history), str(d / "prometheus" / "data")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    history.unlink()
    if backfill.returncode != 0:
        raise LabError(f"promtool backfill failed: {(backfill.stderr or backfill.stdout).strip()[-300:]}")

    ports = _free_ports(nodes + 2)
    prom_port, dcgm_port, node_ports = ports[0], ports[1], dict(zip(world.nodes, ports[2:]))
    info = {"prometheus": prom_port, "dcgm": dcgm_port, "nodes": node_ports, "started_at": t0}
    _atomic_write(d / "lab.json", json.dumps(info))
    procs: list[subprocess.Popen] = []
    for node, port in node_ports.items():
        procs.append(
            _spawn(
                d,
                f"node-{node}",
                [
                    NODE_EXPORTER,
                    f"--path.sysfs={d / 'sysfs' / node}",
                    "--collector.disable-defaults",
                    "--collector.infiniband",
                    f"--web.listen-address=127.0.0.1:{port}",
                    "--log.level=warn",
                ],
            )
        )
    procs.append(
        _spawn(
            d,
            "dcgm",
            [
                sys.executable,
                "-m",
                "tests.lab.metrics",
                "serve-dcgm",
                "--dir",
                str(d),
                "--port",
                str(dcgm_port),
                "--nodes",
                str(nodes),
            ],
        )
    )
    config = d / "prometheus" / "prometheus.yml"
    config.write_text(json.dumps(_scrape_config(world, node_ports, dcgm_port), indent=1))
    procs.append(
        _spawn(
            d,
            "prometheus",
            [
                PROMETHEUS,
                f"--config.file={config}",
                f"--storage.tsdb.path={d / 'prometheus' / 'data'}",
                f"--web.listen-address=127.0.0.1:{prom_port}",
                "--storage.tsdb.retention.time=2d",
                "--log.level=warn",
            ],
        )
    )
    lab = _info(d, info)
    try:
        _wait_ready(lab, procs, nodes, timeout)
    except BaseException:
        stop()
        raise
    return lab


def _wait_ready(lab: MetricsLab, procs: list[subprocess.Popen], nodes: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    want = f'count(up{{job="{NODE_JOB}"}} == 1) + count(up{{job="{DCGM_JOB}"}} == 1)'
    last = "no answer"
    while time.monotonic() < deadline:
        dead = [p for p in procs if p.poll() is not None]
        if dead:
            logs = sorted((lab.directory / "logs").glob("*.log"))
            tail = " | ".join(l.read_text().strip().splitlines()[-1] for l in logs if l.read_text().strip())[-400:]
            argv = dead[0].args
            name = str(argv[0]) if isinstance(argv, (list, tuple)) else str(argv)
            raise LabError(f"a lab process exited during start ({name}): {tail or 'no output'}")
        try:
            res = lab.query(want)
            if res and int(float(res[0]["value"][1])) == 2 * nodes:
                return
            last = f"{res[0]['value'][1] if res else 0}/{2 * nodes} targets up"
        except (httpx.HTTPError, KeyError, ValueError) as exc:
            last = str(exc) or type(exc).__name__
        time.sleep(0.25)
    raise LabError(f"metrics lab not ready within {timeout:.0f}s: {last}")

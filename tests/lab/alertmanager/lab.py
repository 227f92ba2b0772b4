"""Start, stop and drive the lab's Alertmanager (Debian's ``prometheus-alertmanager`` 0.25).

Files live in ``$DCOPS_LAB_DIR/alertmanager``: ``lab.json`` (port), ``alertmanager.yml``, ``data/``,
``pids/``, ``logs/``. ``start`` begins from nothing (stops an earlier run's process by pid, checking
it is ours, and deletes its files) and, when the metrics lab is running, points its Prometheus at
this Alertmanager with dcops' GPU-cluster rules (see :func:`attach_prometheus`). Tests aim the
webhook at their own receiver with :meth:`AlertmanagerLab.route_to_webhook`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

from ..slurm.procs import LabError, alive, kill_pids, owned_pids, spawn, tail

BINARY = "/usr/bin/prometheus-alertmanager"
REPO_ROOT = Path(__file__).resolve().parents[3]
RULES = REPO_ROOT / "actions" / "alerts" / "gpu-cluster.rules.yml"
EVALUATION_INTERVAL = "2s"


def lab_dir() -> Path:
    return Path(os.environ.get("DCOPS_LAB_DIR") or "/tmp/dcops-lab") / "alertmanager"


@dataclass(frozen=True)
class AlertmanagerLab:
    directory: Path
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # ------------------------------------------------------------ configuration
    def route_to_webhook(
        self, url: str | None, *, token: str | None = None, basic: tuple[str, str] | None = None
    ) -> None:
        """Send every alert to ``url`` (dcops' receiver) quickly (group_wait 1 s), with the auth
        Alertmanager's ``http_config`` supports; ``None`` removes the webhook. Reloads at once."""
        _write_config(self.directory, url, token=token, basic=basic)
        resp = httpx.post(f"{self.url}/-/reload", timeout=10)
        if resp.status_code != 200:
            raise LabError(f"alertmanager refused its new config: {resp.text.strip()[:300]}")

    # ------------------------------------------------------------ API v2
    def post_alerts(self, alerts: list[dict[str, Any]]) -> None:
        httpx.post(f"{self.url}/api/v2/alerts", json=alerts, timeout=10).raise_for_status()

    def alerts(self, **filters: str) -> list[dict[str, Any]]:
        params = [("filter", f'{k}="{v}"') for k, v in filters.items()]
        resp = httpx.get(f"{self.url}/api/v2/alerts", params=params, timeout=10)
        resp.raise_for_status()
        return resp.json()

    def silences(self) -> list[dict[str, Any]]:
        resp = httpx.get(f"{self.url}/api/v2/silences", timeout=10)
        resp.raise_for_status()
        return resp.json()

    def active_silences(self, node: str | None = None) -> list[dict[str, Any]]:
        out = [s for s in self.silences() if s["status"]["state"] == "active"]
        if node is not None:
            out = [s for s in out if any(m["name"] == "node" and m["value"] == node for m in s["matchers"])]
        return out

    def wait_for_alert(self, alertname: str, timeout: float = 60.0, **labels: str) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.alerts(alertname=alertname, **labels)
            if found:
                return found[0]
            time.sleep(0.5)
        raise LabError(f"alert {alertname} {labels} did not reach alertmanager within {timeout:.0f}s")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _write_config(d: Path, url: str | None, *, token: str | None = None, basic: tuple[str, str] | None = None) -> None:
    receiver: dict[str, Any] = {"name": "dcops"}
    if url:
        hook: dict[str, Any] = {"url": url, "send_resolved": True, "max_alerts": 0}
        if token:
            hook["http_config"] = {"authorization": {"credentials": token}}
        elif basic:
            hook["http_config"] = {"basic_auth": {"username": basic[0], "password": basic[1]}}
        receiver["webhook_configs"] = [hook]
    config = {
        "route": {
            "receiver": "dcops",
            "group_by": ["alertname", "node"],
            "group_wait": "1s",
            "group_interval": "2s",
            "repeat_interval": "1h",
        },
        "receivers": [receiver],
    }
    tmp = d / ".alertmanager.yml.tmp"
    tmp.write_text(yaml.safe_dump(config, sort_keys=False))
    os.replace(tmp, d / "alertmanager.yml")


def _pid(d: Path) -> int | None:
    try:
        return int((d / "pids" / "alertmanager.pid").read_text().strip())
    except (OSError, ValueError):
        return None


def _ours(pid: int, d: Path) -> bool:
    try:
        return str(d).encode() in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def stop() -> bool:
    """Stop the lab's Alertmanager by pid and remove its files; True when it was running."""
    d = lab_dir()
    pids = set(owned_pids(str(d)))
    pid = _pid(d)
    if pid is not None and alive(pid) and _ours(pid, d):
        pids.add(pid)
    kill_pids(sorted(pids))
    for p in pids:
        try:
            os.waitpid(p, os.WNOHANG)
        except ChildProcessError:
            pass
    shutil.rmtree(d, ignore_errors=True)
    return bool(pids)


def status() -> AlertmanagerLab | None:
    d = lab_dir()
    try:
        info = json.loads((d / "lab.json").read_text())
    except (OSError, ValueError):
        return None
    pid = _pid(d)
    if pid is None or not alive(pid) or not _ours(pid, d):
        return None
    return AlertmanagerLab(directory=d, port=info["port"])


def start(timeout: float = 30.0) -> AlertmanagerLab:
    """Start Alertmanager from nothing, wait until it answers, and feed it from the metrics lab's
    Prometheus when that lab is running."""
    if not Path(BINARY).exists():
        raise LabError(f"{BINARY} is missing: apt-get install prometheus-alertmanager")
    stop()
    d = lab_dir()
    for sub in ("pids", "logs", "data"):
        (d / sub).mkdir(parents=True, exist_ok=True)
    port = _free_port()
    (d / "lab.json").write_text(json.dumps({"port": port}))
    _write_config(d, None)
    proc = spawn(
        [
            BINARY,
            f"--config.file={d / 'alertmanager.yml'}",
            f"--storage.path={d / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
            "--log.level=warn",
        ],
        env=dict(os.environ),
        log=d / "logs" / "alertmanager.log",
        owner=str(d),
    )
    (d / "pids" / "alertmanager.pid").write_text(str(proc.pid))
    lab = AlertmanagerLab(directory=d, port=port)
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            msg = tail(d / "logs" / "alertmanager.log")
            stop()
            raise LabError(f"alertmanager exited during start: {msg}")
        try:
            if httpx.get(f"{lab.url}/-/ready", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            stop()
            raise LabError(f"alertmanager not ready within {timeout:.0f}s")
        time.sleep(0.1)
    attach_prometheus(lab)
    return lab


def lab_rules_text() -> str:
    """dcops' rules as shipped, with every ``for:`` hold shortened to 0s so a lab test sees an alert
    fire within one evaluation (2 s) instead of minutes; the expressions are unchanged."""
    return re.sub(r"(?m)^(\s*)for: .*$", r"\1for: 0s", RULES.read_text())


def attach_prometheus(lab: AlertmanagerLab) -> bool:
    """Point the running metrics lab's Prometheus at ``lab`` and load the rules (SIGHUP reload).
    Returns False when the metrics lab is not running (call again after starting it)."""
    from ..metrics import lab as metrics

    running = metrics.status()
    if running is None:
        return False
    prom_dir = running.directory / "prometheus"
    rules = prom_dir / "dcops-gpu.rules.yml"
    rules.write_text(lab_rules_text())
    cfg_path = prom_dir / "prometheus.yml"
    cfg = json.loads(cfg_path.read_text())
    cfg.setdefault("global", {})["evaluation_interval"] = EVALUATION_INTERVAL
    cfg["rule_files"] = [str(rules)]
    cfg["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{lab.port}"]}]}]}
    cfg_path.write_text(json.dumps(cfg, indent=1))
    pid = int((running.directory / "pids" / "prometheus.pid").read_text().strip())
    os.kill(pid, signal.SIGHUP)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            groups = httpx.get(f"{running.prometheus_url}/api/v1/rules", timeout=5).json()["data"]["groups"]
            ams = httpx.get(f"{running.prometheus_url}/api/v1/alertmanagers", timeout=5).json()["data"]
            if groups and any(str(lab.port) in a["url"] for a in ams.get("activeAlertmanagers", [])):
                return True
        except (httpx.HTTPError, KeyError, ValueError):
            pass
        time.sleep(0.3)
    raise LabError("Prometheus did not load the dcops rules / alertmanager target within 20 s")


@contextmanager
def session() -> Iterator[AlertmanagerLab]:
    """The running Alertmanager (left running) or a fresh one stopped at the end."""
    running = status()
    lab = running or start()
    if running is not None:
        attach_prometheus(lab)
    try:
        yield lab
    finally:
        if running is None:
            stop()

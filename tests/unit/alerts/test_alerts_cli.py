"""`dcops alerts` as a user runs it: a real process listing what the receiver audited (another
process's work), `alerts serve` refusing to start without credentials, bad input one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    e = dict(os.environ)
    e.update(
        XDG_DATA_HOME=str(tmp_path / "data"),
        XDG_STATE_HOME=str(tmp_path / "state"),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
    )
    e.pop("DCOPS_CONFIG", None)
    e.pop("DCOPS_ALERTS_TOKEN", None)
    return e


def dcops(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dcops.console.cli", *args],
        cwd=ROOT,
        env=env,
        text=True,
        capture_output=True,
        timeout=120,
    )


def test_serve_without_credentials_is_one_line_exit_2(env: dict[str, str]) -> None:
    p = dcops(env, "--demo", "alerts", "serve")
    assert p.returncode == 2 and "Traceback" not in p.stderr
    assert p.stderr.strip() == (
        "dcops alerts serve: the alert webhook needs credentials: set $DCOPS_ALERTS_TOKEN "
        "(bearer token) or [alerts] basic_user + basic_password_env; it never accepts "
        "unauthenticated alerts"
    )


def test_bad_subcommand_is_one_line(env: dict[str, str]) -> None:
    p = dcops(env, "--demo", "alerts", "bogus")
    assert p.returncode == 2 and "invalid choice: 'bogus'" in p.stderr and "Traceback" not in p.stderr


def test_serve_then_list_from_another_process(env: dict[str, str], tmp_path: Path) -> None:
    port = 39000 + os.getpid() % 1000
    cfg = tmp_path / "dcops.toml"
    cfg.write_text(
        f'[cluster]\ndemo = true\n[audit]\nurl = "sqlite:///{tmp_path / "audit.db"}"\n[alerts]\nport = {port}\n'
    )
    env = {**env, "DCOPS_ALERTS_TOKEN": "t0ken"}
    server = subprocess.Popen(
        [sys.executable, "-m", "dcops.console.cli", "--config", str(cfg), "alerts", "serve"],
        cwd=ROOT,
        env=env,
        text=True,
        stderr=subprocess.PIPE,
    )
    try:
        url = f"http://127.0.0.1:{port}/alertmanager"
        body = {
            "version": "4",
            "status": "firing",
            "receiver": "dcops",
            "alerts": [
                {
                    "status": "firing",
                    "labels": {"alertname": "GpuXidFellOffBus", "node": "gpu017", "gpu": "3", "severity": "critical"},
                    "annotations": {"summary": "gpu017 GPU 3: XID 79"},
                    "startsAt": "2026-12-04T03:00:00Z",
                    "fingerprint": "c0ffee01",
                }
            ],
        }
        for _ in range(100):
            try:
                r = httpx.post(url, json=body, headers={"Authorization": "Bearer t0ken"}, timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert r.status_code == 200 and r.json()["new"] == 1
        assert httpx.post(url, json=body, timeout=2).status_code == 401
        p = dcops(env, "--config", str(cfg), "--json", "alerts")
        assert p.returncode == 0, p.stderr
        alerts = json.loads(p.stdout)  # a list command's --json: one array (README "JSON output")
        assert [(a["alertname"], a["node"], a["fingerprint"]) for a in alerts] == [
            ("GpuXidFellOffBus", "gpu017", "c0ffee01")
        ]
        audit = dcops(env, "--config", str(cfg), "--json", "audit", "list", "--action", "alert")
        records = json.loads(audit.stdout)
        assert sorted(r["event"] for r in records) == ["denied", "received", "received"]
        denied = next(r for r in records if r["event"] == "denied")
        assert denied["principal"] == "webhook:127.0.0.1" and "no Authorization header" in denied["detail"]
    finally:
        server.terminate()
        server.wait(10)

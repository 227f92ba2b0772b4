"""The `dcops` CLI on the metrics lab from a config file, as an operator runs it: the TOML sections
this issue owns ([prometheus], topology), the rendered verdict, and one-line errors (no traceback)
with their exit codes when Prometheus is down or the PromQL is bad."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.lab

POLICY = """
[roles.ops]
actions = ["*"]

[[bindings]]
principals = ["unix:*"]
roles = ["ops"]
"""


def write_config(tmp_path: Path, prometheus_url: str, topology: Path) -> Path:
    (tmp_path / "policy.toml").write_text(POLICY)
    cfg = tmp_path / "dcops.toml"
    cfg.write_text(f"""
topology = "{topology}"

[cluster]
name = "lab"

[audit]
url = "sqlite:///{tmp_path / "audit.db"}"

[policy]
path = "policy.toml"

[[nodes]]
names = "gpu[001-064]"
partitions = ["gpu"]

[prometheus]
url = "{prometheus_url}"
timeout = 5
""")
    return cfg


def dcops(cfg: Path, *words: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "XDG_DATA_HOME": str(cfg.parent / "data")}
    return subprocess.run(
        [sys.executable, "-m", "dcops.console.cli", "--config", str(cfg), "run", *words],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def test_cli_triage_and_errors(tmp_path, metrics_lab):
    cfg = write_config(tmp_path, metrics_lab.prometheus_url, metrics_lab.topology_path)
    ok = dcops(cfg, "triage-cable", "gpu061:mlx5_0:1")
    assert ok.returncode == 0, ok.stderr
    assert "gpu061:mlx5_0:1 <-> gpu062:mlx5_0:1: healthy" in ok.stdout
    assert "(from what was available; missing: 2 source(s))" in ok.stdout  # no [ssh]: no mlxlink/ibstat

    bad = dcops(cfg, "query", "sum(rate(x[5m])")
    assert bad.returncode != 0 and "Traceback" not in bad.stderr + bad.stdout
    assert "prometheus rejected the query: " in bad.stderr + bad.stdout

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    down_cfg = write_config(tmp_path, f"http://127.0.0.1:{port}", metrics_lab.topology_path)
    down = dcops(down_cfg, "gpu-health", "gpu001")
    assert down.returncode != 0 and "Traceback" not in down.stderr + down.stdout
    assert f"prometheus at http://127.0.0.1:{port} is not reachable: connection refused" in down.stderr + down.stdout

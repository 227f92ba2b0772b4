"""The move a team makes, through the real `dcops` CLI: a console on SQLite migrates its log into
PostgreSQL with `dcops audit migrate`, switches `[audit] url`, and goes on with the same chain. The
database password is never printed or logged; a wrong one is a one-line error."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.lab
ROOT = Path(__file__).resolve().parents[3]
POLICY = '[roles.a]\nactions = ["*"]\n[[bindings]]\nprincipals = ["unix:*"]\nroles = ["a"]\n'


def dcops(tmp_path: Path, audit_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    cfg = tmp_path / "config.toml"
    (tmp_path / "policy.toml").write_text(POLICY)
    cfg.write_text(f'[cluster]\nname = "t"\n[audit]\nurl = "{audit_url}"\n[policy]\npath = "{tmp_path}/policy.toml"\n')
    env = {
        **os.environ,
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "PYTHONPATH": str(ROOT),
    }
    env.pop("DCOPS_CONFIG", None)
    return subprocess.run(
        [sys.executable, "-m", "dcops.console.cli", "--config", str(cfg), *args],
        cwd=ROOT,
        env=env,
        text=True,
        capture_output=True,
        timeout=120,
    )


def test_migrate_then_switch_the_console_to_postgres(pg_url: str, tmp_path: Path) -> None:
    from tests.lab.postgres import status

    password = status().password  # type: ignore[union-attr]
    lite = f"sqlite:///{tmp_path / 'audit.db'}"
    for _ in range(3):
        assert dcops(tmp_path, lite, "run", "ping").returncode == 0
    head = dcops(tmp_path, lite, "audit", "head").stdout.strip()

    moved = dcops(tmp_path, lite, "audit", "migrate", pg_url)
    assert moved.returncode == 0, moved.stderr
    assert moved.stdout.count("\n") == 1 and "chain verified before and after" in moved.stdout
    # `audit head` and `audit migrate` are audited actions: the copy holds the checkpoint and their own
    # received/started records after it (their "finished" records land in the SQLite log)
    import re

    copied = int(re.search(r"head #(\d+) ", moved.stdout).group(1))  # type: ignore[union-attr]
    assert copied > int(head.split(":")[0])
    assert int(dcops(tmp_path, pg_url, "audit", "head").stdout.split(":")[0]) > copied
    ran = dcops(tmp_path, pg_url, "run", "ping")
    assert ran.returncode == 0, ran.stderr
    verified = dcops(tmp_path, pg_url, "audit", "verify", "--expect-head", head)
    assert verified.returncode == 0 and "intact" in verified.stdout, verified.stdout + verified.stderr

    wrong = dcops(tmp_path, pg_url.replace(password, "not-the-password"), "run", "ping")
    assert wrong.returncode == 1 and "Traceback" not in wrong.stderr
    [line] = [l for l in wrong.stderr.splitlines() if l.startswith("dcops:")]
    assert "password authentication failed" in line and "not-the-password" not in line

    logs = "".join(p.read_text() for p in (tmp_path / "state").rglob("*.log"))
    for out in (moved, ran, verified, wrong):
        assert password not in out.stdout + out.stderr
    assert password not in logs and "not-the-password" not in logs

"""The lab API server's start is idempotent (a healthy server is reused, a killed one replaced)
and its stop leaves nothing behind — run in a private DCOPS_LAB_DIR so the session's lab is untouched."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.lab.kubeapi import lab


def _gone(pid: int) -> bool:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"


def test_start_is_idempotent_and_stop_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DCOPS_LAB_DIR", str(tmp_path))
    first = lab.start()
    try:
        assert first.kubeconfig.exists() and first.ca_file.exists()
        again = lab.start()
        assert (again.pid, again.url) == (first.pid, first.url)
        os.kill(first.pid, signal.SIGKILL)  # a crashed server leaves a stale pid file behind
        deadline = time.monotonic() + 5
        while not _gone(first.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        fresh = lab.start()
        assert fresh.pid != first.pid and lab.status() is not None
    finally:
        lab.stop()
    assert not (tmp_path / "kubeapi").exists()
    assert _gone(fresh.pid)


def test_command_line_start_status_stop(tmp_path: Path) -> None:
    env = dict(os.environ, DCOPS_LAB_DIR=str(tmp_path))
    cli = [sys.executable, "-m", "tests.lab.kubeapi"]
    root = Path(__file__).resolve().parents[3]

    def run(cmd: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(cli + [cmd], cwd=root, env=env, capture_output=True, text=True, timeout=30)

    try:
        started = run("start")
        assert started.returncode == 0 and "kubeapi running at https://127.0.0.1:" in started.stdout
        assert run("status").returncode == 0
    finally:
        stopped = run("stop")
    assert stopped.stdout.strip() == "kubeapi stopped"
    status = run("status")
    assert (status.returncode, status.stdout.strip()) == (3, "kubeapi not running")
    assert not (tmp_path / "kubeapi").exists()

"""Running `dcops` as a user does, for the security tests: a real process, its exit code and output."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def env_for(tmp: Path) -> dict[str, str]:
    e = dict(os.environ)
    e.update(XDG_DATA_HOME=str(tmp / "data"), XDG_STATE_HOME=str(tmp / "state"), XDG_CONFIG_HOME=str(tmp / "config"))
    e.pop("DCOPS_CONFIG", None)
    return e


def dcops(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dcops.console.cli", *args],
        cwd=ROOT,
        env=env,
        text=True,
        capture_output=True,
        input=stdin,
        timeout=120,
    )


def no_traceback(p: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in p.stderr and "Traceback" not in p.stdout, p.stderr
    assert p.returncode in (0, 1, 2, 3, 4, 5, 6), (p.returncode, p.stderr)  # README "Exit codes"

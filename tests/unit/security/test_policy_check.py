"""``dcops policy check`` says when an action needs a second person's approval, and who may give it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def check(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, XDG_DATA_HOME=str(tmp_path / "d"), XDG_STATE_HOME=str(tmp_path / "s"))
    return subprocess.run(
        [sys.executable, "-m", "dcops.console.cli", "--demo", *args],
        cwd=ROOT,
        env=env,
        text=True,
        capture_output=True,
        timeout=120,
    )


def test_approval_and_approvers_are_named(tmp_path) -> None:
    p = check(tmp_path, "policy", "check", "unix:oncall", "reimage", "gpu001")
    assert p.returncode == 0, p.stderr
    line = next(l for l in p.stdout.splitlines() if "approval:" in l)
    assert "approval: needed" in line and "never unix:oncall themself" in line and "via admin" in line
    p = check(tmp_path, "--json", "policy", "check", "unix:oncall", "reimage", "gpu001")
    assert json.loads(p.stdout)["approval"] is True


def test_no_approval_is_said_too(tmp_path) -> None:
    p = check(tmp_path, "--json", "policy", "check", "unix:oncall", "drain", "gpu001")
    out = json.loads(p.stdout)
    assert out["allowed"] and out["approval"] is False
    assert any(l.startswith("approval: not needed") for l in out["trace"])


def test_an_action_that_always_needs_approval_says_so(tmp_path) -> None:
    p = check(tmp_path, "policy", "check", "unix:oncall", "firmware-update", "gpu001")
    assert "approval: needed (the action always needs a second person)" in p.stdout

"""Long runs say how far they are: progress as plain lines on stderr, so stdout stays the steps and
the table a script reads, and --json stays one event per line with nothing else mixed in."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def _dcops(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"} | {
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "XDG_CONFIG_HOME": str(tmp_path / "cfg"),
    }
    return subprocess.run(
        [sys.executable, "-m", "dcops.console.cli", "--demo", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_progress_goes_to_stderr_as_plain_lines(tmp_path: Path) -> None:
    p = _dcops(tmp_path, "run", "validate", "gpu[001-004]", "--confirm", "1")
    assert p.returncode == 0, p.stderr[-500:]
    progress = [x for x in p.stderr.splitlines() if x.startswith("[")]
    assert progress and progress[-1] == "[4/4] validating", p.stderr
    assert len(progress) == len(set(progress))  # one line per step forward
    assert not any(x.startswith("[") for x in p.stdout.splitlines())
    assert "\x1b[" not in p.stderr  # a pipe gets no colour


def test_json_output_carries_progress_as_events_only(tmp_path: Path) -> None:
    p = _dcops(tmp_path, "--json", "run", "validate", "gpu[001-004]", "--confirm", "1")
    assert p.returncode == 0, p.stderr[-500:]
    events = [json.loads(x) for x in p.stdout.splitlines()]
    assert any(e.get("kind") == "progress" or ("done" in e and "total" in e) for e in events)
    assert not any(x.startswith("[") for x in p.stderr.splitlines())

"""Run a probe script in a fresh interpreter, as a first ``dcops`` start would be: its own XDG
directories, no ``DCOPS_CONFIG``, no stdin. The probe prints a JSON object on its last line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[3]


def run_probe(tmp_path: Path, code: str, *argv: str, env: dict[str, str] | None = None) -> tuple[Any, str]:
    """(the JSON of the probe's last line, everything it printed); the probe must exit 0."""
    full = {**os.environ, **{v: str(tmp_path / v) for v in ("XDG_STATE_HOME", "XDG_DATA_HOME", "XDG_CONFIG_HOME")}}
    full.update(env or {})
    full.pop("DCOPS_CONFIG", None)
    out = subprocess.run(
        [sys.executable, "-c", code, *argv],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        env=full,
        stdin=subprocess.DEVNULL,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1]), out.stdout

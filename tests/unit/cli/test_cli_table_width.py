"""CLI tables fit the terminal and never cut a value in a pipe.

A terminal gets the table in its width: the narrow columns a person scans (node, state) stay whole
and the long free text gives way with "…". A pipe or a file gets every cell whole, so `dcops ... |
grep` never loses the end of a reason. Driven through a real pseudo-terminal of 100 columns."""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from dcops.actions.events import Table
from dcops.console.render import ELLIPSIS, fit_widths, table_text

ROOT = Path(__file__).resolve().parents[3]
LONG = "xid 79 on GPU 3 (fallen off the bus) after the driver reset; RMA ticket INC-4242 opened by the night shift " * 2


def test_a_terminal_table_fits_and_keeps_the_narrow_columns_whole() -> None:
    table = Table(columns=["node", "state", "reason"], rows=[["gpu001", "drained", LONG], ["gpu002", "idle", "-"]])
    lines = table_text(table, width=100).splitlines()
    assert all(len(line) <= 100 for line in lines), [len(x) for x in lines]
    assert lines[1].startswith("gpu001  drained  xid 79") and lines[1].endswith(ELLIPSIS)
    assert lines[2].split() == ["gpu002", "idle", "-"]


def test_a_pipe_gets_every_cell_whole() -> None:
    table = Table(columns=["node", "reason"], rows=[["gpu001", LONG]])
    assert LONG.strip() in table_text(table)  # the old renderer cut every cell at 60 characters


@given(
    natural=st.lists(st.integers(0, 300), min_size=1, max_size=12), budget=st.integers(0, 400), floor=st.integers(1, 12)
)
def test_fit_widths_never_exceeds_the_budget_it_can_meet(natural: list[int], budget: int, floor: int) -> None:
    floors = [min(n, floor) for n in natural]
    widths = fit_widths(natural, floors, budget)
    assert all(f <= w <= n for w, f, n in zip(widths, floors, natural))
    if sum(floors) <= budget:
        assert sum(widths) <= budget
        assert sum(widths) == min(sum(natural), budget)  # no width wasted when something was cut
    else:
        assert widths == floors  # cannot fit: every column at its floor
    for i in (k for k in range(len(natural)) if widths[k] < natural[k]):  # i was cut: nothing kept wider
        assert all(widths[j] <= max(widths[i] + 1, floors[j]) for j in range(len(natural)))  # than it (+1)


def _on_a_terminal(args: list[str], columns: int, env: dict[str, str]) -> str:
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, columns, 0, 0))
    proc = subprocess.Popen(
        [sys.executable, "-m", "dcops.console.cli", *args],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=slave,
        stderr=subprocess.DEVNULL,
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=120)
    os.close(master)
    return b"".join(chunks).decode()


def test_the_cli_fits_a_100_column_terminal_and_pipes_whole(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"} | {
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "XDG_CONFIG_HOME": str(tmp_path / "cfg"),
        "NO_COLOR": "1",
    }
    piped = subprocess.run(
        [sys.executable, "-m", "dcops.console.cli", "--demo", "run", "fleet"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert piped.returncode == 0 and max(len(x) for x in piped.stdout.splitlines()) > 100  # wide when whole
    shown = _on_a_terminal(["--demo", "run", "fleet"], 100, env).replace("\r", "").splitlines()
    table = [x for x in shown if x.startswith(("NODE", "gpu"))]
    assert len(table) > 60 and all(len(x) <= 100 for x in table), max(len(x) for x in table)
    nodes_piped = [x.split()[0] for x in piped.stdout.splitlines() if x.startswith("gpu")]
    assert [x.split()[0] for x in table if x.startswith("gpu")] == nodes_piped  # same rows, names whole
    wide = _on_a_terminal(["--demo", "run", "fleet"], 100, env | {"COLUMNS": "250"}).replace("\r", "")
    assert ELLIPSIS not in wide  # $COLUMNS wins, as in every CLI

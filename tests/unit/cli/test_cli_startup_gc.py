"""``dcops`` pauses the garbage collector while it starts (imports, pydantic schemas, config, engine:
all of it lives as long as the process) and freezes what start-up built before the command runs
(issue 16: CLI start). These prove the collector is back on for the command itself and after every
way out of ``main``, and that a caller who had it off keeps it off. Each case runs in a fresh
interpreter (``main`` as a program calls it; the module's output streams are its own)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.cli.fresh_probe import run_probe

PROBE = r"""
import gc, json, sys
from dcops.console import cli

seen = []
real = cli._dispatch

async def dispatch(*args, **kwargs):
    seen.append(gc.isenabled())
    return await real(*args, **kwargs)

cli._dispatch = dispatch
if sys.argv[1] == "off":
    gc.disable()
try:
    code = cli.main(sys.argv[2:])
except SystemExit as exc:
    code = exc.code
print(json.dumps({"exit": code, "after": gc.isenabled(), "during": seen}))
"""


def probe(tmp_path: Path, *argv: str, gc_before: str = "on") -> dict:
    return run_probe(tmp_path, PROBE, gc_before, *argv)[0]


@pytest.mark.parametrize(
    ("argv", "code"),
    [
        (["--demo", "run", "ping"], 0),
        (["--demo", "run", "no-such-action"], 2),  # a usage error
        (["--demo", "run", "drain", "gpu001"], 2),  # invalid params (no --reason)
        (["--nonsense"], 2),  # refused by the parser before anything starts
        (["--help"], 0),  # argparse exits
    ],
)
def test_the_collector_is_on_after_main_however_it_ends(tmp_path: Path, argv: list[str], code: int) -> None:
    found = probe(tmp_path, *argv)
    assert found["exit"] == code
    assert found["after"] is True


def test_the_command_itself_runs_with_the_collector_on(tmp_path: Path) -> None:
    found = probe(tmp_path, "--demo", "run", "ping")
    assert found == {"exit": 0, "after": True, "during": [True]}


def test_a_caller_that_turned_the_collector_off_keeps_it_off(tmp_path: Path) -> None:
    found = probe(tmp_path, "--demo", "run", "ping", gc_before="off")
    assert found == {"exit": 0, "after": False, "during": [False]}

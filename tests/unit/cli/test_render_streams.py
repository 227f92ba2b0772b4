"""The CLI's printers write to the streams that are current when they print, not to the ones that
were current when dcops was imported: an embedding caller (or pytest's capture) that swaps
``sys.stdout``/``sys.stderr`` later must get the output, and a stream closed since import must not be
written to ("I/O operation on closed file")."""

from __future__ import annotations

import io
import sys

import pytest

from dcops.actions.events import Error, Log
from dcops.console import cli
from dcops.console.render import EventPrinter, dump_json


def test_printer_and_dump_json_follow_swapped_streams(monkeypatch: pytest.MonkeyPatch) -> None:
    out, err = io.StringIO(), io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", err)
    printer = EventPrinter(colour=False)
    printer(Log(level="info", message="to stdout"))
    printer(Error(message="to stderr"))
    dump_json({"k": 1})
    assert out.getvalue() == 'info: to stdout\n{\n  "k": 1\n}\n'
    assert err.getvalue() == "error: to stderr\n"


def test_in_process_cli_prints_to_the_current_capture(capsys: pytest.CaptureFixture[str]) -> None:
    # capsys installs its streams after dcops was imported (at collection)
    assert cli.main(["--demo", "run", "ping"]) == 0
    captured = capsys.readouterr()
    assert "pong from demo" in captured.out
    assert "ok in" in captured.err

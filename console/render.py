"""Plain-text and machine-readable rendering of events for the CLI."""

from __future__ import annotations

import csv
import io
import json
import os
import sys
from typing import Any, TextIO

from actions.events import Error, Log, Progress, Result, RunFinished, RunStarted, Step, Table
from actions.safe_text import printable


def cell(value: Any) -> str:
    """One table cell on one line: control characters in user text are shown escaped."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, tuple)):
        return ",".join(cell(v) for v in value)
    return printable(str(value))


def table_text(table: Table, max_width: int = 60) -> str:
    rows = [[cell(v)[:max_width] for v in row] for row in table.rows]
    widths = [len(c) for c in table.columns]
    for row in rows:
        for i, v in enumerate(row):
            widths[i] = max(widths[i], len(v))
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    lines = [fmt.format(*[c.upper() for c in table.columns])]
    lines += [fmt.format(*row) for row in rows]
    return "\n".join(line.rstrip() for line in lines)


def table_csv(table: Table) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(table.columns)
    for row in table.rows:
        w.writerow([cell(v) if v is not None else "" for v in row])
    return buf.getvalue()


_COLOURS = {"ok": "32", "done": "32", "failed": "31", "error": "31", "cancelled": "33", "skipped": "2",
            "warning": "33", "interrupted": "31", "dry-run": "36", "running": "34"}


def wants_colour(stream: TextIO) -> bool:
    """Colour only for a person at a terminal: never in a pipe or a file, never with $NO_COLOR
    (https://no-color.org) set to anything, never on TERM=dumb."""
    if "NO_COLOR" in os.environ or os.environ.get("TERM") == "dumb":
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def paint(text: str, status: str, on: bool) -> str:
    code = _COLOURS.get(status)
    return f"\x1b[{code}m{text}\x1b[0m" if on and code else text


class EventPrinter:
    """Prints a run's events as lines a person reads, or as JSON lines (``--json``)."""

    def __init__(self, out: TextIO = sys.stdout, err: TextIO = sys.stderr, *, as_json: bool = False,
                 as_csv: bool = False, quiet_progress: bool = True, colour: bool | None = None) -> None:
        self.out, self.err, self.as_json, self.as_csv = out, err, as_json, as_csv
        self.quiet_progress = quiet_progress
        self.colour = (wants_colour(out) if colour is None else colour) and not as_json and not as_csv

    def __call__(self, event: Any) -> None:
        if self.as_json:
            self.out.write(event.model_dump_json() + "\n")
            self.out.flush()
            return
        if isinstance(event, RunStarted):
            return
        if isinstance(event, Step):
            if event.status != "running" or event.detail:
                self.out.write(printable(f"{event.target:<14}") + " "
                               + paint(f"{event.status:<9}", event.status, self.colour)
                               + " " + printable(event.detail) + "\n")   # escape what the data says, colour ours
        elif isinstance(event, Progress):
            if not self.quiet_progress:
                self.out.write(printable(f"[{event.done}/{event.total}] {event.label}") + "\n")
        elif isinstance(event, Log):
            stream = self.err if event.level in ("warning", "error") else self.out
            stream.write(printable(f"{event.level}: {event.message}") + "\n")
        elif isinstance(event, Result):
            if event.table is not None:
                self.out.write(table_csv(event.table) if self.as_csv else table_text(event.table) + "\n")
            if not self.as_csv:
                self.out.write(printable(event.summary) + "\n")
                for link in event.links:
                    self.out.write(printable(f"{link.label}: {link.url}") + "\n")
        elif isinstance(event, Error):
            self.err.write(paint("error", "error", self.colour) + printable(f": {event.message}") + "\n")
        elif isinstance(event, RunFinished) and not self.as_csv:
            self.err.write(f"run {event.run_id}: {paint(event.outcome, event.outcome, self.colour)} "
                           f"in {event.duration:.2f}s\n")
        self.out.flush()


def dump_json(data: Any, out: TextIO = sys.stdout) -> None:
    out.write(json.dumps(data, indent=2, default=str) + "\n")

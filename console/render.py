"""Plain-text and machine-readable rendering of events for the CLI."""

from __future__ import annotations

import csv
import io
import json
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


class EventPrinter:
    """Prints a run's events as lines a person reads, or as JSON lines (``--json``)."""

    def __init__(self, out: TextIO = sys.stdout, err: TextIO = sys.stderr, *, as_json: bool = False,
                 as_csv: bool = False, quiet_progress: bool = True) -> None:
        self.out, self.err, self.as_json, self.as_csv = out, err, as_json, as_csv
        self.quiet_progress = quiet_progress

    def __call__(self, event: Any) -> None:
        if self.as_json:
            self.out.write(event.model_dump_json() + "\n")
            self.out.flush()
            return
        if isinstance(event, RunStarted):
            return
        if isinstance(event, Step):
            if event.status != "running" or event.detail:
                self.out.write(printable(f"{event.target:<14} {event.status:<9} {event.detail}") + "\n")
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
            self.err.write(printable(f"error: {event.message}") + "\n")
        elif isinstance(event, RunFinished):
            if not self.as_csv:
                self.err.write(f"run {event.run_id}: {event.outcome} in {event.duration:.2f}s\n")
        self.out.flush()


def dump_json(data: Any, out: TextIO = sys.stdout) -> None:
    out.write(json.dumps(data, indent=2, default=str) + "\n")

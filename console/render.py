"""Plain-text and machine-readable rendering of events for the CLI."""

from __future__ import annotations

import csv
import io
import json
import os
import sys
from typing import Any, TextIO

from dcops.actions.events import Error, Log, Progress, Result, RunFinished, RunStarted, Step, Table
from dcops.actions.safe_text import printable


def cell(value: Any) -> str:
    """One table cell on one line: control characters in user text are shown escaped."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, tuple)):
        return ",".join(cell(v) for v in value)
    return printable(str(value))


ELLIPSIS = "…"
MIN_CELL = 8  # a shrunk column keeps this much so it still says something


def output_width(stream: TextIO) -> int | None:
    """How wide a table may be: ``$COLUMNS`` when set (as every CLI honours it), else the terminal's
    width; ``None`` (never cut a cell) when writing to a pipe or a file, so scripts get whole values."""
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    try:
        if stream.isatty():
            return os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, ValueError, OSError):
        pass
    return None


def fit_widths(natural: list[int], floors: list[int], budget: int) -> list[int]:
    """Column widths that fit ``budget`` characters: the widest columns give way first (one cap for
    all, found by bisection), none below its floor. Narrow columns (state, node) stay whole, which is
    what a person scans; the long free text (reason, detail) is what gets cut."""
    if sum(natural) <= budget:
        return natural

    def total(cap: int) -> int:
        return sum(min(n, max(cap, f)) for n, f in zip(natural, floors))

    lo, hi = 0, max(natural)
    while lo < hi:  # the largest cap whose total still fits
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if total(mid) <= budget else (lo, mid - 1)
    widths = [min(n, max(lo, f)) for n, f in zip(natural, floors)]
    spare = budget - sum(widths)  # fewer than the columns at the cap: one more each, widest first
    for i in sorted(range(len(widths)), key=lambda k: natural[k] - widths[k], reverse=True):
        if spare <= 0:
            break
        if natural[i] > widths[i]:
            widths[i] += 1
            spare -= 1
    return widths


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(width - 1, 0)] + ELLIPSIS


def table_text(table: Table, width: int | None = None) -> str:
    """The table as aligned columns. With ``width`` (a terminal) it fits: long cells end in "…";
    without (a pipe), every cell is whole."""
    rows = [[cell(v) for v in row] for row in table.rows]
    headers = [c.upper() for c in table.columns]
    natural = [len(h) for h in headers]
    for row in rows:
        for i, v in enumerate(row):
            natural[i] = max(natural[i], len(v))
    widths = natural
    if width is not None and table.columns:
        budget = width - 2 * (len(natural) - 1)
        values = [max((len(r[i]) for r in rows), default=0) for i in range(len(headers))]
        for floors in (
            [min(n, max(len(h), MIN_CELL)) for n, h in zip(natural, headers)],  # headers whole
            [min(n, max(min(v, 12), 3)) for n, v in zip(natural, values)],  # short values whole
            [min(n, max(min(v, MIN_CELL), 3)) for n, v in zip(natural, values)],
            [min(n, 3) for n in natural],
        ):
            if sum(floors) <= budget:
                break
        widths = fit_widths(natural, floors, budget)
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    lines = [fmt.format(*[_clip(h, w) for h, w in zip(headers, widths)])]
    lines += [fmt.format(*[_clip(v, w) for v, w in zip(row, widths)]) for row in rows]
    return "\n".join(line.rstrip() for line in lines)


def table_csv(table: Table) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(table.columns)
    for row in table.rows:
        w.writerow([cell(v) if v is not None else "" for v in row])
    return buf.getvalue()


_COLOURS = {
    "ok": "32",
    "done": "32",
    "failed": "31",
    "error": "31",
    "cancelled": "33",
    "skipped": "2",
    "warning": "33",
    "interrupted": "31",
    "dry-run": "36",
    "running": "34",
}


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

    def __init__(
        self,
        out: TextIO | None = None,
        err: TextIO | None = None,
        *,
        as_json: bool = False,
        as_csv: bool = False,
        quiet_progress: bool = False,
        colour: bool | None = None,
    ) -> None:
        # The streams are looked up per printer, not bound at import: a caller (or pytest's capture)
        # that swaps sys.stdout after dcops was imported gets its output where it expects it.
        out = sys.stdout if out is None else out
        err = sys.stderr if err is None else err
        self.out, self.err, self.as_json, self.as_csv = out, err, as_json, as_csv
        self.quiet_progress = quiet_progress
        self._last_progress: int | None = None  # one line per step forward, not one per poll
        self.colour = (wants_colour(out) if colour is None else colour) and not as_json and not as_csv
        self.width = output_width(out)

    def __call__(self, event: Any) -> None:
        if self.as_json:
            self.out.write(event.model_dump_json() + "\n")
            self.out.flush()
            return
        if isinstance(event, RunStarted):
            return
        if isinstance(event, Step):
            if event.status != "running" or event.detail:
                self.out.write(
                    printable(f"{event.target:<14}")
                    + " "
                    + paint(f"{event.status:<9}", event.status, self.colour)
                    + " "
                    + printable(event.detail)
                    + "\n"
                )  # escape what the data says, colour ours
        elif isinstance(event, Progress):  # plain lines on stderr: stdout stays the steps and the table
            if not self.quiet_progress and not self.as_csv and event.done != self._last_progress:
                self._last_progress = event.done
                self.err.write(
                    paint(printable(f"[{event.done}/{event.total}] {event.label}"), "skipped", self.colour) + "\n"
                )
                self.err.flush()
        elif isinstance(event, Log):
            stream = self.err if event.level in ("warning", "error") else self.out
            stream.write(printable(f"{event.level}: {event.message}") + "\n")
        elif isinstance(event, Result):
            if event.table is not None:
                self.out.write(table_csv(event.table) if self.as_csv else table_text(event.table, self.width) + "\n")
            if not self.as_csv:
                self.out.write(printable(event.summary) + "\n")
                for link in event.links:
                    self.out.write(printable(f"{link.label}: {link.url}") + "\n")
        elif isinstance(event, Error):
            self.err.write(paint("error", "error", self.colour) + printable(f": {event.message}") + "\n")
        elif isinstance(event, RunFinished) and not self.as_csv:
            self.err.write(
                f"run {event.run_id}: {paint(event.outcome, event.outcome, self.colour)} in {event.duration:.2f}s\n"
            )
        self.out.flush()


def dump_json(data: Any, out: TextIO | None = None) -> None:
    (sys.stdout if out is None else out).write(json.dumps(data, indent=2, default=str) + "\n")

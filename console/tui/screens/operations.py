"""Operations: this console's running and recent changes (mutating runs; the reads screens make
are not listed), each node's progress, the step log, and cancel. Runs live in the engine (``engine.runs()``); the screen polls it twice a second while
visible, which costs nothing (in-process objects) and never waits on the cluster."""

from __future__ import annotations

import time
from typing import Any

from actions.hostlists import collapse as collapse_hostlist
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Log as LogView, ProgressBar, Static

from actions import Run, registry
from actions.events import Error, Log, Result, Step
from actions.safe_text import printable

from ..bindings import operations_bindings
from ..widgets import cells
from ..widgets.vtable import Column, VirtualTable
from .base import DcopsScreen

RUN_COLUMNS = (
    Column("run_id", "RUN", 24),
    Column("action", "ACTION", 14),
    Column("principal", "BY", 14, cells.muted_cell),
    Column("targets", "TARGETS", 22),
    Column("state", "STATE", 11, cells.outcome_cell),
    Column("progress", "PROGRESS", 16),
    Column("elapsed", "TIME", 7, align="right"),
    Column("summary", "SUMMARY", 40, cells.muted_cell),
)
STEP_COLUMNS = (
    Column("target", "TARGET", 14),
    Column("status", "STATUS", 10, cells.outcome_cell),
    Column("bar", "PROGRESS", 10),
    Column("detail", "DETAIL", 60, cells.muted_cell),
)
_STEP_FRACTION = {"pending": 0.0, "running": 0.5, "ok": 1.0, "failed": 1.0, "skipped": 1.0, "cancelled": 1.0}


def _fraction(run: Run) -> float:
    if run.finished is not None:
        return 1.0
    if run.progress is not None and run.progress.total:
        return run.progress.done / run.progress.total
    if run.targets:
        return sum(_STEP_FRACTION.get(s.status, 0) for s in run.steps.values()) / len(run.targets)
    return 0.0


def run_row(run: Run, now: float) -> dict[str, Any]:
    state = run.finished.outcome if run.finished else "running"
    elapsed = run.finished.duration if run.finished else now - run.started
    return {
        "run_id": run.run_id, "action": run.action, "principal": run.principal,
        "targets": collapse_hostlist(run.targets) if run.targets else "",
        "state": state, "progress": cells.bar(_fraction(run), 10) + f" {_fraction(run):4.0%}",
        "elapsed": f"{elapsed:.0f}s", "summary": run.finished.summary if run.finished else
        (run.progress.label if run.progress else ""),
    }


class OperationsScreen(DcopsScreen):
    SCREEN_TITLE = "Operations"
    BINDINGS = operations_bindings()
    DEFAULT_CSS = """
    OperationsScreen #runs-table { height: 1fr; }
    OperationsScreen #run-detail { height: 2fr; }
    OperationsScreen #run-head { height: 1; padding: 0 1; }
    OperationsScreen ProgressBar { padding: 0 1; height: 1; }
    OperationsScreen #steps-table { width: 3fr; }
    OperationsScreen #steps-table, OperationsScreen #runs-table { overflow-x: hidden; }
    OperationsScreen #run-log { width: 2fr; border-left: solid $panel; }
    """

    def compose_body(self) -> ComposeResult:
        yield VirtualTable(RUN_COLUMNS, key="run_id", id="runs-table")
        with Vertical(id="run-detail"):
            yield Static("no run selected", id="run-head")
            yield ProgressBar(total=100, show_eta=False, id="run-progress")
            with Horizontal():
                yield VirtualTable(STEP_COLUMNS, key="target", id="steps-table")
                yield LogView(id="run-log", highlight=False)

    def on_mount(self) -> None:
        super().on_mount()
        self._shown: tuple[str, int] | None = None
        self.query_one("#runs-table", VirtualTable).focus()
        self.set_interval(0.5, self._tick)

    async def load(self) -> None:
        self._tick()

    def _tick(self) -> None:
        if not self.is_current or self.dcops.engine is None:
            return
        now = time.time()
        runs = [r for r in self.dcops.engine.runs() if r.action not in registry or registry.get(r.action).mutating]
        self.query_one("#runs-table", VirtualTable).set_rows(run_row(r, now) for r in runs)
        self._show_selected()

    def _selected_run(self) -> Run | None:
        row = self.query_one("#runs-table", VirtualTable).cursor_row
        if row is None or self.dcops.engine is None:
            return None
        return self.dcops.engine.get_run(str(row["run_id"]))

    def on_virtual_table_highlighted(self, event: VirtualTable.Highlighted) -> None:
        if event.table.id == "runs-table":
            self._show_selected()

    def _show_selected(self) -> None:
        run = self._selected_run()
        if run is None:
            return
        key = (run.run_id, len(run.history))
        if key == self._shown:
            return
        self._shown = key
        state = run.finished.outcome if run.finished else "running"
        head = Text.assemble((run.run_id, "bold"), f"  {run.action} by {run.principal}  ", (state, "bold"),
                             f"  params {run.params}")
        self.query_one("#run-head", Static).update(head)
        self.query_one("#run-progress", ProgressBar).update(progress=_fraction(run) * 100)
        steps = [{"target": t, "status": run.steps[t].status if t in run.steps else "pending",
                  "bar": cells.bar(_STEP_FRACTION.get(run.steps[t].status, 0) if t in run.steps else 0),
                  "detail": run.steps[t].detail if t in run.steps else ""} for t in run.targets]
        self.query_one("#steps-table", VirtualTable).set_rows(steps)
        log = self.query_one("#run-log", LogView)
        log.clear()
        for ev in run.history:
            if isinstance(ev, Log):
                log.write_line(printable(f"[{ev.level}] {ev.message}"))
            elif isinstance(ev, Error):
                log.write_line(printable(f"[error] {ev.message}"))
            elif isinstance(ev, Step) and ev.status in ("failed",):
                log.write_line(printable(f"[failed] {ev.target}: {ev.detail}"))
            elif isinstance(ev, Result):
                log.write_line(printable(f"[result] {ev.summary}"))

    def action_cancel_run(self) -> None:
        run = self._selected_run()
        if run is None:
            self.status("no run selected", "warning")
        elif self.dcops.engine.cancel(run):
            self.status(f"cancelling run {run.run_id} ({run.action})", "warning")
        else:
            self.status(f"run {run.run_id} is not running", "warning")

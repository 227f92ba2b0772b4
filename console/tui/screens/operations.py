"""Operations: the cluster's running and recent changes (mutating runs; the reads screens make
are not listed), each node's progress, the step log, stop and resume-the-leftovers.

This console's runs live in its engine (``engine.runs()``), polled twice a second while visible
(in-process objects: costs nothing). Runs other processes started -- the bot, another console, the
approver who ran your request -- are read from the shared audit store every few seconds, so the
requester follows a run an approver started and anyone the policy lets can stop it. ``c`` asks
first and then submits ``stop RUN`` (audited, RBAC-gated, reaches the run's own process); ``r``
offers the one step back for the nodes a stop left out of service (``resume HOSTLIST``)."""

from __future__ import annotations

import time
from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import ProgressBar, RichLog, Static

from dcops.actions import Run, registry, resume_in
from dcops.actions.events import Error, Log, Result, Step
from dcops.actions.hostlists import collapse as collapse_hostlist
from dcops.actions.safe_text import printable

from ..bindings import operations_bindings
from ..widgets import cells
from ..widgets.vtable import Column, VirtualTable
from .ask import AskDialog
from .base import DcopsScreen

SHARED_EVERY = 2.0  # seconds between reads of the shared store for other processes' runs

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
_LOGGED_STEPS = ("ok", "failed", "skipped", "cancelled")
_STEP_FRACTION = {"pending": 0.0, "running": 0.5, "ok": 1.0, "failed": 1.0, "skipped": 1.0, "cancelled": 1.0}


def _fraction(run: Run) -> float:
    if run.finished is not None:
        return 1.0
    if run.progress is not None and run.progress.total:
        return run.progress.done / run.progress.total
    if run.targets:
        return sum(_STEP_FRACTION.get(s.status, 0) for s in run.steps.values()) / len(run.targets)
    return 0.0


def run_state(run: Run) -> str:
    if run.finished:
        return run.finished.outcome
    return "planning" if run.dry_run else "running"


def step_status(run: Run, target: str) -> str:
    """A dry run changes nothing: its targets are "planned", never "running"."""
    step = run.steps.get(target)
    status = step.status if step is not None else "pending"
    if run.dry_run and status in ("pending", "running", "ok"):
        return "planned"
    return status


def leftover_resume(run: Run) -> str:
    """``resume HOSTLIST`` for the nodes a stopped run left out of service ('' when none)."""
    if run.finished is None or run.finished.outcome != "cancelled":
        return ""
    if run.finished.left_out_of_service:
        return "resume " + collapse_hostlist(run.finished.left_out_of_service)
    return resume_in(run.finished.summary)


def run_row(run: Run, now: float) -> dict[str, Any]:
    state = run_state(run)
    elapsed = run.finished.duration if run.finished else now - run.started
    return {
        "run_id": run.run_id,
        "action": run.action,
        "principal": run.principal,
        "targets": collapse_hostlist(run.targets) if run.targets else "",
        "state": state,
        "progress": cells.bar(_fraction(run), 10) + f" {_fraction(run):4.0%}",
        "elapsed": f"{elapsed:.0f}s",
        "summary": run.finished.summary if run.finished else (run.progress.label if run.progress else ""),
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
        yield VirtualTable(
            RUN_COLUMNS, key="run_id", id="runs-table", flex="summary", drop_first=("principal", "elapsed", "summary")
        )
        with Vertical(id="run-detail"):
            yield Static("no run selected", id="run-head")
            yield ProgressBar(total=100, show_eta=False, id="run-progress")
            with Horizontal():
                yield VirtualTable(STEP_COLUMNS, key="target", id="steps-table", flex="detail")
                yield RichLog(id="run-log", wrap=True, markup=False, highlight=False)  # lines wrap: all readable

    def on_mount(self) -> None:
        super().on_mount()
        self._shown: tuple[Any, ...] | None = None
        self.query_one("#runs-table", VirtualTable).focus()
        self._shared: dict[str, Run] = {}
        self.set_interval(0.5, self._tick)
        self.set_interval(SHARED_EVERY, self._read_shared)

    async def load(self) -> None:
        await self._load_shared()
        self._tick()

    def _read_shared(self) -> None:
        if self.is_current and self.dcops.engine is not None:
            self._shared_worker()

    @work(exclusive=True, group="shared-runs", exit_on_error=False)
    async def _shared_worker(self) -> None:
        async with self.dcops.guarded("reading the shared run list"):
            await self._load_shared()

    async def _load_shared(self) -> None:
        engine = self.dcops.engine
        if engine is not None:
            row = self.query_one("#runs-table", VirtualTable).cursor_row  # its steps and log, if finished
            shown = (str(row["run_id"]),) if row is not None else ()
            self._shared = {r.run_id: r for r in await engine.shared_runs(steps_of=shown)}

    def _all_runs(self) -> list[Run]:
        engine = self.dcops.engine
        local = (
            [r for r in engine.runs() if r.action not in registry or registry.get(r.action).mutating]
            if engine is not None
            else []
        )
        ids = {r.run_id for r in local}
        return sorted(
            local + [r for r in self._shared.values() if r.run_id not in ids], key=lambda r: r.started, reverse=True
        )

    def _tick(self) -> None:
        if not self.is_current or self.dcops.engine is None:
            return
        now = time.time()
        self.query_one("#runs-table", VirtualTable).set_rows(run_row(r, now) for r in self._all_runs())
        self._show_selected()

    def _selected_run(self) -> Run | None:
        row = self.query_one("#runs-table", VirtualTable).cursor_row
        if row is None or self.dcops.engine is None:
            return None
        run_id = str(row["run_id"])
        return self.dcops.engine.get_run(run_id) or self._shared.get(run_id)

    def on_virtual_table_highlighted(self, event: VirtualTable.Highlighted) -> None:
        if event.table.id == "runs-table":
            self._show_selected()
            run = self._selected_run()
            if run is not None and run.run_id in self._shared and not run.steps:
                self._shared_worker()  # a finished remote run: read its steps and log now

    def _show_selected(self) -> None:
        run = self._selected_run()
        if run is None:
            return
        # a run another process started is re-read from the store: its steps change status, not number
        key = (run.run_id, len(run.history), tuple(s.status for s in run.steps.values()), run.finished is not None)
        if key == self._shown:
            return
        self._shown = key
        head = Text.assemble(
            (run.run_id, "bold"),
            f"  {run.action} by {run.principal} via {run.channel}  ",
            (run_state(run), "bold"),
            f"  params {run.params}",
        )
        step_back = leftover_resume(run)
        if step_back:
            head.append(f"  left out of service -- r: {step_back}", style="bold")
        self.query_one("#run-head", Static).update(head)
        self.query_one("#run-progress", ProgressBar).update(progress=_fraction(run) * 100)
        steps = [
            {
                "target": t,
                "status": step_status(run, t),
                "bar": cells.bar(_STEP_FRACTION.get(run.steps[t].status, 0) if t in run.steps else 0),
                "detail": run.steps[t].detail if t in run.steps else "",
            }
            for t in run.targets
        ]
        self.query_one("#steps-table", VirtualTable).set_rows(steps)
        log = self.query_one("#run-log", RichLog)
        log.clear()
        for ev in run.history:
            if isinstance(ev, Log):
                log.write(Text(printable(f"[{ev.level}] {ev.message}")))
            elif isinstance(ev, Error):
                log.write(Text(printable(f"[error] {ev.message}")))
            elif isinstance(ev, Step) and ev.status in _LOGGED_STEPS:  # each target's end: the run's log
                log.write(Text(printable(f"[{ev.status}] {ev.target}" + (f": {ev.detail}" if ev.detail else ""))))
            elif isinstance(ev, Result):
                log.write(Text(printable(f"[result] {ev.summary}")))

    def action_cancel_run(self) -> None:
        run = self._selected_run()
        if run is None:
            self.status("no run selected", "warning")
        elif not run.active:
            self.status(f"run {run.run_id} is not running ({run_state(run)})", "warning")
        else:
            self._stop(run)

    @work(group="stop", exit_on_error=False)
    async def _stop(self, run: Run) -> None:
        done = sum(1 for s in run.steps.values() if s.status in ("ok", "failed", "skipped"))
        targets = collapse_hostlist(run.targets) if run.targets else "the cluster"
        ok = await self.app.push_screen_wait(
            AskDialog(
                f"Stop run {run.run_id}?",
                f"{run.action} of {targets} by {run.principal} ({done}/{len(run.targets)} targets handled). Nodes in "
                "the middle of it are left drained; the result lists them and r resumes them.",
                yes="Stop run",
                no="Keep running",
            )
        )
        if not ok:
            self.status(f"run {run.run_id} keeps running", "information")
            return
        if not run.active:  # it ended while the dialog was open
            self.status(f"run {run.run_id} already ended: {run_state(run)}", "warning")
            return
        await self.dcops.execute("stop", {"run": run.run_id})

    def action_resume_leftovers(self) -> None:
        run = self._selected_run()
        step_back = leftover_resume(run) if run is not None else ""
        if not step_back:
            self.status("the selected run left no nodes out of service", "warning")
            return
        self._resume(step_back)

    @work(group="stop", exit_on_error=False)
    async def _resume(self, step_back: str) -> None:
        nodes = step_back.split(" ", 1)[1]
        ok = await self.app.push_screen_wait(
            AskDialog(
                f"Return {nodes} to service?",
                f"`{step_back}` through the engine (audited); nodes a health check marked bad are refused.",
                yes="Resume nodes",
                no="Leave drained",
            )
        )
        if ok:
            await self.dcops.execute("resume", {"nodes": nodes})

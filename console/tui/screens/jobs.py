"""Jobs: an squeue-like view, filtered by user / partition / state / node, with cancel, requeue,
hold and release on the selected rows (or the row under the cursor)."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.widgets import Static

from dcops.actions.hostlists import collapse as collapse_hostlist
from dcops.actions.result_models import JobRow

from ..bindings import jobs_bindings
from ..widgets import cells
from ..widgets.tables import row_columns, row_dicts
from ..widgets.vtable import Column, VirtualTable
from .base import DcopsScreen
from .filters import ParamForm


def _nodelist_cell(value: list[str] | None, row: object) -> tuple[str, None]:
    """Show the node list as squeue does: one hostlist, not thousands of names."""
    names = list(value or [])
    return (collapse_hostlist(names) if len(names) > 1 else ",".join(names)), None


def job_columns() -> list[Column]:
    """The columns of the ``jobs`` action's declared row model, with this screen's widths and looks."""
    return row_columns(
        JobRow,
        {
            "job": (10, None, "JOBID"),
            "partition": (10, cells.muted_cell),
            "name": 22,
            "user": 10,
            "state": (10, cells.outcome_cell),
            "node_count": 5,
            "nodelist": (40, _nodelist_cell),
            "reason": (24, cells.muted_cell),
        },
    )


class JobsScreen(DcopsScreen):
    SCREEN_TITLE = "Jobs"
    RELOAD_ON_RUN = True
    AUTO_REFRESH = True
    BINDINGS = jobs_bindings()
    DEFAULT_CSS = """
    JobsScreen #jobs-summary { height: 1; padding: 0 1; color: $muted; }
    """

    def compose_body(self) -> ComposeResult:
        yield ParamForm(
            [
                ("user", "user", "e.g. alice"),
                ("partition", "partition", "e.g. gpu"),
                ("state", "state", "e.g. RUNNING"),
                ("node", "node", "e.g. gpu001"),
            ],
            id="jobs-form",
        )
        yield Static("", id="jobs-summary")
        yield VirtualTable(
            job_columns(),
            key="job",
            multi_select=True,
            id="jobs-table",
            flex="nodelist",
            drop_first=("partition", "reason", "node_count"),
        )  # narrow: Enter shows them

    @property
    def table(self) -> VirtualTable:
        return self.query_one("#jobs-table", VirtualTable)

    def on_mount(self) -> None:
        super().on_mount()
        self.table.focus()

    async def load(self) -> None:
        params = self.query_one(ParamForm).params()
        result = await self.dcops.read("jobs", params)
        if result is None or result.rows is None:
            return
        self.table.set_rows(row_dicts(result.rows))
        where = ", ".join(f"{k}={v}" for k, v in params.items()) or "all users"
        self.query_one("#jobs-summary", Static).update(f"{result.summary} ({where})")

    @on(VirtualTable.Activated, "#jobs-table")
    def _open_job(self, event: VirtualTable.Activated) -> None:
        """Enter on a job: its detail, and from there its nodes and their cables."""
        from .job import JobDetailScreen

        row = dict(event.row)
        self.app.push_screen(JobDetailScreen(row, list(row.get("nodelist") or [])))

    @on(ParamForm.Submitted)
    def _search(self) -> None:
        self.table.focus()
        self.reload()

    @work(group="job-action", exit_on_error=False)
    async def action_job(self, verb: str) -> None:
        ids = [str(k) for k in self.table.target_keys()]
        if not ids:
            self.status("no job under the cursor", "warning")
            return
        if not self.dcops.allowed(verb):
            return
        async with self.dcops.guarded(verb):
            await self.dcops.execute(verb, {"jobs": ids})

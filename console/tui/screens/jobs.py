"""Jobs: an squeue-like view, filtered by user / partition / state / node, with cancel, requeue,
hold and release on the selected rows (or the row under the cursor)."""

from __future__ import annotations

from actions.hostlists import collapse as collapse_hostlist, expand as expand_hostlist
from textual import on, work
from textual.app import ComposeResult
from textual.widgets import Static

from ..bindings import jobs_bindings
from ..widgets import cells
from ..widgets.vtable import Column, VirtualTable
from .base import DcopsScreen
from .filters import ParamForm

JOB_COLUMNS = (
    Column("job", "JOBID", 10),
    Column("partition", "PARTITION", 10, cells.muted_cell),
    Column("name", "NAME", 22),
    Column("user", "USER", 10),
    Column("state", "STATE", 10, cells.outcome_cell),
    Column("nodes", "NODES", 5, align="right"),
    Column("nodelist", "NODELIST", 40),
    Column("reason", "REASON", 24, cells.muted_cell),
)


def _squeue_row(row: dict) -> dict:
    """Show the node list as squeue does: one hostlist, not thousands of names."""
    names = [n for n in str(row.get("nodelist") or "").split(",") if n]
    if len(names) > 1:
        row["nodelist"] = collapse_hostlist(names)
    return row


class JobsScreen(DcopsScreen):
    SCREEN_TITLE = "Jobs"
    RELOAD_ON_RUN = True
    AUTO_REFRESH = True
    BINDINGS = jobs_bindings()
    DEFAULT_CSS = """
    JobsScreen #jobs-summary { height: 1; padding: 0 1; color: $muted; }
    """

    def compose_body(self) -> ComposeResult:
        yield ParamForm([("user", "user", "e.g. alice"), ("partition", "partition", "e.g. gpu"),
                         ("state", "state", "e.g. RUNNING"), ("node", "node", "e.g. gpu001")], id="jobs-form")
        yield Static("", id="jobs-summary")
        yield VirtualTable(JOB_COLUMNS, key="job", multi_select=True, id="jobs-table", flex="nodelist",
                           drop_first=("partition", "reason", "nodes"))     # narrow: Enter shows them

    @property
    def table(self) -> VirtualTable:
        return self.query_one("#jobs-table", VirtualTable)

    def on_mount(self) -> None:
        super().on_mount()
        self.table.focus()

    async def load(self) -> None:
        params = self.query_one(ParamForm).params()
        result = await self.dcops.read("jobs", params)
        if result is None or result.table is None:
            return
        table = result.table
        self.table.set_rows(_squeue_row(dict(zip(table.columns, r))) for r in table.rows)
        where = ", ".join(f"{k}={v}" for k, v in params.items()) or "all users"
        self.query_one("#jobs-summary", Static).update(f"{result.summary} ({where})")

    @on(VirtualTable.Activated, "#jobs-table")
    def _open_job(self, event: VirtualTable.Activated) -> None:
        """Enter on a job: its detail, and from there its nodes and their cables."""
        from .job import JobDetailScreen

        row = dict(event.row)
        nodes = expand_hostlist(str(row.get("nodelist") or "")) if row.get("nodelist") else []
        self.app.push_screen(JobDetailScreen(row, nodes))

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

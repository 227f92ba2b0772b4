"""The answer of a read action typed on the ``:`` line: summary, then its table (filterable).

When the answer suggests follow-ups (triage-cable: ``drain gpu023 --reason ...``, reset counters),
``f`` runs the first one through the ``:`` line -- the engine, its RBAC and its confirmation --
after a yes/no question, so the path triage -> drain is one key plus the usual confirmation."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.widgets import Static

from actions.events import Result, RunFinished
from actions.safe_text import printable

from ..bindings import result_bindings
from ..widgets.links import links_text
from ..widgets.tables import ROW_KEY, table_columns, table_rows
from ..widgets.vtable import VirtualTable
from .ask import AskDialog
from .base import DcopsScreen
from .detail import DetailScreen


class ResultScreen(DcopsScreen):
    DEFAULT_CSS = """
    ResultScreen #result-summary { height: auto; padding: 0 1; text-style: bold; }
    ResultScreen #result-summary.-failed { color: $error; }
    ResultScreen #result-links { height: auto; padding: 0 1; }
    """

    BINDINGS = result_bindings()

    def __init__(self, title: str, result: Result, finished: RunFinished) -> None:
        self.SCREEN_TITLE = f"{title} (esc back)"
        super().__init__()
        self.result, self.finished = result, finished
        data = result.data if isinstance(result.data, dict) else {}
        self.followups = [str(f) for f in data.get("followups", []) if isinstance(f, str)]

    def compose_body(self) -> ComposeResult:
        # user text in a summary: escaped, and never read as markup
        yield Static(printable(self.result.summary), id="result-summary", markup=False,
                     classes="" if self.result.ok else "-failed")
        if self.followups:
            yield Static(printable("follow-up (f runs it): " + self.followups[0]
                                   + (f"   (+{len(self.followups) - 1} more)" if len(self.followups) > 1 else "")),
                         id="result-followups", markup=False)
        if self.result.links:                 # metrics views: the nodes' Grafana dashboards ([grafana])
            yield Static(links_text(self.result.links, urls=True), id="result-links")
        if self.result.table is not None:
            yield VirtualTable(table_columns(self.result.table), key=ROW_KEY, id="result-table")

    def on_mount(self) -> None:
        super().on_mount()
        if self.result.table is not None:
            table = self.query_one(VirtualTable)
            table.set_rows(table_rows(self.result.table))
            table.focus()

    def on_virtual_table_activated(self, event: VirtualTable.Activated) -> None:
        self.app.push_screen(DetailScreen(self.SCREEN_TITLE, {k: v for k, v in event.row.items() if k != ROW_KEY}))

    def action_followup(self) -> None:
        if not self.followups:
            self.status("this result suggests no follow-up", "warning")
            return
        self._followup(self.followups[0])

    @work(group="followup", exit_on_error=False)
    async def _followup(self, command: str) -> None:
        if await self.app.push_screen_wait(AskDialog("Run the follow-up?", f":{command}", yes="Run it", no="Not now")):
            self.dcops.run_command(command)

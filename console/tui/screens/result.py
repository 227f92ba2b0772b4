"""The answer of a read action typed on the ``:`` line: summary, then its table (filterable)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Static

from actions.events import Result, RunFinished
from actions.safe_text import printable

from ..widgets.links import links_text
from ..widgets.tables import ROW_KEY, table_columns, table_rows
from ..widgets.vtable import VirtualTable
from .base import DcopsScreen
from .detail import DetailScreen


class ResultScreen(DcopsScreen):
    DEFAULT_CSS = """
    ResultScreen #result-summary { height: auto; padding: 0 1; text-style: bold; }
    ResultScreen #result-summary.-failed { color: $error; }
    ResultScreen #result-links { height: auto; padding: 0 1; }
    """

    def __init__(self, title: str, result: Result, finished: RunFinished) -> None:
        self.SCREEN_TITLE = f"{title} (esc back)"
        super().__init__()
        self.result, self.finished = result, finished

    def compose_body(self) -> ComposeResult:
        # user text in a summary: escaped, and never read as markup
        yield Static(printable(self.result.summary), id="result-summary", markup=False,
                     classes="" if self.result.ok else "-failed")
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

"""A read-only detail view of one record (audit record, approval, result row) as key: value lines."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from rich.table import Table
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from dcops.actions.safe_text import printable


def _fmt(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return json.dumps(value, indent=1, sort_keys=True, default=str)
    return "" if value is None else printable(str(value))  # a record's text never drives the terminal


class DetailScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    DetailScreen { align: center middle; }
    DetailScreen > VerticalScroll { width: 110; height: 80%; border: thick $primary; background: $surface; padding: 0 1; }
    DetailScreen .title { text-style: bold; margin: 1 0; }
    """
    BINDINGS = [("escape,q,enter", "dismiss", "close")]

    def __init__(self, title: str, record: Mapping[str, Any]) -> None:
        super().__init__()
        self.title_text, self.record = title, record

    def compose(self) -> ComposeResult:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold", no_wrap=True)
        table.add_column(overflow="fold")
        for key, value in self.record.items():
            if not str(key).startswith("_"):
                table.add_row(str(key), _fmt(value))
        with VerticalScroll():
            yield Label(self.title_text, classes="title")
            yield Static(table)
            yield Label("esc closes")

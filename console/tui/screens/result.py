"""The answer of a read action typed on the ``:`` line: summary, then its table (filterable).

When the answer suggests follow-ups (triage-cable: ``drain gpu023 --reason ...``, reset counters),
every one is listed with its key -- the action's one key on every screen (``d`` drain, ``z``
reset-counters, see ``bindings.ACTION_KEYS``), ``f`` the first -- and runs through the ``:`` line
(the engine, its RBAC and its confirmation) after a yes/no question, so the path triage -> drain is
one key plus the usual confirmation. Cells too long for their column (triage evidence: one line per
counter) are shown whole, wrapped, for the row under the cursor in a pane under the table."""

from __future__ import annotations

from typing import Any

from rich.table import Table as RichTable
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from dcops.actions import parse_command
from dcops.actions.errors import DcopsError
from dcops.actions.events import Result, RunFinished
from dcops.actions.safe_text import printable

from ..bindings import ACTION_KEYS, FOLLOWUP_KEY, result_bindings
from ..widgets.links import links_text
from ..widgets.tables import ROW_KEY, table_columns, table_rows
from ..widgets.vtable import VirtualTable
from .ask import AskDialog, ChooseDialog
from .base import DcopsScreen
from .detail import DetailScreen


class ResultScreen(DcopsScreen):
    DEFAULT_CSS = """
    ResultScreen #result-summary { height: auto; padding: 0 1; text-style: bold; }
    ResultScreen #result-summary.-failed { color: $error; }
    ResultScreen #result-links { height: auto; padding: 0 1; }
    ResultScreen #result-followups { height: auto; padding: 0 1; }
    ResultScreen #result-row { height: auto; max-height: 40%; padding: 0 1; border-top: solid $muted; }
    """

    BINDINGS = result_bindings()

    def __init__(self, title: str, result: Result, finished: RunFinished) -> None:
        self.SCREEN_TITLE = f"{title} (esc back)"
        super().__init__()
        self.result, self.finished = result, finished
        data = result.data if isinstance(result.data, dict) else {}
        self.followups = [str(f) for f in data.get("followups", []) if isinstance(f, str)]
        self.followup_keys = _keys_for(self.followups)  # key -> the follow-ups it runs
        self.long_columns = _long_columns(result)

    def compose_body(self) -> ComposeResult:
        # user text in a summary: escaped, and never read as markup
        yield Static(
            printable(self.result.summary),
            id="result-summary",
            markup=False,
            classes="" if self.result.ok else "-failed",
        )
        if self.followups:
            lines = Text("follow-ups (a key runs one, after a yes/no; the engine asks its usual confirmation):")
            for command in self.followups:
                keys = [k for k, c in self.followup_keys.items() if command in c]
                lines.append("\n  ").append(f"{'/'.join(keys) or ' ':<5}", style="bold").append(printable(command))
            yield Static(lines, id="result-followups")
        if self.result.links:  # metrics views: the nodes' Grafana dashboards ([grafana])
            yield Static(links_text(self.result.links, urls=True), id="result-links")
        if self.result.table is not None:
            yield VirtualTable(table_columns(self.result.table), key=ROW_KEY, id="result-table", flex="*")
            if self.long_columns:  # the whole of every long cell of the row under the cursor
                with VerticalScroll(id="result-row"):
                    yield Static("", id="result-row-text")

    def on_mount(self) -> None:
        super().on_mount()
        if self.result.table is not None:
            table = self.query_one(VirtualTable)
            table.set_rows(table_rows(self.result.table))
            table.focus()

    def on_virtual_table_activated(self, event: VirtualTable.Activated) -> None:
        self.app.push_screen(DetailScreen(self.SCREEN_TITLE, {k: v for k, v in event.row.items() if k != ROW_KEY}))

    @on(VirtualTable.Highlighted, "#result-table")
    def _row_moved(self, event: VirtualTable.Highlighted) -> None:
        if not self.long_columns or event.row is None:
            return
        grid = RichTable.grid(padding=(0, 2))
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column(overflow="fold")
        for name in self.long_columns:
            grid.add_row(name, printable(_cell_text(event.row.get(name))))
        self.query_one("#result-row-text", Static).update(grid)

    def action_followup(self, action: str = "") -> None:
        if not self.followups:
            self.status("this result suggests no follow-up", "warning")
            return
        commands = self.followup_keys.get(ACTION_KEYS.get(action, FOLLOWUP_KEY) if action else FOLLOWUP_KEY)
        if not commands:
            self.status(f"this result suggests no {action}", "warning")
            return
        self._followup(commands[0] if len(commands) == 1 or not action else None, commands)

    @work(group="followup", exit_on_error=False)
    async def _followup(self, command: str | None, choices: list[str]) -> None:
        if command is None:  # several follow-ups of one action (two ports to reset): pick one
            command = await self.app.push_screen_wait(ChooseDialog("Which follow-up?", choices))
            if command is None:
                return
        if await self.app.push_screen_wait(AskDialog("Run the follow-up?", f":{command}", yes="Run it", no="Not now")):
            self.dcops.run_command(command)


def _keys_for(followups: list[str]) -> dict[str, list[str]]:
    """key -> follow-ups: ``f`` the first, and each action's key every follow-up of that action (one
    runs at once; several, e.g. reset-counters of two ports, open a chooser)."""
    keys: dict[str, list[str]] = {FOLLOWUP_KEY: followups[:1]} if followups else {}
    for command in followups:
        try:
            action = parse_command(command).action
        except DcopsError:
            continue  # not a command this console can run: shown, f only if first
        key = ACTION_KEYS.get(action)
        if key is not None and key != FOLLOWUP_KEY:
            keys.setdefault(key, []).append(command)
    return keys


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return "\n".join(str(v) for v in value)
    return str(value)


def _long_columns(result: Result) -> list[str]:
    """Columns with a cell the table cannot show whole (a line break, or wider than the column cap)."""
    table = result.table
    if table is None:
        return []
    widths = {c.key: c.width for c in table_columns(table)}
    long = set()
    for row in table.rows:
        for name, value in zip(table.columns, row):
            text = _cell_text(value)
            if "\n" in text or len(text) > widths.get(name, 0):
                long.add(name)
    return [c for c in table.columns if c in long]

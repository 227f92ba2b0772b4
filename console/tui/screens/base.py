"""The frame every console screen shares: banner, body, ``/`` filter, ``:`` command line,
status line and footer, plus the hooks screens implement (``compose_body``, ``load``)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, cast

from textual import on, work
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer

from ..widgets.chrome import Banner, StatusLine
from ..widgets.prompts import CommandBar, FilterBar, GrammarSuggester
from ..widgets.vtable import VirtualTable

if TYPE_CHECKING:
    from ..app import DcopsApp


class DcopsScreen(Screen):
    """Base of the console's screens. ``load()`` (re)fetches the screen's data; it runs in a
    worker after the engine is ready, on ``ctrl+r``, and after a run of ours finishes."""

    SCREEN_TITLE = ""
    AUTO_REFRESH = False  # reload every [tui] refresh seconds while shown, and say "as of" when
    DEFAULT_CSS = """
    DcopsScreen.-production { border: heavy $production; }
    """

    @property
    def dcops(self) -> DcopsApp:
        return cast("DcopsApp", self.app)

    def compose(self) -> ComposeResult:
        yield Banner(self.SCREEN_TITLE)
        yield from self.compose_body()
        yield FilterBar(id="filter")
        yield CommandBar(id="command", suggester=GrammarSuggester(self.dcops.node_names))
        yield StatusLine(id="status")
        yield Footer()

    def compose_body(self) -> ComposeResult:
        raise NotImplementedError

    def on_mount(self) -> None:
        self.set_class(self.dcops.production, "-production")
        self.status(*self.dcops.last_message)
        self.reload()
        every = self.dcops.config.tui.refresh
        if self.AUTO_REFRESH and every > 0:
            self.set_interval(every, self._auto_reload)

    def _auto_reload(self) -> None:
        """Keep a live screen true without a key press (k9s-style); only while it is on top, and
        never piling up reloads behind a slow cluster (the load worker is exclusive)."""
        if self.is_current and not any(w.node is self and w.group == "load" and w.is_running for w in self.workers):
            self.reload()

    def on_screen_resume(self) -> None:
        self.status(*self.dcops.last_message)

    @work(exclusive=True, group="load", exit_on_error=False)
    async def reload(self) -> None:
        if await self.dcops.wait_engine() is None:
            return
        async with self.dcops.guarded(f"loading {self.SCREEN_TITLE.lower()}"):
            await self.load()
            if self.AUTO_REFRESH:
                self.query_one(Banner).as_of = datetime.now().strftime("%H:%M:%S")

    async def load(self) -> None:
        """Fetch and show this screen's data (override)."""

    # ------------------------------------------------------------------ table, filter, command line
    def main_table(self) -> VirtualTable | None:
        focused = self.focused
        if isinstance(focused, VirtualTable):
            return focused
        shown = [t for t in self.query(VirtualTable) if all(n.display for n in t.ancestors_with_self if n is not self)]
        return shown[0] if shown else None

    def open_filter(self) -> None:
        table = self.main_table()
        if table is None:
            self.status("this screen has no table to filter", "warning")
            return
        self._filter_target = table
        bar = self.query_one(FilterBar)
        bar.on_change = self._filter_changed
        bar.hint(f"filtering {table.row_count} of {table.total_count} rows")
        bar.open(table.filter_text)

    def _filter_changed(self, text: str) -> None:
        table = getattr(self, "_filter_target", None) or self.main_table()
        if table is None:
            return
        error = table.set_filter(text)
        bar = self.query_one(FilterBar)
        if error:
            bar.hint(error, error=True)
        else:
            bar.hint(f"{table.row_count} of {table.total_count} rows match")

    @on(FilterBar.Closed)
    def _prompt_closed(self, event: FilterBar.Closed) -> None:
        table = getattr(self, "_filter_target", None) or self.main_table()
        if table is not None:
            table.focus()
            if table.filter_text:
                self.status(
                    f"filter /{table.filter_text}: {table.row_count} of {table.total_count} rows (/ then esc clears)"
                )

    def open_command(self, prefill: str = "") -> None:
        self.query_one(CommandBar).open(prefill)

    @on(CommandBar.Submitted)
    def _command(self, event: CommandBar.Submitted) -> None:
        table = self.main_table()
        if table is not None:
            table.focus()
        self.dcops.run_command(event.text)

    def status(self, message: str, severity: str = "information") -> None:
        for line in self.query(StatusLine):
            line.show(message, severity)

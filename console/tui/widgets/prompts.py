"""The two prompts at the bottom of every screen: ``/`` filter and ``:`` command line.

Both are plain Inputs shown on demand (k9s style). The command line completes with the shared
grammar's :func:`actions.complete` (action names, then options and node names), so what the TUI
suggests is exactly what the parser accepts.
"""

from __future__ import annotations

from collections.abc import Callable

from textual import events, on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.suggester import Suggester
from textual.widgets import Input, Static

from dcops.actions import complete


class GrammarSuggester(Suggester):
    """Inline suggestion for the last word of a command line."""

    def __init__(self, node_names: Callable[[], list[str]]) -> None:
        super().__init__(use_cache=False, case_sensitive=True)
        self._node_names = node_names

    def candidates(self, value: str) -> list[str]:
        try:
            return complete(value, self._node_names())
        except Exception:  # noqa: BLE001 - completion must never break typing
            return []

    async def get_suggestion(self, value: str) -> str | None:
        options = self.candidates(value)
        if not options or not value:
            return None
        last = value.split(" ")[-1]
        return value[: len(value) - len(last)] + options[0]


class PromptBar(Vertical):
    """A hidden one-line prompt with a hint line above it."""

    DEFAULT_CSS = """
    PromptBar { height: auto; display: none; background: $panel; }
    PromptBar.-open { display: block; }
    PromptBar > .hint { height: 1; padding: 0 1; color: $text-muted; }
    PromptBar > .hint.-error { color: $error; text-style: bold; }
    PromptBar > Input { padding: 0 1; background: $panel; }
    """

    prefix = ""

    def __init__(self, *, id: str | None = None, suggester: Suggester | None = None) -> None:
        super().__init__(id=id)
        self._suggester = suggester

    def compose(self) -> ComposeResult:
        yield Static("", classes="hint")
        yield Input(placeholder=self.prefix, suggester=self._suggester, select_on_focus=False, compact=True)

    @property
    def input(self) -> Input:
        return self.query_one(Input)

    def hint(self, text: str, error: bool = False) -> None:
        label = self.query_one(".hint", Static)
        label.update(text, layout=False)  # one line, fixed height: no screen re-layout per key
        label.set_class(error, "-error")

    def open(self, value: str = "") -> None:
        self.add_class("-open")
        self.input.value = value
        self.input.cursor_position = len(value)
        # Focus now, not via Widget.focus() (deferred): keys typed right after ``/`` or ``:`` are
        # already queued and must land in the prompt, not trigger the table's bindings.
        self.app.set_focus(self.input)

    def close(self) -> None:
        self.remove_class("-open")


class FilterBar(PromptBar):
    """``/`` regex filter of the screen's table; ``!`` first inverts it."""

    prefix = "/ regex filter (! inverts), enter keeps it, esc clears"

    on_change: Callable[[str], None] | None = None
    """Called with the text on every keystroke. A direct call rather than a message: each
    message hop can wait for the next frame tick, and the rows must change in the same frame as
    the typed character."""

    class Closed(Message):
        def __init__(self, cleared: bool) -> None:
            super().__init__()
            self.cleared = cleared

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        event.stop()
        if self.on_change is not None:
            self.on_change(event.value)

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.close()
        self.post_message(self.Closed(cleared=False))

    def on_key(self, event: events.Key) -> None:
        if event.key == "escape":
            event.stop()
            self.input.value = ""
            if self.on_change is not None:
                self.on_change("")
            self.close()
            self.post_message(self.Closed(cleared=True))


class CommandBar(PromptBar):
    """``:`` command line in the shared grammar, with completion (tab accepts)."""

    prefix = ': command, e.g. drain gpu[001-004] --reason "xid 79" (tab completes, esc closes)'
    selection: Callable[[], str] | None = None
    """The screen's selected targets as one hostlist (the fleet sets it): ctrl+t types it, so any
    action — power, reimage, firmware-update — applies to the rows picked in the table."""

    def open(self, value: str = "") -> None:
        super().open(value)
        chosen = self.selection() if self.selection is not None else ""
        self.hint(f"selection {chosen}: ctrl+t types it" if chosen else "")

    class Submitted(Message):
        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        event.stop()
        if isinstance(self._suggester, GrammarSuggester):
            options = self._suggester.candidates(event.value) if event.value else []
            self.hint("  ".join(options[:12]) if options else "")

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value.strip()
        self.close()
        if text:
            self.post_message(self.Submitted(text))

    def on_key(self, event: events.Key) -> None:
        if event.key == "escape":
            event.stop()
            self.close()
            self.post_message(FilterBar.Closed(cleared=False))
        elif event.key == "ctrl+t" and self.selection is not None:
            event.stop()
            event.prevent_default()
            chosen = self.selection()
            if chosen:
                inp = self.input
                before = inp.value[: inp.cursor_position]
                inp.insert_text_at_cursor(("" if not before or before.endswith(" ") else " ") + chosen + " ")
        elif event.key == "tab":
            event.stop()
            event.prevent_default()
            inp = self.input
            inp.cursor_position = len(inp.value)
            inp.action_cursor_right()  # at the end of the line this accepts the suggestion

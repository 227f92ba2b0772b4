"""A yes/no question before a change that needs no typed token (stop a run, resume the nodes a
stop left drained). The buttons say what they do ("Stop run" / "Keep running"), never two
"Cancel"s; the safe answer has the focus, so a tired operator's stray Enter says no; y / n answer."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, OptionList, Static


class AskDialog(ModalScreen[bool]):
    DEFAULT_CSS = """
    AskDialog { align: center middle; }
    AskDialog > Vertical { width: 84; height: auto; border: thick $warning; background: $surface; padding: 1 2; }
    AskDialog .title { text-style: bold; }
    AskDialog .message { margin: 1 0; }
    AskDialog Horizontal { height: auto; align-horizontal: right; }
    AskDialog Button { margin-left: 2; }
    """
    BINDINGS = [("escape,n", "no", "no"), ("y", "yes", "yes")]

    def __init__(self, title: str, message: str, *, yes: str, no: str) -> None:
        super().__init__()
        self.title_text, self.message, self.yes_label, self.no_label = title, message, yes, no

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.title_text, classes="title")
            yield Static(self.message, classes="message")
            with Horizontal():
                yield Button(f"{self.no_label} (n)", id="no")
                yield Button(f"{self.yes_label} (y)", id="yes", variant="warning")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    @on(Button.Pressed, "#yes")
    def action_yes(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#no")
    def action_no(self) -> None:
        self.dismiss(False)


class ChooseDialog(ModalScreen[str | None]):
    """Pick one of a few commands (Enter), or none (esc): several follow-ups share one action's key."""

    DEFAULT_CSS = """
    ChooseDialog { align: center middle; }
    ChooseDialog > Vertical { width: 100; height: auto; border: thick $warning; background: $surface; padding: 1 2; }
    ChooseDialog OptionList { height: auto; max-height: 12; }
    """
    BINDINGS = [("escape", "none", "back")]

    def __init__(self, title: str, choices: list[str]) -> None:
        super().__init__()
        self.title_text, self.choices = title, choices

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"{self.title_text} (enter picks, esc backs out)")
            yield OptionList(*self.choices)

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.choices[event.option_index])

    def action_none(self) -> None:
        self.dismiss(None)

"""A one-question dialog (e.g. the reason for a drain or for denying an approval)."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label


class PromptDialog(ModalScreen[str | None]):
    DEFAULT_CSS = """
    PromptDialog { align: center middle; }
    PromptDialog > Vertical { width: 72; height: auto; border: thick $primary; background: $surface; padding: 1 2; }
    PromptDialog .title { text-style: bold; margin-bottom: 1; }
    """
    BINDINGS = [("escape", "cancel", "cancel")]

    def __init__(self, title: str, placeholder: str = "", value: str = "", *, required: bool = True) -> None:
        super().__init__()
        self.title_text, self.placeholder, self.value, self.required = title, placeholder, value, required

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.title_text, classes="title")
            yield Input(value=self.value, placeholder=self.placeholder)
            yield Label("enter to continue, esc to cancel")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if text or not self.required:
            self.dismiss(text)

    def action_cancel(self) -> None:
        self.dismiss(None)

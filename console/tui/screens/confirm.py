"""The confirmation dialog for destructive actions.

The engine raises :class:`ConfirmationRequired` with the token to echo (the node count) and
alternatives (the hostlist); the dialog lets the operator proceed only once the typed text
matches one of them, and returns it so the engine checks it again (the dialog is a convenience,
the engine is the guard).
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static


class ConfirmDialog(ModalScreen[str | None]):
    DEFAULT_CSS = """
    ConfirmDialog { align: center middle; }
    ConfirmDialog > Vertical { width: 84; height: auto; border: thick $error; background: $surface; padding: 1 2; }
    ConfirmDialog .title { text-style: bold; color: $error; }
    ConfirmDialog .message { margin: 1 0; }
    ConfirmDialog Horizontal { height: auto; align-horizontal: right; }
    ConfirmDialog Button { margin-left: 2; }
    """
    BINDINGS = [("escape", "cancel", "cancel")]

    def __init__(self, action: str, message: str, token: str, alternatives: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.action_name, self.message, self.token = action, message, token
        self.accepted = (token, *alternatives)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"Confirm {self.action_name}", classes="title")
            yield Static(self.message, classes="message")
            yield Label(f"Type {' or '.join(self.accepted)} to proceed:")
            yield Input(id="confirm-input", placeholder=self.token)
            with Horizontal():
                yield Button("Cancel", id="cancel")
                yield Button(f"{self.action_name.capitalize()}", id="confirm", variant="error", disabled=True)

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Changed)
    def _typed(self, event: Input.Changed) -> None:
        self.query_one("#confirm", Button).disabled = event.value.strip() not in self.accepted

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        if event.value.strip() in self.accepted:
            self.dismiss(event.value.strip())

    @on(Button.Pressed, "#confirm")
    def _confirm(self) -> None:
        self.dismiss(self.query_one(Input).value.strip())

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)

"""The typed-confirmation dialog for actions that take nodes or jobs away.

The engine raises :class:`ConfirmationRequired` with the token to echo (the node count) and
alternatives (the hostlist); the dialog lets the operator proceed only once the typed text
matches one of them, and returns it so the engine checks it again (the dialog is a convenience,
the engine is the guard). The fleet also opens it before a drain (which the engine does not count
as destructive) with a reason field, because draining the wrong rack is the classic 3 a.m. slip.
"""

from __future__ import annotations

from typing import NamedTuple

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static


_CONFIRM_LABEL = {"cancel": "Cancel jobs", "requeue": "Requeue jobs", "reset-counters": "Clear counters"}


class Confirmation(NamedTuple):
    token: str
    reason: str = ""


class ConfirmDialog(ModalScreen[Confirmation | None]):
    DEFAULT_CSS = """
    ConfirmDialog { align: center middle; }
    ConfirmDialog > Vertical { width: 84; height: auto; border: thick $error; background: $surface; padding: 1 2; }
    ConfirmDialog .title { text-style: bold; color: $error; }
    ConfirmDialog .message { margin: 1 0; }
    ConfirmDialog Horizontal { height: auto; align-horizontal: right; }
    ConfirmDialog Button { margin-left: 2; }
    """
    BINDINGS = [("escape", "cancel", "cancel")]

    def __init__(self, action: str, message: str, token: str, alternatives: tuple[str, ...] = (), *,
                 reason: str | None = None) -> None:
        super().__init__()
        self.action_name, self.message, self.token = action, message, token
        self.accepted = (token, *alternatives)
        self.ask_reason = reason is not None
        self.reason_default = reason or ""

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"Confirm {self.action_name}", classes="title")
            yield Static(self.message, classes="message")
            if self.ask_reason:
                yield Label("Reason (recorded in Slurm and the audit log):")
                yield Input(value=self.reason_default, id="reason-input", placeholder="xid 79 on GPU 3")
            yield Label(f"Type {' or '.join(self.accepted)} to proceed:")
            yield Input(id="confirm-input", placeholder=self.token)
            with Horizontal():          # buttons say what they do: never "Cancel" next to "Cancel" (job cancel)
                yield Button("Back (esc)", id="cancel")
                yield Button(_CONFIRM_LABEL.get(self.action_name, self.action_name.capitalize()), id="confirm",
                             variant="error", disabled=True)

    def on_mount(self) -> None:
        self.query_one("#reason-input" if self.ask_reason else "#confirm-input", Input).focus()

    def _ready(self) -> bool:
        typed_ok = self.query_one("#confirm-input", Input).value.strip() in self.accepted
        reason_ok = not self.ask_reason or bool(self.query_one("#reason-input", Input).value.strip())
        return typed_ok and reason_ok

    @on(Input.Changed)
    def _typed(self) -> None:
        self.query_one("#confirm", Button).disabled = not self._ready()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        if self._ready():
            self._confirm()
        elif event.input.id == "reason-input":
            self.query_one("#confirm-input", Input).focus()

    @on(Button.Pressed, "#confirm")
    def _confirm(self) -> None:
        reason = self.query_one("#reason-input", Input).value.strip() if self.ask_reason else ""
        self.dismiss(Confirmation(self.query_one("#confirm-input", Input).value.strip(), reason))

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)

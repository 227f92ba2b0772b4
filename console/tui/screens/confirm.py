"""The typed-confirmation dialog for actions that take nodes or jobs away.

The engine raises :class:`ConfirmationRequired` with the token to echo (the node count) and
alternatives (the hostlist); the dialog lets the operator proceed only once the typed text
matches one of them, and returns it so the engine checks it again (the dialog is a convenience,
the engine is the guard). The fleet also opens it before a drain (which the engine does not count
as destructive) with a reason field, because draining the wrong rack is the classic 3 a.m. slip.

With a ``recheck`` (``recheck.py``) the dialog reads the targets' state when it opens -- Confirm
stays disabled until the plan is on screen -- and again when Confirm is pressed; if the plan changed
meanwhile (a job finished, a node went down) it shows the new plan, names what changed and asks again.
"""

from __future__ import annotations

from typing import NamedTuple

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from ..recheck import Plan, Recheck

_CONFIRM_LABEL = {"cancel": "Cancel jobs", "requeue": "Requeue jobs", "reset-counters": "Clear counters"}


class Confirmation(NamedTuple):
    token: str
    reason: str = ""


class ConfirmDialog(ModalScreen[Confirmation | None]):
    DEFAULT_CSS = """
    ConfirmDialog { align: center middle; }
    ConfirmDialog > Vertical { width: 84; height: auto; border: thick $error; background: $surface; padding: 1 2; }
    ConfirmDialog .title { text-style: bold; color: $error; }
    ConfirmDialog .message { margin: 1 0 0 0; }
    ConfirmDialog #plan { margin: 1 0; color: $text; }
    ConfirmDialog #plan-changed { color: $warning; text-style: bold; display: none; }
    ConfirmDialog #plan-changed.-shown { display: block; }
    ConfirmDialog Horizontal { height: auto; align-horizontal: right; }
    ConfirmDialog Button { margin-left: 2; }
    """
    BINDINGS = [("escape", "cancel", "cancel")]

    def __init__(
        self,
        action: str,
        message: str,
        token: str,
        alternatives: tuple[str, ...] = (),
        *,
        reason: str | None = None,
        recheck: Recheck | None = None,
    ) -> None:
        super().__init__()
        self.action_name, self.message, self.token = action, message, token
        self.accepted = (token, *alternatives)
        self.ask_reason = reason is not None
        self.reason_default = reason or ""
        self.recheck = recheck
        self.plan: Plan | None = None
        self.checking = recheck is not None  # Confirm waits for the plan: nobody confirms what is not shown

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"Confirm {self.action_name}", classes="title")
            yield Static(self.message, classes="message", markup=False)
            if self.recheck is not None:
                yield Static("reading the current state… (Confirm waits for it)", id="plan", markup=False)
                yield Static("", id="plan-changed", markup=False)
            if self.ask_reason:
                yield Label("Reason (recorded in Slurm and the audit log):")
                yield Input(value=self.reason_default, id="reason-input", placeholder="xid 79 on GPU 3")
            yield Label(f"Type {' or '.join(self.accepted)} to proceed:")
            yield Input(id="confirm-input", placeholder=self.token)
            with Horizontal():  # buttons say what they do: never "Cancel" next to "Cancel" (job cancel)
                yield Button("Back (esc)", id="cancel")
                yield Button(
                    _CONFIRM_LABEL.get(self.action_name, self.action_name.capitalize()),
                    id="confirm",
                    variant="error",
                    disabled=True,
                )

    def on_mount(self) -> None:
        self.query_one("#reason-input" if self.ask_reason else "#confirm-input", Input).focus()
        if self.recheck is not None:
            self._read_plan(confirming=False)

    @work(exclusive=True, group="recheck", exit_on_error=False)
    async def _read_plan(self, *, confirming: bool) -> None:
        """Read the plan; on Confirm, proceed only if it is the plan the operator saw."""
        assert self.recheck is not None
        self.checking = True
        self._typed()
        try:
            plan = await self.recheck()
        except Exception as exc:  # noqa: BLE001 - a failed read is said, never a crash; the engine decides
            plan, note = None, f"could not re-read the current state ({type(exc).__name__}: {exc})"
        else:
            note = "could not re-read the current state (see the status line)" if plan is None else ""
        shown = self.query_one("#plan", Static)
        if plan is None:
            shown.update(note)
        elif confirming and self.plan is not None and plan.facts != self.plan.facts:
            changes = plan.changes_from(self.plan)
            self.plan = plan
            shown.update(plan.text)
            warning = self.query_one("#plan-changed", Static)
            warning.update(
                "The plan changed since this dialog opened: "
                + "; ".join(changes[:6])
                + (f" and {len(changes) - 6} more" if len(changes) > 6 else "")
                + ". Review it and confirm again."
            )
            warning.add_class("-shown")
            self.query_one("#confirm-input", Input).value = ""
            self.query_one("#confirm-input", Input).focus()
            self.checking = False
            self._typed()
            return
        else:
            self.plan = plan
            shown.update(plan.text)
        self.checking = False
        self._typed()
        if confirming:
            self._dismiss_confirmed()

    def _ready(self) -> bool:
        if self.checking:
            return False
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
        if not self._ready():
            return
        if self.recheck is not None:  # read again: confirm what is true now, not at open
            self._read_plan(confirming=True)
            return
        self._dismiss_confirmed()

    def _dismiss_confirmed(self) -> None:
        reason = self.query_one("#reason-input", Input).value.strip() if self.ask_reason else ""
        self.dismiss(Confirmation(self.query_one("#confirm-input", Input).value.strip(), reason))

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)

"""A row of labelled inputs that become an action's parameters (jobs and audit searches)."""

from __future__ import annotations

from collections.abc import Sequence

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Input, Label


class ParamForm(Horizontal):
    """``fields``: (param name, label, placeholder). Enter in any input submits the form."""

    DEFAULT_CSS = """
    ParamForm { height: 1; padding: 0 1; background: $panel; }
    ParamForm > Label { padding: 0 1 0 2; color: $muted; }
    ParamForm > Input { width: 1fr; background: $surface; }
    """

    class Submitted(Message):
        def __init__(self, form: ParamForm, params: dict[str, str]) -> None:
            super().__init__()
            self.form, self.params = form, params

        @property
        def control(self) -> ParamForm:
            return self.form

    def __init__(self, fields: Sequence[tuple[str, str, str]], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.fields = list(fields)

    def compose(self) -> ComposeResult:
        for name, label, placeholder in self.fields:
            yield Label(label)
            yield Input(placeholder=placeholder, id=f"param-{name.replace('_', '-')}", compact=True)

    def params(self) -> dict[str, str]:
        out = {}
        for name, _, _ in self.fields:
            value = self.query_one(f"#param-{name.replace('_', '-')}", Input).value.strip()
            if value:
                out[name] = value
        return out

    def set(self, **values: str) -> None:
        for name, value in values.items():
            self.query_one(f"#param-{name.replace('_', '-')}", Input).value = value

    @on(Input.Submitted)
    def _submit(self, event: Input.Submitted) -> None:
        event.stop()
        self.post_message(self.Submitted(self, self.params()))

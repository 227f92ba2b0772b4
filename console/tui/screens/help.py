"""``?`` help: the actions this principal may run (RBAC-filtered by the engine) and the keys."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from dcops.actions import command_help, registry, usage

from ..bindings import catalog

if TYPE_CHECKING:
    from ..app import DcopsApp


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 130; height: 90%; border: thick $primary; background: $surface; padding: 0 1; }
    """
    BINDINGS = [("escape,q,question_mark", "dismiss", "close")]

    listed: list[str] = []  # action names shown, in order

    def __init__(self, action: str | None = None) -> None:
        """``action``: ``:help drain`` shows that action's help (the CLI's ``help drain``) first."""
        super().__init__()
        self.action_name = action

    def compose(self) -> ComposeResult:
        app = cast("DcopsApp", self.app)
        with VerticalScroll():
            if self.action_name:
                yield Static(self._one(app, self.action_name), id="help-action")
            yield Static(self._actions(app), id="help-actions")
            yield Static(self._keys(app), id="help-keys")

    @staticmethod
    def _one(app: DcopsApp, name: str) -> Text:
        if name not in registry:
            return Text(f"no action {name!r}; the actions you may run are listed below", style="bold")
        text = Text(command_help(registry.get(name)) + "\n")
        if app.engine is not None:
            decision = app.engine.decide(app.principal, name)
            text.append(
                ("you may run it" if decision.allowed else f"not for you: {decision.reason}") + "\n", style="bold"
            )
        return text

    def _actions(self, app: DcopsApp) -> Table:
        table = Table(
            title=f"Actions {app.principal} may run on {app.cluster_name}",
            title_justify="left",
            expand=True,
            show_edge=False,
        )
        table.add_column("action", style="bold", no_wrap=True)
        table.add_column("usage", overflow="fold")
        table.add_column("what it does", overflow="fold")
        engine = app.engine
        if engine is None:
            table.add_row("-", "the engine is not open yet", "")
            return table
        self.listed = []
        for spec in engine.actions_for(app.principal):
            self.listed.append(spec.name)
            flags = " [confirm]" if spec.confirm else ""
            flags += " [approval]" if spec.approval else ""
            table.add_row(spec.name, usage(spec), spec.help + flags)
        return table

    def _keys(self, app: DcopsApp) -> Table:
        table = Table(
            title='Keys (remap with [tui] bindings: id = "keys")', title_justify="left", expand=True, show_edge=False
        )
        table.add_column("id", no_wrap=True)
        table.add_column("keys", style="bold", no_wrap=True)
        table.add_column("does")
        keymap = app.keymap_overrides
        for binding_id, binding in catalog().items():
            keys = keymap.get(binding_id, binding.key)
            table.add_row(binding_id, Text(keys), binding.description)
        return table

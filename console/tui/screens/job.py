"""One job, opened with Enter on the Jobs screen (turm / slurm-web's job view): its state, reason,
user and nodes, and the path on from it -- Enter or ``n`` opens a node's screen, ``t`` triages the
selected node's InfiniBand cable (the usual next question when a multi-node job slows down)."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, Label, Static

from ..widgets.vtable import Column, VirtualTable

FIELDS = (
    ("job", "job"),
    ("name", "name"),
    ("user", "user"),
    ("state", "state"),
    ("partition", "partition"),
    ("node_count", "nodes"),
    ("reason", "reason"),
)  # (jobs' row field, label)


class JobDetailScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    JobDetailScreen { align: center middle; }
    JobDetailScreen > Vertical { width: 100; height: 80%; border: thick $primary; background: $surface; padding: 0 1; }
    JobDetailScreen .title { text-style: bold; margin: 1 0 0 0; }
    JobDetailScreen #job-nodes { height: 1fr; }
    """
    BINDINGS = [
        Binding("escape,q", "dismiss", "close"),
        Binding("n", "open_node", "node"),
        Binding("t", "triage", "triage cable"),
    ]

    def __init__(self, row: dict[str, Any], nodes: list[str]) -> None:
        super().__init__()
        self.row, self.nodes = row, nodes

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"job {self.row.get('job')}", classes="title")
            details = Text()
            for key, label in FIELDS:
                value = self.row.get(key)
                details.append(f"{label:<10}", style="bold").append(f"{'-' if value is None else value}\n")
            yield Static(details, id="job-fields")
            yield Label(f"nodes ({len(self.nodes)}): Enter or n opens one, t triages its cable", classes="title")
            yield VirtualTable((Column("node", "NODE", 20),), key="node", id="job-nodes")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#job-nodes", VirtualTable)
        table.set_rows({"node": n} for n in self.nodes)
        table.focus()

    def _node(self) -> str | None:
        row = self.query_one("#job-nodes", VirtualTable).cursor_row
        return str(row["node"]) if row else None

    def on_virtual_table_activated(self, event: VirtualTable.Activated) -> None:
        self.action_open_node()

    def action_open_node(self) -> None:
        from .node import NodeScreen

        node = self._node()
        if node:
            self.app.push_screen(NodeScreen(node))

    def action_triage(self) -> None:
        node = self._node()
        if node:
            self.dismiss(None)
            self.app.run_command(f"triage-cable {node}")  # type: ignore[attr-defined]

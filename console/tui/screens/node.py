"""Node: one node in depth — GPU metric charts, GPUs, firmware, IB ports, jobs, and this node's
recent audit records. Each tab is one read action scoped to the node, loaded when first shown;
a tab whose action this build does not have says so instead of failing."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static, TabbedContent, TabPane
from textual_plotext import PlotextPlot

from actions import registry

from ..widgets.tables import ROW_KEY, table_columns, table_rows
from ..widgets.vtable import Column, VirtualTable
from .base import DcopsScreen
from .metrics import plot_series

_PLACEHOLDER = (Column("info", "", 60),)


def node_tabs(node: str) -> list[tuple[str, str, str, dict[str, Any]]]:
    """(tab id, title, action, params) for every tab of the node screen."""
    return [
        ("gpus", "GPUs", "gpu-health", {"nodes": node}),
        ("firmware", "Firmware", "firmware", {"nodes": node}),
        ("ib", "IB ports", "fabric-health", {"nodes": node}),
        ("jobs", "Jobs", "jobs", {"node": node}),
        ("audit", "Audit", "audit", {"node": node, "limit": "100"}),
    ]


class NodeScreen(DcopsScreen):
    RELOAD_ON_RUN = True
    DEFAULT_CSS = """
    NodeScreen #node-head { height: auto; padding: 0 1; }
    NodeScreen #node-charts { height: 14; }
    NodeScreen #node-charts PlotextPlot { height: 1fr; }
    NodeScreen .tab-summary { height: 1; padding: 0 1; color: $muted; }
    """

    def __init__(self, node: str, row: dict[str, Any] | None = None) -> None:
        self.SCREEN_TITLE = f"Node {node} (esc back)"
        super().__init__()
        self.node, self.row = node, row or {}

    def compose_body(self) -> ComposeResult:
        yield Static(self._head(), id="node-head")
        with Vertical(id="node-charts"):
            yield PlotextPlot(id="node-chart")
        with TabbedContent(id="node-tabs"):
            for tab_id, title, action, _ in node_tabs(self.node):
                with TabPane(title, id=f"tab-{tab_id}"):
                    yield Static(f"loading {action}…", classes="tab-summary", id=f"summary-{tab_id}")
                    yield VirtualTable(_PLACEHOLDER, key=ROW_KEY, id=f"table-{tab_id}")

    def _head(self) -> Text:
        r = self.row
        parts: list[Any] = [(self.node, "bold")]
        for key in ("state", "partitions", "k8s", "power", "reason"):
            if r.get(key):
                parts.append(f"  {key} {r[key]}")
        if r.get("xid"):
            parts.append(("  XID " + str(r["xid"]), "bold red"))
        return Text.assemble(*parts)

    async def load(self) -> None:
        self._chart()
        for tab_id, _, action, params in node_tabs(self.node):
            await self._load_tab(tab_id, action, params)

    @work(group="node-chart", exclusive=True, exit_on_error=False)
    async def _chart(self) -> None:
        promql = f'DCGM_FI_DEV_GPU_UTIL{{Hostname="{self.node}"}}'
        async with self.dcops.guarded("loading the GPU chart"):
            result = await self.dcops.read("query", {"promql": promql, "range": "1h"})
            data = result.data if result is not None and isinstance(result.data, dict) else {}
            series = [dict(s, labels={"gpu": "GPU " + str(s.get("labels", {}).get("gpu", "?"))})
                      for s in data.get("series") or []]
            plot_series(self.query_one("#node-chart", PlotextPlot), f"GPU utilisation % on {self.node} (1h)", series)

    async def _load_tab(self, tab_id: str, action: str, params: dict[str, Any]) -> None:
        summary = self.query_one(f"#summary-{tab_id}", Static)
        if action not in registry:
            summary.update(f"the {action} action is not available in this build")
            return
        result = await self.dcops.read(action, params)
        if result is None:
            summary.update(f"{action}: no answer (see the status line)")
            return
        summary.update(result.summary)
        if result.table is not None:
            table = self.query_one(f"#table-{tab_id}", VirtualTable)
            table.set_columns(table_columns(result.table))
            table.set_rows(table_rows(result.table))

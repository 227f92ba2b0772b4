"""Node: one node in depth — GPU metric charts, GPUs, firmware, IB ports, jobs, and this node's
recent audit records. Each tab is one read action scoped to the node, loaded when first shown;
a tab whose action this build does not have says so instead of failing."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Static, TabbedContent, TabPane
from textual_plotext import PlotextPlot

from dcops.actions import registry
from dcops.actions.events import Result, Table
from dcops.actions.result_models import PortRow
from dcops.actions.result_rows import table_of

from ..bindings import node_bindings
from ..widgets.links import links_text
from ..widgets.tables import ROW_KEY, table_columns, table_rows
from ..widgets.vtable import Column, VirtualTable
from .base import DcopsScreen
from .metrics import plot_series

_PLACEHOLDER = (Column("info", "", 60),)


def node_tabs(node: str) -> list[tuple[str, str, str, dict[str, Any]]]:
    """(tab id, title, action, params) for every tab of the node screen."""
    return [
        ("gpus", "GPUs", "gpu-health", {"nodes": node}),
        ("health", "Health", "node-health", {"nodes": node}),
        ("operators", "Operators", "gpu-operator", {"nodes": node, "all": True}),
        ("ib", "IB ports", "fabric-health", {"nodes": node}),  # every port of the node, as Health counts them
        ("firmware", "Firmware", "firmware", {"nodes": node}),
        ("power", "BMC", "power-status", {"nodes": node}),
        ("jobs", "Jobs", "jobs", {"node": node}),
        ("audit", "Audit", "audit", {"node": node, "limit": "100"}),
    ]


def only_node(result: Result, node: str) -> Table:
    """The fabric-health ports on ``node``, read from the typed rows (each knows its node), not by
    splitting the NODE:HCA:PORT text of a table cell."""
    rows = [r for r in result.rows or [] if isinstance(r, PortRow) and r.node == node]
    return table_of(PortRow, rows, result.table.title if result.table else "")


def transposed(table: Table) -> Table:
    """A one-row table as ``field / value`` lines (firmware inventories are wide, not long)."""
    row = table.rows[0]
    return Table(columns=["field", "value"], rows=[[c, v] for c, v in zip(table.columns, row)], title=table.title)


class NodeScreen(DcopsScreen):
    """``d`` / ``r`` drain and resume this node (the fleet's typed confirmation), ``[`` / ``]``
    switch tabs (shown in the footer); the Audit tab lists the changes made to the node, not the
    reads this screen makes to fill itself."""

    RELOAD_ON_RUN = True
    AUTO_REFRESH = True
    BINDINGS = node_bindings()
    DEFAULT_CSS = """
    NodeScreen #node-head { height: auto; padding: 0 1; }
    NodeScreen #node-charts { height: 14; }
    NodeScreen #node-charts PlotextPlot { height: 1fr; width: 1fr; }
    NodeScreen .tab-summary { height: 1; padding: 0 1; color: $muted; }
    NodeScreen #node-tabs { height: 1fr; }
    NodeScreen #node-tabs ContentSwitcher { height: 1fr; }
    NodeScreen #node-tabs TabPane { height: 1fr; padding: 0; }
    """

    def __init__(self, node: str, row: dict[str, Any] | None = None) -> None:
        self.SCREEN_TITLE = f"Node {node} (esc back)"
        super().__init__()
        self.node, self.row = node, row or {}

    def compose_body(self) -> ComposeResult:
        yield Static(self._head(), id="node-head")
        with Horizontal(id="node-charts"):
            yield PlotextPlot(id="chart-util")
            yield PlotextPlot(id="chart-temp")
        with TabbedContent(id="node-tabs"):
            for tab_id, title, action, _ in node_tabs(self.node):
                with TabPane(title, id=f"tab-{tab_id}"):
                    yield Static(f"loading {action}…", classes="tab-summary", id=f"summary-{tab_id}")
                    yield VirtualTable(_PLACEHOLDER, key=ROW_KEY, id=f"table-{tab_id}", flex="*")

    def _head(self) -> Text:
        r = self.row
        parts: list[Any] = [(self.node, "bold")]
        for key in ("state", "partitions", "k8s", "operators", "reason"):
            if r.get(key):
                value = r[key]
                parts.append(f"  {key} {','.join(map(str, value)) if isinstance(value, list) else value}")
        if r.get("xid"):
            parts.append(("  XID " + str(r["xid"]), "bold red"))
        grafana = self.app.config.grafana if hasattr(self.app, "config") else None
        if grafana is not None:  # [grafana] url_template: the node's dashboard, last hour
            url = grafana.url(self.node)
            parts += ["  ", (f"{grafana.label} {url}", f"underline link {url}")]
        return Text.assemble(*parts)

    async def load(self) -> None:
        self._chart()
        for tab_id, _, action, params in node_tabs(self.node):
            await self._load_tab(tab_id, action, params)

    @work(group="node-chart", exclusive=True, exit_on_error=False)
    async def _chart(self) -> None:
        for chart, metric, title in (
            ("#chart-util", "DCGM_FI_DEV_GPU_UTIL", "GPU utilisation %"),
            ("#chart-temp", "DCGM_FI_DEV_GPU_TEMP", "GPU temperature C"),
        ):
            async with self.dcops.guarded(f"loading the {title} chart"):
                promql = f'{metric}{{Hostname="{self.node}"}}'
                result = await self.dcops.read("query", {"promql": promql, "range": "1h"})
                data = result.data if result is not None and isinstance(result.data, dict) else {}
                series = [
                    dict(s, labels={"gpu": "GPU " + str(s.get("labels", {}).get("gpu", "?"))})
                    for s in data.get("series") or []
                ]
                series.sort(key=lambda s: s["labels"]["gpu"])
                plot_series(self.query_one(chart, PlotextPlot), f"{title} on {self.node} (1h)", series)

    async def _load_tab(self, tab_id: str, action: str, params: dict[str, Any]) -> None:
        summary = self.query_one(f"#summary-{tab_id}", Static)
        if action not in registry:
            summary.update(f"the {action} action is not available in this build")
            return
        result = await self.dcops.read(action, params)
        if result is None:
            summary.update(f"{action}: no answer (see the status line)")
            return
        data = result.table
        if data is not None and tab_id == "audit":  # writes only: this screen's own reads are noise
            action_col = data.columns.index("action") if "action" in data.columns else None
            if action_col is not None:
                kept = [r for r in data.rows if not _is_read(str(r[action_col]))]
                data = data.model_copy(update={"rows": kept})
                summary.update(f"{len(kept)} change record(s) for {self.node} (reads not shown)")
        elif data is not None and tab_id == "ib":
            data = only_node(result, self.node)
            summary.update(f"{len(data.rows)} port(s) of {self.node}; fabric: {result.summary}")
        elif tab_id != "audit":
            summary.update(result.summary)
        if result.links:  # Grafana links of metrics views (gpu-health, node-health)
            summary.update(Text.assemble(result.summary, "  ", links_text(result.links)))
        if data is not None and len(data.rows) == 1 and len(data.columns) > 6:
            data = transposed(data)
        found = self.query(f"#table-{tab_id}").results(VirtualTable)
        table = next(found, None)
        if data is not None and table is not None:  # None: the tab is being re-laid out; the next load fills it
            table.set_columns(table_columns(data))
            table.set_rows(table_rows(data))

    # ------------------------------------------------------------------ keys
    def _tabs(self) -> TabbedContent:
        return self.query_one("#node-tabs", TabbedContent)

    def action_tab(self, step: int) -> None:
        ids = [f"tab-{t[0]}" for t in node_tabs(self.node)]
        current = self._tabs().active
        self._tabs().active = ids[(ids.index(current) + step) % len(ids)] if current in ids else ids[0]

    @work(group="node-action", exit_on_error=False)
    async def action_drain(self) -> None:
        from .confirm import ConfirmDialog

        if not self.dcops.allowed("drain"):
            return
        from ..recheck import recheck_for

        answer = await self.app.push_screen_wait(
            ConfirmDialog(
                "drain",
                f"Drain 1 node(s) {self.node}: no new jobs start there; running jobs finish first.",
                "1",
                (self.node,),
                reason="",
                recheck=recheck_for(self.dcops, "drain", {"nodes": self.node}),
            )
        )
        if answer is None:
            self.status("drain cancelled: nothing was changed", "warning")
            return
        async with self.dcops.guarded("drain"):
            await self.dcops.execute("drain", {"nodes": self.node, "reason": answer.reason}, confirmed=answer.token)

    @work(group="node-action", exit_on_error=False)
    async def action_resume(self) -> None:
        if self.dcops.allowed("resume"):
            async with self.dcops.guarded("resume"):
                await self.dcops.execute("resume", {"nodes": self.node})


def _is_read(action: str) -> bool:
    from dcops.actions import Kind

    return action in registry and registry.get(action).kind is Kind.READ

"""Metrics: a PromQL line with a chart (textual-plotext), and canned GPU and fabric views.

Queries run through the ``query`` read action (RBAC-gated, audited); a range query's series are
plotted, an instant query's samples listed. Canned views are just PromQL the operator can read
and edit, so they teach the metric names (DCGM exporter, node_exporter InfiniBand) as well.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Button, Input, Select, Static
from textual_plotext import PlotextPlot

from dcops.actions.events import Table
from dcops.actions.hostlists import collapse as collapse_hostlist

from ..bindings import metrics_bindings
from ..widgets.tables import ROW_KEY, table_columns, table_rows
from ..widgets.vtable import Column, VirtualTable
from .base import DcopsScreen

CANNED: dict[str, str] = {
    "GPU utilisation (avg per node)": "avg by (Hostname) (DCGM_FI_DEV_GPU_UTIL)",
    "GPU temperature (hottest per node)": "max by (Hostname) (DCGM_FI_DEV_GPU_TEMP)",
    "GPU power (W, sum per node)": "sum by (Hostname) (DCGM_FI_DEV_POWER_USAGE)",
    "XID errors (last per node)": "max by (Hostname) (DCGM_FI_DEV_XID_ERRORS)",
    "IB symbol errors (rate)": "sum by (instance) (rate(node_infiniband_symbol_error_total[10m]))",
    "IB link downs (rate)": "sum by (instance) (rate(node_infiniband_link_downed_total[10m]))",
}
# Health views are actions, not PromQL: their verdicts (bad cable, lost GPU) come with reasons.
HEALTH: dict[str, str] = {
    "GPU health: flagged GPUs (gpu-health)": "gpu-health",
    "Fabric health: worst links (fabric-health)": "fabric-health",
}
METRIC_COLUMNS = (Column("series", "SERIES", 60), Column("value", "VALUE", 12, align="right"))
MAX_SERIES = 8  # more lines than this make a terminal chart unreadable; the table lists all


def plot_series(plot: PlotextPlot, title: str, series: list[dict[str, Any]]) -> None:
    plt = plot.plt
    plt.clear_data()
    plt.clear_figure()
    plt.title(title)
    for s in series[:MAX_SERIES]:
        points = s.get("points") or []
        if not points:
            continue
        xs = [datetime.fromtimestamp(p[0], UTC).strftime("%H:%M") for p in points]
        ys = [p[1] for p in points]
        labels = s.get("labels") or {}
        label = (
            labels.get("Hostname")
            or labels.get("instance")
            or labels.get("gpu")
            or ",".join(f"{k}={v}" for k, v in labels.items())
        )
        plt.date_form("H:M")
        plt.plot(xs, ys, label=str(label)[:20], marker="braille")
    plot.refresh()


class MetricsScreen(DcopsScreen):
    SCREEN_TITLE = "Metrics"
    BINDINGS = metrics_bindings()
    DEFAULT_CSS = """
    MetricsScreen #query-row { height: 3; background: $panel; }
    MetricsScreen #promql { width: 3fr; }
    MetricsScreen #range { width: 10; }
    MetricsScreen #canned { width: 42; }
    MetricsScreen #metrics-summary { height: 1; padding: 0 1; color: $muted; }
    MetricsScreen PlotextPlot { height: 2fr; }
    MetricsScreen #metrics-table { height: 1fr; }
    """

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="query-row"):
            yield Select(
                list(CANNED.items()) + [(name, f"action:{a}") for name, a in HEALTH.items()],
                prompt="canned view",
                id="canned",
                allow_blank=True,
            )
            yield Input(placeholder="PromQL, e.g. max by (Hostname) (DCGM_FI_DEV_GPU_TEMP)", id="promql")
            yield Input(
                value="1h", placeholder="range", id="range", tooltip="look-back for a chart; empty = instant query"
            )
            yield Button("Run", id="run-query")
        yield Static("pick a canned view or type PromQL, enter runs it", id="metrics-summary")
        yield PlotextPlot(id="chart")
        yield VirtualTable(METRIC_COLUMNS, key=ROW_KEY, id="metrics-table", flex="series")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#metrics-table", VirtualTable).focus()

    @on(Select.Changed, "#canned")
    def _canned(self, event: Select.Changed) -> None:
        if not isinstance(event.value, str):
            return
        if event.value.startswith("action:"):
            self._health(event.value.removeprefix("action:"))
        else:
            self.query_one("#promql", Input).value = event.value
            self.action_run_query()

    @work(group="query", exclusive=True, exit_on_error=False)
    async def _health(self, action: str) -> None:
        params: dict[str, Any] = {}
        if action == "gpu-health":
            names = self.dcops.node_names()
            params = {"nodes": collapse_hostlist(names), "flagged": True} if names else {}
        async with self.dcops.guarded(f"running {action}"):
            result = await self.dcops.read(action, params)
            if result is None:
                return
            self.query_one("#metrics-summary", Static).update(f"{action}: {result.summary}")
            plot_series(self.query_one(PlotextPlot), f"{action} has no chart: see the table", [])
            if result.table is not None:
                self._show_table(result.table)

    def _show_table(self, data: Table) -> None:
        table = self.query_one("#metrics-table", VirtualTable)
        table.set_columns(table_columns(data))
        table.set_rows(table_rows(data))

    @on(Input.Submitted)
    @on(Button.Pressed, "#run-query")
    def _submit(self) -> None:
        self.action_run_query()

    @work(group="query", exclusive=True, exit_on_error=False)
    async def action_run_query(self) -> None:
        promql = self.query_one("#promql", Input).value.strip()
        if not promql:
            self.status("type a PromQL expression or pick a canned view", "warning")
            return
        params: dict[str, Any] = {"promql": promql}
        rng = self.query_one("#range", Input).value.strip()
        if rng:
            params["range"] = rng
        async with self.dcops.guarded("running the query"):
            result = await self.dcops.read("query", params)
            if result is None:
                return
            self.query_one("#metrics-summary", Static).update(f"{result.summary}: {promql}")
            data = result.data if isinstance(result.data, dict) else {}
            plot_series(self.query_one(PlotextPlot), promql, list(data.get("series") or []))
            if result.table is not None:
                self._show_table(result.table)

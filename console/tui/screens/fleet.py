"""Fleet: every node on one screen, across Slurm, Kubernetes, BMC power, GPU and InfiniBand.

Data comes from the ``fleet`` read action (one call for the whole fleet); the table is the
virtualised :class:`VirtualTable`, so 10,000 rows filter and scroll as fast as 64. Actions apply
to the multi-selection, or to the row under the cursor when nothing is selected.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Sequence
from typing import Any

from textual import events, on, work
from textual.app import ComposeResult
from textual.widgets import Static

from dcops.actions.hostlists import collapse as collapse_hostlist
from dcops.actions.result_models import NodeRow

from ..bindings import fleet_bindings
from ..recheck import recheck_for
from ..widgets import cells
from ..widgets.prompts import CommandBar
from ..widgets.tables import row_dicts
from ..widgets.vtable import Column, PreparedRows, VirtualTable
from .base import DcopsScreen
from .confirm import ConfirmDialog

# Every column the fleet can show; a column appears when the fleet action delivers its key.
FLEET_COLUMNS: tuple[Column, ...] = (
    Column("node", "NODE", 12),
    Column("alerts", "ALERTS", 14, lambda v, row: (f"! {v}" if v else "", "bad" if v else None)),
    Column("partitions", "PARTITION", 10, cells.muted_cell),
    Column("state", "STATE", 10, cells.state_cell),
    Column("flags", "FLAGS", 10, cells.flags_cell),
    Column("jobs", "JOBS", 4, align="right"),
    Column("k8s", "K8S", 9, cells.k8s_cell),
    Column("operators", "OPERATORS", 16, cells.operators_cell),
    Column("gpu_util", "GPU UTIL", 13, cells.util_cell),
    Column("gpu_temp", "GPU TEMP", 13, cells.temp_cell),
    Column("xid", "XID", 7, cells.xid_cell),
    Column("ib_errors", "IB", 9, cells.ib_errors_cell),
    Column("reason", "REASON", 30, cells.muted_cell),
)


# At 100 columns the fleet keeps node, alerts, state, jobs, GPU util, XID, IB and the reason; these
# go first, in this order (Enter opens the node with every plane; / still searches hidden columns).
_NARROW_DROPS = ("operators", "firmware_drift", "k8s", "power", "partitions", "gpu_temp", "flags", "gpu_util")

# From this many rows on, a load runs without the cyclic garbage collector (see FleetScreen.load).
FREEZE_FROM = 2000
GC_IDLE = 0.5  # the collection after a large load waits for this long a pause in typing ...
GC_MAX_DEFER = 10.0  # ... but never longer than this after the load

# Columns only the fleet action (not Slurm's node list) knows; "-" until it answers.
_OTHER_PLANES = ("k8s", "operators", "gpu_util", "gpu_temp", "xid", "ib_errors")


def fleet_columns(sample: dict[str, Any] | None) -> list[Column]:
    if sample is None:
        return list(FLEET_COLUMNS)
    return [c for c in FLEET_COLUMNS if c.key in sample]


class FleetScreen(DcopsScreen):
    SCREEN_TITLE = "Fleet"
    RELOAD_ON_RUN = True
    AUTO_REFRESH = True
    BINDINGS = fleet_bindings()
    DEFAULT_CSS = """
    FleetScreen #fleet-summary { height: 1; padding: 0 1; color: $muted; }
    """

    def compose_body(self) -> ComposeResult:
        yield Static("loading the fleet…", id="fleet-summary")
        yield VirtualTable(
            FLEET_COLUMNS, key="node", multi_select=True, id="fleet-table", flex="reason", drop_first=_NARROW_DROPS
        )

    @property
    def table(self) -> VirtualTable:
        return self.query_one("#fleet-table", VirtualTable)

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one(CommandBar).selection = self._hostlist
        self.table.sort_by("node", reverse=False)  # before any row: the first rows come sorted
        self.table.focus()

    async def load(self) -> None:
        """Two reads: ``nodes`` (Slurm only, a fraction of a second even for 10,000 nodes) paints
        the fleet's state at once; ``fleet`` (every plane: Kubernetes, GPU metrics, fabric) fills
        in the other columns when it answers. On a reload the Slurm columns update first and the
        others keep their last values meanwhile.

        Every pass over the rows (typed rows to dicts, the join, the table's search text and sort,
        the summary) runs on a worker thread; the event loop only swaps the result in, so typing
        stays live while 10,000 rows are rebuilt (a Python thread yields the GIL every few ms)."""
        table = self.table  # the DOM is queried here, on the event loop, not on the worker thread
        # A full collection walks every tracked object: at 10,000 nodes (rows, the fleet's typed
        # answer, the table's search text) one took ~200 ms holding the GIL, five times per refresh
        # (a refresh allocates as much as is live, which is what triggers them): the keystroke
        # stalls of tests/bench/tui_fleet_prometheus.py. So a large load runs with the collector
        # off; afterwards, at the first pause in typing, its own young objects are collected once
        # (~60 ms) and what it keeps is frozen: never walked again. Rows are acyclic, so those a
        # later refresh replaces are still freed by reference counting.
        large = table.total_count >= FREEZE_FROM or len(self.dcops.node_names()) >= FREEZE_FROM
        if large:
            gc.disable()
            self._loading = True  # a collection still waiting from the last load waits for this one
        try:
            slurm = await self._slurm_rows()
            if slurm:
                prepared, summary = await asyncio.to_thread(self._slurm_first, table, table.all_rows, slurm)
                self._show(prepared, summary)
            result = await self.dcops.read("fleet", {})
            if result is None or result.rows is None:
                return
            firing = await self._firing()
            prepared, summary = await asyncio.to_thread(
                self._fleet_rows, table, result.rows, result.summary, slurm, firing
            )
            self._show(prepared, summary)
        finally:
            if large:
                # The deadline of a collection still waiting from an earlier load stands: an operator
                # typing through refresh after refresh would otherwise put it off forever, with the
                # collector off and every load's cyclic garbage kept.
                due = time.monotonic() + GC_MAX_DEFER
                self._gc_due = due if self._gc_due is None else min(self._gc_due, due)
                self._loading = False
                self._collect_when_idle()

    _gc_due: float | None = None  # when the deferred collection must run at the latest
    _loading = False  # a large load is running: no collection now (it would walk the load's objects)
    _last_key = 0.0

    def on_key(self, event: events.Key) -> None:
        self._last_key = time.monotonic()  # not handled here: the key goes on to its bindings

    def _filter_changed(self, text: str) -> None:
        self._last_key = time.monotonic()  # keys typed into the filter stop at its Input
        super()._filter_changed(text)

    def _collect_when_idle(self) -> None:
        if self._gc_due is None or self._loading:  # a load's end calls this again
            return
        now = time.monotonic()
        quiet = now - self._last_key
        if quiet < GC_IDLE and now < self._gc_due:
            self.set_timer(min(GC_IDLE - quiet, self._gc_due - now), self._collect_when_idle)
            return
        self._gc_due = None
        gc.enable()
        gc.collect(1)  # the load's garbage (cycles of HTTP exchanges, futures) is not frozen
        gc.freeze()

    def on_unmount(self) -> None:
        if self._gc_due is not None:  # never leave the process without its collector
            self._gc_due = None
            gc.enable()

    @classmethod
    def _slurm_first(
        cls, table: VirtualTable, previous: list[Any], slurm: dict[str, dict[str, Any]]
    ) -> tuple[PreparedRows, str]:
        """(worker thread) The Slurm rows, with the other planes' last values until they answer."""
        last = {r["node"]: r for r in previous}
        blank = dict.fromkeys(_OTHER_PLANES)
        rows = [{**last.get(name, blank), **row} for name, row in slurm.items()]
        return cls._prepare(table, rows, f"{len(rows)} nodes (Slurm; other planes loading…)")

    @classmethod
    def _fleet_rows(
        cls,
        table: VirtualTable,
        typed: Sequence[Any],
        summary: str,
        slurm: dict[str, dict[str, Any]],
        firing: dict[str, list[str]],
    ) -> tuple[PreparedRows, str]:
        """(worker thread) The fleet action's rows, with Slurm's flags and the firing alerts."""
        rows = [{**r, "flags": slurm[r["node"]]["flags"]} if r["node"] in slurm else r for r in row_dicts(typed)]
        if firing:
            for r in rows:
                r["alerts"] = ",".join(dict.fromkeys(firing.get(r.get("node", ""), [])))
        return cls._prepare(table, rows, summary)

    @classmethod
    def _prepare(cls, table: VirtualTable, rows: list[dict[str, Any]], summary: str) -> tuple[PreparedRows, str]:
        columns = fleet_columns(rows[0] if rows else None)
        return table.prepare(rows, columns), cls._summary(rows, summary)

    async def _firing(self) -> dict[str, list[str]]:
        """Firing alerts by node: their names go in the ALERTS column (7: the Alerts screen)."""
        if not getattr(self.dcops, "alerting", False):
            return {}
        result = await self.dcops.read("alerts", {})
        firing: dict[str, list[str]] = {}
        for a in result.data if result is not None and isinstance(result.data, list) else []:
            if a.get("node"):
                firing.setdefault(a["node"], []).append(a["alertname"])
        return firing

    async def _slurm_rows(self) -> dict[str, dict[str, Any]]:
        result = await self.dcops.read("nodes", {})
        if result is None or result.rows is None:
            return {}
        nodes = [r for r in result.rows if isinstance(r, NodeRow)]  # the nodes action's typed rows
        return {
            r.node: {
                "node": r.node,
                "partitions": r.partitions,
                "state": r.state,  # typed rows
                "flags": r.flags,
                "jobs": len(r.jobs),
                "reason": r.reason,
            }
            for r in nodes
        }

    def _show(self, prepared: PreparedRows, summary: str) -> None:
        """(event loop) Swap the prepared rows in: one call, no pass over the rows."""
        table = self.table
        table.install(prepared)
        if table.sort_column is None:
            table.sort_by("node", reverse=False)
        self.query_one("#fleet-summary", Static).update(summary, layout=False)

    @staticmethod
    def _summary(rows: list[dict[str, Any]], summary: str) -> str:
        states: dict[str, int] = {}
        for r in rows:
            s = str(r.get("state") or "?")
            states[s] = states.get(s, 0) + 1
        parts = ", ".join(f"{n} {s}" for s, n in sorted(states.items(), key=lambda kv: -kv[1]))
        head, sep, rest = summary.partition(";")  # counts belong to "N nodes", not to a trailing note
        return f"{head}: {parts}{sep}{rest}"

    @on(VirtualTable.SelectionChanged)
    def _selection(self, event: VirtualTable.SelectionChanged) -> None:
        if event.count:
            self.status(f"{event.count} node(s) selected: {self._hostlist()} (d drain, r resume, ctrl+u clears)")

    @on(VirtualTable.Activated, "#fleet-table")
    def _open(self, event: VirtualTable.Activated) -> None:
        self.action_open_node()

    def action_open_node(self) -> None:
        from .node import NodeScreen

        row = self.table.cursor_row
        if row is not None:
            self.app.push_screen(NodeScreen(str(row["node"]), dict(row)))

    def _hostlist(self) -> str:
        names = [str(k) for k in self.table.target_keys()]
        return collapse_hostlist(names) if names else ""

    @work(group="fleet-action", exit_on_error=False)
    async def action_drain(self) -> None:
        keys = self.table.target_keys()
        nodes = self._hostlist()
        if not nodes or not self.dcops.allowed("drain"):
            return
        count = str(len(keys))
        message = f"Drain {count} node(s) {nodes}: no new jobs start there; running jobs finish first."
        answer = await self.app.push_screen_wait(
            ConfirmDialog(  # the jobs shown are read now, not cached
                "drain", message, count, (nodes,), reason="", recheck=recheck_for(self.dcops, "drain", {"nodes": nodes})
            )
        )
        if answer is None:
            self.status("drain cancelled: nothing was changed", "warning")
            return
        async with self.dcops.guarded("drain"):
            await self.dcops.execute("drain", {"nodes": nodes, "reason": answer.reason}, confirmed=answer.token)

    @work(group="fleet-action", exit_on_error=False)
    async def action_resume(self) -> None:
        nodes = self._hostlist()
        if nodes and self.dcops.allowed("resume"):
            async with self.dcops.guarded("resume"):
                await self.dcops.execute("resume", {"nodes": nodes})

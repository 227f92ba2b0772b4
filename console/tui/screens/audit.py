"""Audit: search the log by time, principal, action, node and outcome (the ``audit`` action, so
the search itself is RBAC-gated and audited), open a record, and verify the hash chain.

What an on-call reader wants first is what changed: records of read actions (the screens' own
fleet and audit reads) are hidden until ``R`` shows them, and records are grouped by run (newest
run first, each run's records together). ``ctrl+f`` puts the cursor in the search form; the
placeholders say "e.g." so an empty field never looks like an active filter."""

from __future__ import annotations

from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.widgets import Input, Static

from dcops.actions import Kind, registry
from dcops.actions.safe_text import printable

from ..bindings import audit_bindings
from ..widgets import cells
from ..widgets.vtable import Column, VirtualTable
from .base import DcopsScreen
from .detail import DetailScreen
from .filters import ParamForm

AUDIT_COLUMNS = (
    Column("seq", "SEQ", 6, align="right"),
    Column("run", "RUN", 24, cells.muted_cell),
    Column("time", "TIME (UTC)", 23, cells.muted_cell),
    Column("event", "EVENT", 18, cells.outcome_cell),
    Column("principal", "PRINCIPAL", 14),
    Column("channel", "VIA", 5, cells.muted_cell),
    Column("action", "ACTION", 12),
    Column("targets", "TARGETS", 18),
    Column("outcome", "OUTCOME", 11, cells.outcome_cell),
    Column("detail", "DETAIL", 50, cells.muted_cell),
)


class AuditScreen(DcopsScreen):
    SCREEN_TITLE = "Audit"
    BINDINGS = audit_bindings()
    DEFAULT_CSS = """
    AuditScreen #chain { height: 1; padding: 0 1; }
    AuditScreen #chain.-ok { color: $success; }
    AuditScreen #chain.-broken { color: $error; text-style: bold; }
    AuditScreen #audit-summary { height: 1; padding: 0 1; color: $muted; }
    """

    def compose_body(self) -> ComposeResult:
        yield ParamForm(
            [
                ("since", "since", "e.g. 2h"),
                ("until", "until", "e.g. ISO time"),
                ("principal", "who", "e.g. unix:alice"),
                ("action", "action", "e.g. drain"),
                ("node", "node", "e.g. gpu001"),
                ("outcome", "outcome", "e.g. failed"),
            ],
            id="audit-form",
        )
        yield Static("chain: not verified yet (v)", id="chain")
        yield Static("", id="audit-summary")
        yield VirtualTable(
            AUDIT_COLUMNS,
            key="seq",
            id="audit-table",
            flex="detail",
            drop_first=("channel", "run", "seq", "outcome", "targets"),
        )  # Enter: the whole record

    @property
    def table(self) -> VirtualTable:
        return self.query_one("#audit-table", VirtualTable)

    def on_mount(self) -> None:
        super().on_mount()
        self._records: dict[Any, dict[str, Any]] = {}
        self.show_reads = False
        self.table.focus()

    async def load(self) -> None:
        await self.search()
        await self.verify(quick=True)  # from the newest seal; the whole log only on `v`

    async def search(self) -> None:
        params = self.query_one(ParamForm).params()
        result = await self.dcops.read("audit", params)
        if result is None or result.table is None:
            return
        rows = [dict(zip(result.table.columns, r)) for r in result.table.rows]
        self._records = {rec["seq"]: rec for rec in (result.data or [])}
        hidden = 0
        if not self.show_reads and not params.get("action"):  # asking for an action shows it, read or not
            kept = [r for r in rows if not _is_read(str(r.get("action", "")))]
            hidden, rows = len(rows) - len(kept), kept
        rows.sort(key=lambda r: (str(r.get("run", "")), int(r.get("seq") or 0)), reverse=True)  # grouped by run
        self.table.set_rows(rows)
        where = ", ".join(f"{k}={v}" for k, v in params.items()) or "newest run first"
        reads = (
            f"; {hidden} read record(s) hidden (R shows them)"
            if hidden
            else ("; reads shown (R hides them)" if self.show_reads else "")
        )
        self.query_one("#audit-summary", Static).update(printable(f"{result.summary} ({where}){reads}"))

    async def verify(self, quick: bool = False) -> None:
        result = await self.dcops.read("audit-verify", {"quick": True} if quick else {})
        chain = self.query_one("#chain", Static)
        if result is None:
            chain.update("chain: verification did not run")
            return
        chain.update(
            printable(
                f"chain: {result.summary}"
                + (" (v)" if isinstance(result.data, dict) and result.data.get("verified") is False else "")
            )
        )
        walked = not (isinstance(result.data, dict) and result.data.get("verified") is False)
        chain.set_class(result.ok and walked, "-ok")
        chain.set_class(not result.ok, "-broken")

    @on(ParamForm.Submitted)
    def _submitted(self) -> None:
        self.table.focus()
        self._search_worker()

    @work(group="audit", exclusive=True, exit_on_error=False)
    async def _search_worker(self) -> None:
        async with self.dcops.guarded("searching the audit log"):
            await self.search()

    def action_search(self) -> None:
        self._search_worker()

    def action_focus_form(self) -> None:
        self.query_one(ParamForm).query(Input).first().focus()

    def action_toggle_reads(self) -> None:
        self.show_reads = not self.show_reads
        self._search_worker()

    @work(group="audit-verify", exclusive=True, exit_on_error=False)
    async def action_verify(self) -> None:
        async with self.dcops.guarded("verifying the audit chain"):
            await self.verify()

    @on(VirtualTable.Activated, "#audit-table")
    def _detail(self, event: VirtualTable.Activated) -> None:
        record = self._records.get(event.row["seq"], dict(event.row))
        self.app.push_screen(DetailScreen(f"audit record #{event.row['seq']}", record))


def _is_read(action: str) -> bool:
    return action in registry and registry.get(action).kind is Kind.READ

"""Approvals: pending two-person requests; approve or deny. The engine checks the approver's RBAC
and refuses self-approval; the screen only shows its answer.

Approve shows the plan first -- the request run as a dry run by the approver (targets, batches,
affected jobs, versions: whatever the action's plan names) -- and asks "Approve and run?", as a
StackStorm inquiry shows its parameters: nobody approves a request they have not seen."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.widgets import Static

from ..bindings import approvals_bindings
from ..widgets import cells
from ..widgets.vtable import Column, VirtualTable
from .ask import AskDialog
from .base import DcopsScreen
from .detail import DetailScreen
from .prompt import PromptDialog

APPROVAL_COLUMNS = (
    Column("id", "ID", 12),
    Column("state", "STATE", 8, cells.outcome_cell),
    Column("requester", "ASKED BY", 16),
    Column("action", "ACTION", 16),
    Column("targets", "TARGETS", 24),
    Column("created", "CREATED (UTC)", 19, cells.muted_cell),
    Column("expires", "EXPIRES (UTC)", 19, cells.muted_cell),
    Column("params", "PARAMS", 40, cells.muted_cell),
)


class ApprovalsScreen(DcopsScreen):
    SCREEN_TITLE = "Approvals"
    RELOAD_ON_RUN = True
    BINDINGS = approvals_bindings()
    DEFAULT_CSS = """
    ApprovalsScreen #approvals-summary { height: 1; padding: 0 1; color: $muted; }
    """

    def compose_body(self) -> ComposeResult:
        yield Static("", id="approvals-summary")
        yield VirtualTable(
            APPROVAL_COLUMNS, key="id", id="approvals-table", flex="params", drop_first=("created", "state", "expires")
        )

    @property
    def table(self) -> VirtualTable:
        return self.query_one("#approvals-table", VirtualTable)

    def on_mount(self) -> None:
        super().on_mount()
        self.table.focus()

    async def load(self) -> None:
        from dcops.actions.hostlists import collapse as collapse_hostlist

        engine = self.dcops.engine
        if engine is None:
            return
        pending = await engine.approvals()
        self._items = {a.id: a for a in pending}
        self.table.set_rows(
            {
                "id": a.id,
                "state": a.state,
                "requester": a.requester,
                "action": a.action,
                "targets": collapse_hostlist(a.targets) if a.targets else "",
                "created": a.created[:19].replace("T", " "),
                "expires": a.expires[:19].replace("T", " "),
                "params": " ".join(f"{k}={v}" for k, v in a.params.items()),
            }
            for a in pending
        )
        self.query_one("#approvals-summary", Static).update(
            f"{len(pending)} pending request(s); a approves, x denies (you cannot approve your own)"
        )

    def _current(self) -> str | None:
        row = self.table.cursor_row
        if row is None:
            self.status("no approval request selected", "warning")
            return None
        return str(row["id"])

    @work(group="approval", exit_on_error=False)
    async def action_approve(self) -> None:
        approval_id = self._current()
        engine = self.dcops.engine
        if approval_id is None or engine is None:
            return
        item = getattr(self, "_items", {}).get(approval_id)
        if item is not None and not await self._confirm_plan(item):
            self.status(f"{approval_id} left pending", "information")
            return
        async with self.dcops.guarded(f"approving {approval_id}"):
            run = await engine.approve(approval_id, self.dcops.principal, "tui")
            self.dcops.track(run)
            self.dcops.report(f"approved {approval_id}: run {run.run_id} started ({run.action})")
        self.reload()

    async def _confirm_plan(self, item) -> bool:  # noqa: ANN001 - store.Approval
        from dcops.actions.hostlists import collapse

        plan = (
            await self.dcops.read(item.action, {**item.params, "dry_run": True})
            if "dry_run" in _fields(item.action)
            else None
        )
        lines = [
            f"{item.requester} asks to run {item.action} on "
            f"{collapse(item.targets) if item.targets else 'the cluster'}",
            "params: " + " ".join(f"{k}={v}" for k, v in item.params.items()),
        ]
        if plan is not None:
            lines.append(f"plan: {plan.summary}")
            if plan.table is not None:
                lines += ["  " + "  ".join(str(c) for c in row) for row in plan.table.rows[:8]]
                if len(plan.table.rows) > 8:
                    lines.append(f"  ... {len(plan.table.rows) - 8} more row(s): Enter on the request shows all")
        else:
            lines.append("plan: not available (see the status line)")
        answer = await self.app.push_screen_wait(
            AskDialog(f"Approve {item.id}?", "\n".join(lines), yes="Approve and run", no="Not now")
        )
        return bool(answer)

    @work(group="approval", exit_on_error=False)
    async def action_deny(self) -> None:
        approval_id = self._current()
        engine = self.dcops.engine
        if approval_id is None or engine is None:
            return
        reason = await self.app.push_screen_wait(PromptDialog(f"Deny {approval_id}: why?", placeholder="reason"))
        if reason is None:
            return
        async with self.dcops.guarded(f"denying {approval_id}"):
            await engine.deny(approval_id, self.dcops.principal, "tui", reason)
            self.dcops.report(f"denied {approval_id}: {reason}", "warning")
        self.reload()

    @on(VirtualTable.Activated, "#approvals-table")
    def _detail(self, event: VirtualTable.Activated) -> None:
        item = getattr(self, "_items", {}).get(event.row["id"])
        if item is not None:
            self.app.push_screen(DetailScreen(f"approval {item.id}", item.model_dump()))


def _fields(action: str) -> set[str]:
    from dcops.actions import registry

    return set(registry.get(action).params.model_fields) if action in registry else set()

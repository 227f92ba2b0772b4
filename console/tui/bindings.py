"""Every key binding of the console, each with a stable id, in one catalog.

Why one catalog: ``[tui] bindings`` in the config maps binding ids to keys (``{"fleet.drain" =
"D"}``) and Textual applies it through :meth:`App.set_keymap`; validating those ids and listing
them in ``?`` help both need the full set, which scattering ``BINDINGS`` over modules would hide.
"""

from __future__ import annotations

from collections.abc import Mapping

from textual.binding import Binding, BindingType

from dcops.actions.errors import ConfigError

# Mutating keys mean one thing on every screen: one key per action, wherever the action is offered
# (fleet, node, jobs, operations, alerts, a result's follow-ups). tests/tui/test_keys.py checks that
# no key bound to a change means anything else on another screen; README "Keys" lists them.
ACTION_KEYS: dict[str, str] = {
    "drain": "d",
    "resume": "r",
    "cancel": "c",
    "stop": "c",
    "requeue": "Q",
    "hold": "h",
    "release": "u",
    "validate": "v",
    "gpu-reset": "b",
    "reset-counters": "z",
    "power": "p",
    "triage-cable": "t",
}
FOLLOWUP_KEY = "f"  # the first suggestion of an alert or a result, whatever its action


def _b(id: str, key: str, action: str, description: str, *, show: bool = True, priority: bool = False) -> Binding:
    return Binding(key, action, description, show=show, priority=priority, id=id)


def app_bindings() -> list[BindingType]:
    return [
        _b("app.command", "colon", "command_line", "command"),
        _b("app.filter", "slash", "filter", "filter"),
        _b("app.help", "question_mark", "help", "help"),
        _b("app.fleet", "1", "switch_mode('fleet')", "fleet", show=False),
        _b("app.jobs", "2", "switch_mode('jobs')", "jobs", show=False),
        _b("app.operations", "3", "switch_mode('operations')", "ops", show=False),
        _b("app.audit", "4", "switch_mode('audit')", "audit", show=False),
        _b("app.approvals", "5", "switch_mode('approvals')", "approvals", show=False),
        _b("app.metrics", "6", "switch_mode('metrics')", "metrics", show=False),
        _b("app.alerts", "7", "switch_mode('alerts')", "alerts", show=False),
        _b("app.refresh", "ctrl+r", "refresh", "refresh"),
        _b("app.quit", "ctrl+q", "quit", "quit", priority=True),
        _b("app.back", "escape", "back", "back", show=False),
    ]


def table_bindings() -> list[BindingType]:
    return [
        _b("table.down", "down,j", "cursor_down", "down", show=False),
        _b("table.up", "up,k", "cursor_up", "up", show=False),
        _b("table.page_down", "pagedown", "page_down", "page down", show=False),
        _b("table.page_up", "pageup", "page_up", "page up", show=False),
        _b("table.first", "home,g", "first", "first", show=False),
        _b("table.last", "end,G", "last", "last", show=False),
        _b("table.open", "enter", "activate", "open", show=False),
        _b("table.select", "space", "toggle_select", "select", show=False),
        _b("table.select_all", "ctrl+a", "select_all", "select all", show=False),
        _b("table.clear_selection", "ctrl+u", "clear_selection", "clear selection", show=False),
        _b("table.sort", "s", "cycle_sort", "sort", show=False),
        _b("table.reverse", "S", "reverse_sort", "reverse sort", show=False),
    ]


def fleet_bindings() -> list[BindingType]:
    return [
        _b("fleet.drain", "d", "drain", "drain"),
        _b("fleet.resume", "r", "resume", "resume"),
        _b("fleet.node", "n", "open_node", "node"),
    ]


def node_bindings() -> list[BindingType]:
    return [
        _b("node.drain", "d", "drain", "drain"),
        _b("node.resume", "r", "resume", "resume"),
        _b("node.prev_tab", "left_square_bracket", "tab(-1)", "prev tab"),
        _b("node.next_tab", "right_square_bracket", "tab(1)", "next tab"),
    ]


def jobs_bindings() -> list[BindingType]:
    return [
        _b("jobs.cancel", "c", "job('cancel')", "cancel"),
        _b("jobs.requeue", "Q", "job('requeue')", "requeue"),  # not r: r resumes nodes (fleet, operations)
        _b("jobs.hold", "h", "job('hold')", "hold"),
        _b("jobs.release", "u", "job('release')", "release"),
    ]


def operations_bindings() -> list[BindingType]:
    return [
        _b("operations.cancel", "c", "cancel_run", "stop run"),
        _b("operations.resume_left", "r", "resume_leftovers", "resume left-over nodes"),  # r = resume, as on fleet
    ]


def audit_bindings() -> list[BindingType]:
    return [
        _b("audit.search", "ctrl+s", "search", "search"),
        _b("audit.verify", "V", "verify", "verify chain"),  # not v: v validates nodes (alerts)
        _b("audit.form", "ctrl+f", "focus_form", "search form"),
        _b("audit.reads", "R", "toggle_reads", "show/hide reads"),
    ]


def approvals_bindings() -> list[BindingType]:
    return [
        _b("approvals.approve", "a", "approve", "approve"),
        _b("approvals.deny", "x", "deny", "deny"),
    ]


def metrics_bindings() -> list[BindingType]:
    return [_b("metrics.run", "ctrl+s", "run_query", "run query")]


def result_bindings() -> list[BindingType]:
    """``f`` the first follow-up; each suggested action's own key (``d`` drain, ``z`` reset-counters...)
    runs the follow-up of that action (listed next to each follow-up on the result screen)."""
    keys: list[BindingType] = [_b("result.followup", FOLLOWUP_KEY, "followup('')", "run follow-up")]
    return keys + [_b(f"result.{a}", k, f"followup('{a}')", a, show=False) for a, k in _suggestion_keys().items()]


def alerts_bindings() -> list[BindingType]:
    """A key per suggested action (the same key as everywhere; listed next to each suggestion in the
    alert's pane rather than in a crowded footer), ``f`` the first suggestion."""
    keys: list[BindingType] = [
        _b(f"alerts.{a}", k, f"suggested('{a}')", a, show=False) for a, k in _suggestion_keys().items()
    ]
    return keys + [
        _b("alerts.first", FOLLOWUP_KEY, "suggested('')", "first suggestion"),
        _b("alerts.evidence", "e", "evidence", "evidence"),
        _b("alerts.all", "A", "show_all", "resolved too"),
    ]


def _suggestion_keys() -> dict[str, str]:
    """Actions an alert or a result may suggest, with their one key ("stop" is a run's, not a suggestion)."""
    return {a: k for a, k in ACTION_KEYS.items() if a != "stop"}


def catalog() -> dict[str, Binding]:
    """Every binding by id."""
    groups = (
        app_bindings(),
        table_bindings(),
        fleet_bindings(),
        jobs_bindings(),
        operations_bindings(),
        audit_bindings(),
        approvals_bindings(),
        metrics_bindings(),
        result_bindings(),
        node_bindings(),
        alerts_bindings(),
    )
    return {b.id: b for group in groups for b in group if isinstance(b, Binding) and b.id}


def keymap_from_config(bindings: Mapping[str, str]) -> dict[str, str]:
    """Check ``[tui] bindings`` against the catalog; an unknown id is a config error (a typo'd
    remap that silently does nothing is worse than a refusal to start)."""
    known = catalog()
    for binding_id, keys in bindings.items():
        if binding_id not in known:
            raise ConfigError(
                f"[tui] bindings: unknown binding id {binding_id!r}; known ids: {', '.join(sorted(known))}"
            )
        if not isinstance(keys, str) or not keys.strip():
            raise ConfigError(f'[tui] bindings: {binding_id} needs keys such as "D" or "ctrl+d"')
    return dict(bindings)

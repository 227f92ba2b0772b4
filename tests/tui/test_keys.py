"""One key, one meaning: a key bound to a change (drain, resume, gpu-reset, approve...) on any
screen means that change on every screen that binds it, and nothing else anywhere (issue 18: the
Alerts screen's ``r`` was gpu-reset while ``r`` resumes nodes on the fleet)."""

from __future__ import annotations

import re

from textual.binding import Binding

from dcops.actions import load_actions, registry
from dcops.console.tui import bindings as b
from dcops.console.tui.screens.job import JobDetailScreen

# Binding actions that change something, by the change they make (runs of a suggestion count as
# the suggested action; "first suggestion" is a meaning of its own).
_MUTATING = {
    "drain": "drain",
    "resume": "resume",
    "resume_leftovers": "resume",
    "cancel_run": "cancel",
    "approve": "approve",
    "deny": "deny",
}


def meaning(action: str) -> str | None:
    """The change a binding's action makes, or None for navigation and reads."""
    found = re.fullmatch(r"(job|suggested|followup)\('([^']*)'\)", action)
    if found:
        name = found.group(2)
        if not name:
            return "first suggestion"
        load_actions()
        return name if registry.get(name).mutating else None  # triage-cable is a read
    return _MUTATING.get(action)


def clashes(groups: dict[str, list[Binding]]) -> list[str]:
    """Keys that mean a change on one screen and anything else on another."""
    by_key: dict[str, set[tuple[str, str | None]]] = {}
    for group in groups.values():
        for binding in group:
            for key in binding.key.split(","):
                by_key.setdefault(key, set()).add((binding.action, meaning(binding.action)))
    out = []
    for key, uses in sorted(by_key.items()):
        meanings = {m for _, m in uses}
        if (None in meanings and len(meanings) > 1) or len(meanings - {None}) > 1:
            out.append(f"{key!r}: {sorted(str(m or a) for a, m in uses)}")
    return out


def screens() -> dict[str, list[Binding]]:
    return {
        "app": b.app_bindings(),
        "table": b.table_bindings(),
        "fleet": b.fleet_bindings(),
        "node": b.node_bindings(),
        "jobs": b.jobs_bindings(),
        "operations": b.operations_bindings(),
        "audit": b.audit_bindings(),
        "approvals": b.approvals_bindings(),
        "metrics": b.metrics_bindings(),
        "result": b.result_bindings(),
        "alerts": b.alerts_bindings(),
        "job": [x if isinstance(x, Binding) else Binding(*x) for x in JobDetailScreen.BINDINGS],
    }


def test_no_key_changes_meaning_for_a_change() -> None:
    assert clashes(screens()) == []


def test_the_check_catches_the_old_alerts_keys() -> None:
    """The Alerts screen as it was (r gpu-reset, c reset-counters, x first suggestion) fails the check."""
    old = screens()
    old["alerts"] = [
        Binding("r", "suggested('gpu-reset')"),
        Binding("c", "suggested('reset-counters')"),
        Binding("x", "suggested('')"),
    ]
    found = " ".join(clashes(old))
    assert "'r'" in found and "'c'" in found and "'x'" in found, found


def test_every_suggestable_action_has_its_own_key() -> None:
    keys = [k for a, k in b.ACTION_KEYS.items() if a != "stop"]
    assert len(keys) == len(set(keys))
    assert b.FOLLOWUP_KEY not in keys
    assert b.ACTION_KEYS["resume"] == "r" and b.ACTION_KEYS["gpu-reset"] != "r"


def test_alert_keys_are_in_the_remappable_catalog() -> None:
    """[tui] bindings can remap the Alerts screen's keys like any other screen's."""
    assert {"alerts.gpu-reset", "alerts.first", "result.reset-counters"} <= set(b.catalog())

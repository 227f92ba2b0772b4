"""What a confirmation is about, read again from the cluster: when the dialog opens and again when
the operator confirms.

Why: a dialog built from the screen's last refresh can show a job that finished a minute ago (issue
18), and a plan confirmed against stale state is not the plan the engine runs. The dialog asks for
a :class:`Plan` (one read action through the engine, audited like any read) before it lets anyone
confirm, and again on Confirm; when the two differ it shows the new plan, says what changed, and
asks again. The engine still decides everything on the targets it resolves itself.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from dcops.actions.hostlists import collapse as collapse_hostlist
from dcops.actions.result_models import JobRow, NodeRow

if TYPE_CHECKING:
    from .app import DcopsApp


@dataclass(frozen=True)
class Plan:
    """The state a confirmation is about: ``facts`` are compared between reads (target -> what it
    is now), ``text`` is what the dialog shows."""

    text: str
    facts: tuple[tuple[str, str], ...]

    def changes_from(self, before: Plan) -> list[str]:
        """One line per target whose state differs from ``before`` (for "the plan changed")."""
        old, new = dict(before.facts), dict(self.facts)
        return [
            f"{name}: {old.get(name, 'not there')} -> {new.get(name, 'gone')}"
            for name in sorted(old.keys() | new.keys())
            if old.get(name) != new.get(name)
        ]


Recheck = Callable[[], Awaitable[Plan | None]]

_NODE_ACTIONS = ("drain", "resume")
# Slurm job states after which there is nothing left to cancel, requeue or hold (squeue's terminal states)
_ENDED = {
    "COMPLETED",
    "CANCELLED",
    "FAILED",
    "TIMEOUT",
    "NODE_FAIL",
    "PREEMPTED",
    "OUT_OF_MEMORY",
    "BOOT_FAIL",
    "DEADLINE",
}
_JOB_ACTIONS = {"cancel": "Cancel", "requeue": "Requeue", "hold": "Hold", "release": "Release"}


def recheck_for(app: DcopsApp, action: str, params: Mapping[str, Any]) -> Recheck | None:
    """How to re-read what ``action`` with ``params`` is about, or None when there is nothing to
    re-read (the dialog then shows the engine's message as it is)."""
    if action in _NODE_ACTIONS and params.get("nodes"):
        return lambda: node_plan(app, action, str(params["nodes"]))
    if action in _JOB_ACTIONS and params.get("jobs"):
        return lambda: job_plan(app, action, [str(j) for j in params["jobs"]])
    return None


T = TypeVar("T")


def _rows(result: Any, model: type[T]) -> list[T]:
    """The read's typed rows (result_models): lists of jobs and nodes as lists, no display text to split."""
    if result is None or result.rows is None:
        return []
    return [r for r in result.rows if isinstance(r, model)]


async def node_plan(app: DcopsApp, action: str, nodes: str) -> Plan | None:
    """The nodes' Slurm state and the jobs running on them now (the ``nodes`` read)."""
    rows = _rows(await app.read("nodes", {"nodes": nodes}), NodeRow)
    if not rows:
        return None
    facts, jobs_at, states = [], {}, {}  # type: ignore[var-annotated]  # lists of row values
    for r in rows:
        name = r.node
        jobs = list(r.jobs)
        state = " ".join(p for p in (r.state, ",".join(r.flags)) if p)
        facts.append((name, f"{state or '?'}; jobs {','.join(jobs) or 'none'}"))
        states.setdefault(state or "?", []).append(name)
        for j in jobs:
            jobs_at.setdefault(j, []).append(name)
    lines = ["Now: " + "; ".join(f"{collapse_hostlist(names)} {state}" for state, names in states.items())]
    if jobs_at:
        shown = [f"{j} ({collapse_hostlist(ns)})" for j, ns in sorted(jobs_at.items())]
        lines.append(
            f"Jobs running there now ({len(shown)}): "
            + ", ".join(shown[:12])
            + (f" and {len(shown) - 12} more" if len(shown) > 12 else "")
        )
    else:
        lines.append("No jobs run there now.")
    return Plan("\n".join(lines), tuple(sorted(facts)))


async def job_plan(app: DcopsApp, action: str, ids: list[str]) -> Plan | None:
    """The jobs' state now (the ``jobs`` read): a job that finished since it was selected says so."""
    rows = {r.job: r for r in _rows(await app.read("jobs", {}), JobRow)}
    if not rows and ids:
        return None
    facts, lines = [], [f"{_JOB_ACTIONS[action]} {len(ids)} job(s):"]
    for j in ids:
        r = rows.get(j)
        if r is None:
            facts.append((j, "finished or gone"))
            lines.append(f"  {j}: no longer in the queue (finished or gone)")
        else:
            state = r.state
            facts.append((j, state))
            if (state.split() or [""])[0].upper() in _ENDED:
                lines.append(f"  {j}: already ended ({state}): nothing to {action}")
                continue
            nodes = list(r.nodelist)
            lines.append(
                f"  {j} {r.name or ''} ({r.user or '?'}): {r.state} on {collapse_hostlist(nodes) if nodes else '-'}"
            )
    return Plan("\n".join(lines), tuple(facts))

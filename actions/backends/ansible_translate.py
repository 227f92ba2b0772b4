"""ansible-runner's event dicts -> the Ansible port's events.

Only the events dcops shows are kept: a task starting, one host's result for a task, and the
recap. Everything else (verbose output, handlers' bookkeeping, ``runner_on_start`` per host) is
dropped here, so a front end never sees Ansible's raw shape.
"""

from __future__ import annotations

import difflib
from typing import Any, Literal

from .ansible_models import HostResult, HostStats, PlaybookEvent, TaskStarted

HostStatus = Literal["ok", "changed", "failed", "unreachable", "skipped"]
_HOST_STATUS: dict[str, HostStatus] = {
    "runner_on_ok": "ok",
    "runner_on_failed": "failed",
    "runner_on_unreachable": "unreachable",
    "runner_on_skipped": "skipped",
}


def _one_line(text: Any, limit: int = 300) -> str:
    lines = [line.strip() for line in str(text or "").splitlines() if line.strip()]
    line = lines[-1] if lines else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"


def failure_message(res: dict[str, Any]) -> str:
    """What went wrong, as the operator would look for it: the module's msg, else stderr, else rc."""
    for key in ("msg", "stderr", "reason", "module_stderr", "stdout"):
        if res.get(key):
            return _one_line(res[key])
    if res.get("rc") not in (None, 0):
        return f"exit status {res['rc']}"
    return ""


def diff_text(diff: Any) -> str:
    """Ansible's diff entries (``prepared`` text or before/after pairs) as one unified diff."""
    entries = diff if isinstance(diff, list) else [diff] if isinstance(diff, dict) else []
    out: list[str] = []
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        if entry.get("prepared"):
            out.append(str(entry["prepared"]).rstrip("\n"))
            continue
        before, after = entry.get("before"), entry.get("after")
        if isinstance(before, str) and isinstance(after, str) and before != after:
            out.extend(
                line.rstrip("\n")
                for line in difflib.unified_diff(
                    before.splitlines(True),
                    after.splitlines(True),
                    str(entry.get("before_header", "before")),
                    str(entry.get("after_header", "after")),
                )
            )
        elif before != after and (before is not None or after is not None):
            out.append(f"- {before}\n+ {after}")
    return "\n".join(out)


def translate(event: dict[str, Any]) -> PlaybookEvent | None:
    name = event.get("event", "")
    data = event.get("event_data") or {}
    if name == "playbook_on_task_start":
        return TaskStarted(task=str(data.get("task") or data.get("name") or "?"), play=str(data.get("play", "")))
    status: HostStatus | None = _HOST_STATUS.get(name)
    if status is None:
        return None
    res = data.get("res") or {}
    if status == "ok" and res.get("changed"):
        status = "changed"
    ignored = bool(status == "failed" and data.get("ignore_errors"))
    message = failure_message(res) if status in ("failed", "unreachable") else ""
    if status == "skipped" and res.get("skip_reason"):
        message = _one_line(res["skip_reason"])
    return HostResult(
        host=str(data.get("host", "?")),
        task=str(data.get("task", "?")),
        status=status,
        message=message,
        diff=diff_text(res.get("diff")),
        ignored=ignored,
    )


def recap(stats: dict[str, Any]) -> dict[str, HostStats]:
    """playbook_on_stats' event_data (per-counter maps of host -> n) as per-host counters."""
    keys = {
        "ok": "ok",
        "changed": "changed",
        "failures": "failed",
        "dark": "unreachable",
        "skipped": "skipped",
        "rescued": "rescued",
        "ignored": "ignored",
    }
    hosts: dict[str, dict[str, int]] = {}
    for src, dst in keys.items():
        for host, n in (stats.get(src) or {}).items():
            hosts.setdefault(str(host), {})[dst] = int(n)
    for host in stats.get("processed") or {}:
        hosts.setdefault(str(host), {})
    return {h: HostStats(**c) for h, c in sorted(hosts.items())}

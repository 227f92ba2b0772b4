"""Following one Ansible run (a playbook or an ad-hoc module) as engine events, shared by the
``playbook`` and ``ansible`` actions: a Log per task, a running Step per host result, a failed Step
as soon as a host fails or is unreachable (with Ansible's message), then one Step per host with
its recap (audited) and the result table. Ad-hoc runs have no recap event: the per-host results
are tallied instead."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from pydantic import Field, model_validator

from ..backends.ansible_models import HostResult, HostStats, PlaybookEvent, PlaybookStats, TaskStarted
from ..events import ActionEvent, Log, Result, Step
from ..hostlists import collapse
from ..registry import MutatingParams
from ..result_rows import Row


class CheckParams(MutatingParams):
    """``--check`` and ``--dry-run`` are one thing for Ansible runs: ``--check --diff``."""

    check: bool = Field(False, description="--check --diff: report what would change, change nothing (= --dry-run)")

    @model_validator(mode="after")
    def _check_is_the_dry_run(self) -> CheckParams:
        if self.check or self.dry_run:
            self.check = self.dry_run = True
            if "diff" in type(self).model_fields:
                self.diff = True
        return self


class HostRecapRow(Row):
    """One host of an Ansible run: its status and the play recap's task counts."""

    node: str
    status: str = Field(description="ok, changed, failed or unreachable")
    ok: int
    changed: int
    failed: int
    unreachable: int
    skipped: int
    detail: str = Field(description="the first error ('-' when none)")


async def follow(
    events: AsyncIterator[PlaybookEvent], hosts: list[str], *, what: str, check: bool, title: str, data: dict[str, Any]
) -> AsyncIterator[ActionEvent]:
    first_error: dict[str, str] = {}
    status: dict[str, str] = {}
    tally: dict[str, dict[str, int]] = {}
    stats: PlaybookStats | None = None
    async for ev in events:
        if isinstance(ev, TaskStarted):
            yield Log(message=f"TASK [{ev.task}]")
        elif isinstance(ev, HostResult):
            counts = tally.setdefault(ev.host, {})
            key = {"failed": "ignored" if ev.ignored else "failed"}.get(ev.status, ev.status)
            counts[key] = counts.get(key, 0) + 1
            if ev.status == "changed":
                counts["ok"] = counts.get("ok", 0) + 1
            if ev.diff:
                yield Log(message=f"{ev.host}: {ev.task}: diff\n{ev.diff}")
            if ev.status in ("failed", "unreachable") and not ev.ignored:
                if ev.host not in first_error:
                    first_error[ev.host] = f"{ev.status}: {ev.task}: {ev.message}"
                    status[ev.host] = ev.status
                    yield Step(target=ev.host, status="failed", detail=first_error[ev.host], keep=False)
            elif ev.host not in first_error:
                yield Step(target=ev.host, status="running", detail=f"{ev.task}: {ev.status}", keep=False)
        elif isinstance(ev, PlaybookStats):
            stats = ev
    if stats is None or (not stats.hosts and not tally):
        why = (stats.error if stats is not None else "") or "no result from Ansible"
        yield Result(summary=f"{what} did not run: {why}", ok=False)
        return
    recap = stats.hosts or {h: HostStats(**c) for h, c in tally.items()}
    rows: list[HostRecapRow] = []
    per_host: list[dict[str, Any]] = []
    for host in hosts:
        s = recap.get(host)
        if s is None:
            state, detail = "failed", first_error.get(host, "no result from Ansible for this host")
        elif s.unreachable or status.get(host) == "unreachable":
            state, detail = "unreachable", first_error.get(host, "")
        elif s.failed or host in first_error:
            state, detail = "failed", first_error.get(host, "")
        else:
            state, detail = ("changed" if s.changed else "ok"), ""
        counters = s.model_dump() if s is not None else {}
        yield Step(
            target=host,
            status="failed" if state in ("failed", "unreachable") else "ok",
            detail=detail or f"ok={counters.get('ok', 0)} changed={counters.get('changed', 0)}",
        )
        rows.append(
            HostRecapRow(
                node=host,
                status=state,
                ok=counters.get("ok", 0),
                changed=counters.get("changed", 0),
                failed=counters.get("failed", 0),
                unreachable=counters.get("unreachable", 0),
                skipped=counters.get("skipped", 0),
                detail=detail or "-",
            )
        )
        per_host.append({"node": host, "status": state, **counters, "detail": detail})
    failed = [r.node for r in rows if r.status == "failed"]
    unreachable = [r.node for r in rows if r.status == "unreachable"]
    changed = sum(1 for r in rows if r.status == "changed")
    parts = [f"{len(rows) - len(failed) - len(unreachable)} ok ({changed} {'would change' if check else 'changed'})"]
    if failed:
        parts.append(f"{len(failed)} failed: {collapse(failed)}")
    if unreachable:
        parts.append(f"{len(unreachable)} unreachable: {collapse(unreachable)}")
    yield Result(
        summary=f"{what}{' (check)' if check else ''} on {len(rows)} node(s): " + "; ".join(parts),
        ok=not failed and not unreachable,
        rows=rows,
        row_model=HostRecapRow,
        title=title,
        data={**data, "hosts": per_host},
    )

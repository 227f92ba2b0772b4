"""``stop RUN_ID``: stop a running change from any console, the CLI or Slack.

A run lives in the process that started it (a TUI, the bot, a CLI); another process cannot
cancel its task. So a stop is a request written into the shared store (the run's journal), and
the engine running the run watches for it and cancels the run, which then settles: every target
gets a final state and the nodes it left out of service are named (:mod:`dcops.actions.settle`).
Being an action, a stop is RBAC-gated and audited like any other request: the requester and the
approver may stop their own run, anyone else needs the policy's ``stop`` permission.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime

from pydantic import Field

from ..context import ActionContext
from ..errors import NotFound, UsageError
from ..events import ActionEvent, Log, Result
from ..registry import Kind, MutatingParams, TargetKind, action
from ..run import STOP_KEY
from ..store.base import AuditQuery

WAIT_FOR_STOP = 30.0  # seconds to wait for the run's process to confirm the stop


class StopParams(MutatingParams):
    run: str = Field(..., min_length=1, max_length=64, description="the run id to stop (Operations screen, audit list)")


@action(
    "stop",
    example="stop r20260101-000000-000000",
    help="stop a running change (any console's); "
    "every target ends in a final state and the nodes left out of service are named",
    params=StopParams,
    kind=Kind.WRITE,
    targets=TargetKind.NONE,
    positional=("run",),
    lock=False,
    category="runs",
)
async def stop(ctx: ActionContext, p: StopParams) -> AsyncIterator[ActionEvent]:
    started = await ctx.store.query(AuditQuery(run_id=p.run, event="started", limit=1))
    if not started:
        raise NotFound(f"no run {p.run!r} in the audit log (the Operations screen lists the running ones)")
    rec = started[0]
    if rec.run_id == ctx.run_id:
        raise UsageError("a stop cannot stop itself")
    finished = await ctx.store.query(AuditQuery(run_id=p.run, event="finished", limit=1))
    if finished:
        yield Result(
            summary=f"run {p.run} ({rec.action}) already ended: {finished[0].outcome}",
            ok=True,
            data={"run": p.run, "outcome": finished[0].outcome},
        )
        return
    if ctx.dry_run:
        yield Result(summary=f"would stop run {p.run}: {rec.action} by {rec.principal}", data={"run": p.run})
        return
    await ctx.store.journal_put(
        p.run,
        STOP_KEY,
        {
            "run": p.run,
            "by": ctx.principal,
            "channel": ctx.channel,
            "ts": datetime.now(UTC).isoformat(),
            "stop_run": ctx.run_id,
        },
    )
    yield Log(message=f"stop of {p.run} ({rec.action} by {rec.principal}) requested; waiting for its process")
    deadline = time.monotonic() + WAIT_FOR_STOP
    while time.monotonic() < deadline:
        finished = await ctx.store.query(AuditQuery(run_id=p.run, event="finished", limit=1))
        if finished:
            f = finished[0]
            yield Result(
                summary=f"run {p.run} {f.outcome}: {f.detail or f.error or ''}".rstrip(": "),
                ok=True,
                data={"run": p.run, "outcome": f.outcome, "detail": f.detail},
            )
            return
        await asyncio.sleep(0.3)
    yield Result(
        summary=f"stop of {p.run} requested; its process has not confirmed it within {WAIT_FOR_STOP:.0f}s "
        "(it stops at its next check; the audit log will show the outcome)",
        ok=True,
        data={"run": p.run},
    )

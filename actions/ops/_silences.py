"""Alertmanager silences around maintenance: ``drain --silence`` (and firmware-update / reimage)
silence the node's alerts for the window; ``resume`` expires them.

A silence is never left behind unannounced: its id is written to the run's journal the moment it
exists (a run killed mid-way keeps it there, and ``dcops silences`` lists it with its run), a run
that fails expires the silences it made, and ``resume`` expires every dcops silence of the node —
recognised by matchers that are exactly ``{node_label: NODE}`` and the comment tag ``dcops run``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

from ..alerts.leftovers import TAG
from ..backends.ports import AlertmanagerPort
from ..context import ActionContext
from ..errors import DcopsError
from ..events import ActionEvent, Log, Step

JOURNAL_KEY = "silences"


def node_label(ctx: ActionContext) -> str:
    return ctx.config.alertmanager.node_label if ctx.config.alertmanager else "node"


def default_hours(ctx: ActionContext) -> float:
    return ctx.config.alertmanager.silence_hours if ctx.config.alertmanager else 4.0


async def silence_nodes(
    ctx: ActionContext, nodes: Sequence[str], reason: str, hours: float | None
) -> AsyncIterator[ActionEvent]:
    """One silence per node (matchers on the node label, created by the principal, comment = the
    reason and run id), each recorded in the journal and audited as a step."""
    am = ctx.backends.get(AlertmanagerPort)
    hours = hours or default_hours(ctx)
    if ctx.dry_run:
        yield Log(message=f"would silence the alerts of {len(nodes)} node(s) for {hours:g} h")
        return
    made: dict[str, str] = dict(await ctx.journal.get(JOURNAL_KEY) or {})
    for n in nodes:
        if n in made:  # a resumed run made it already
            continue
        sid = await am.create_silence(
            {node_label(ctx): n}, hours=hours, created_by=ctx.principal, comment=f"{reason} ({TAG} {ctx.run_id})"
        )
        made[n] = sid
        ctx.extras.setdefault(JOURNAL_KEY, {})[n] = sid  # known at once, even if cancelled while journaling
        await ctx.journal.put(JOURNAL_KEY, made)
        yield Step(target=n, status="ok", detail=f"alerts silenced for {hours:g} h (silence {sid})")


async def expire_own(ctx: ActionContext, why: str) -> AsyncIterator[ActionEvent]:
    """Expire the silences this run made (the run failed: the node is not in maintenance)."""
    made: dict[str, str] = {**(await ctx.journal.get(JOURNAL_KEY) or {}), **ctx.extras.get(JOURNAL_KEY, {})}
    if not made:
        return
    am = ctx.backends.get(AlertmanagerPort)
    for n, sid in made.items():
        try:
            await am.expire_silence(sid)
            yield Step(target=n, status="failed", detail=f"silence {sid} expired again: {why}")
        except DcopsError as exc:
            yield Step(
                target=n, status="failed", detail=f"silence {sid} could NOT be expired ({exc}): expire it by hand"
            )
    await ctx.journal.put(JOURNAL_KEY, {})
    ctx.extras.pop(JOURNAL_KEY, None)


async def expire_for_nodes(ctx: ActionContext, nodes: Sequence[str]) -> AsyncIterator[ActionEvent]:
    """Expire every active dcops silence of these nodes (``resume``)."""
    if not ctx.backends.has(AlertmanagerPort):
        return
    am = ctx.backends.get(AlertmanagerPort)
    label = node_label(ctx)
    wanted = set(nodes)
    try:
        silences = await am.silences()
    except DcopsError as exc:
        yield Log(level="warning", message=f"alert silences not expired: {exc}")
        return
    for s in silences:
        if s.state not in ("active", "pending") or TAG not in s.comment or set(s.matchers) != {label}:
            continue
        node = s.matchers[label]
        if node not in wanted:
            continue
        if ctx.dry_run:
            yield Log(message=f"would expire silence {s.id} of {node}")
            continue
        try:
            await am.expire_silence(s.id)
            yield Step(target=node, status="ok", detail=f"silence {s.id} expired ({s.comment})")
        except DcopsError as exc:
            yield Step(target=node, status="failed", detail=f"silence {s.id} could not be expired: {exc}")

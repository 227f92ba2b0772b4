"""Two-person approval, decided from Slack: the Approve / Deny buttons and ``/dcops approve|deny``.

The engine decides (the requester cannot approve; the approver's RBAC is checked for the same
targets) and audits; this module makes the outcome visible: the approval message loses its
buttons and says who decided, its thread keeps the record, the requester is told in the channel
they asked from, and an approved run is followed in a live message there.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError

from dcops.actions import Run
from dcops.actions.errors import DcopsError

from . import blocks
from .bot import ApprovalNote, Bot
from .flow import follow
from .identity import principal_for, user_of

log = logging.getLogger("dcops.slack")


async def _note(bot: Bot, approval_id: str) -> ApprovalNote:
    """Where the request came from; after a restart, rebuilt from the engine's approval record."""
    note = bot.approvals.get(approval_id)
    if note is not None:
        return note
    for appr in await bot.engine.approvals(None):
        if appr.id == approval_id:
            requester = user_of(appr.requester) or appr.requester
            words = [appr.action, *(f"--{k.replace('_', '-')} {_value(v)}" for k, v in appr.params.items())]
            return ApprovalNote(requester=requester, origin=requester, command_text=" ".join(words))
    return ApprovalNote(requester="", origin="", command_text=approval_id)


def _value(v: Any) -> str:
    """A stored parameter as the grammar would take it back (lists comma-joined, spaces quoted)."""
    text = ",".join(map(str, v)) if isinstance(v, (list, tuple)) else str(v)
    return f'"{text}"' if " " in text else text


async def _granted_by(bot: Bot, approval_id: str, principal: str) -> bool:
    """True when ``principal`` granted the approval but it was not used: the engine accepted the
    decision and then refused to run the request (a guard, a lock)."""
    for appr in await bot.engine.approvals(None):
        if appr.id == approval_id:
            return appr.state == "granted" and appr.decided_by == principal
    return False


async def decide(
    bot: Bot,
    *,
    user: str,
    approval_id: str,
    grant: bool,
    where: tuple[str | None, str | None] = (None, None),
    reason: str = "",
) -> Run | None:
    """Grant or deny through the engine, then update the approval message and its thread and tell
    the requester. ``where`` is the clicked message (channel, ts); for a typed command it is the
    message the bot posted when the approval was asked, if it remembers it."""
    principal = principal_for(user)
    note = await _note(bot, approval_id)
    channel, ts = where if where[1] else (note.posted_channel, note.posted_ts)
    run: Run | None = None
    refused: DcopsError | None = None
    try:
        if grant:
            run = await bot.engine.approve(approval_id, principal, "slack", alert=bot.pending_alerts.get(approval_id))
        else:
            await bot.engine.deny(approval_id, principal, "slack", reason=reason or f"denied in Slack by {principal}")
    except DcopsError as exc:
        if not (grant and await _granted_by(bot, approval_id, principal)):
            raise  # the decision itself was refused: only the clicker is told
        refused = exc  # approved, yet the run was refused: everyone involved is told
    bot.approvals.pop(approval_id, None)
    verdict = "approved" if grant else "denied"
    if run is not None:
        after = f"; run `{run.run_id}` started"
    elif refused is not None:
        after = f", but the engine refused to run it: {blocks.escape(str(refused))}"
    else:
        after = "; nothing ran"
    # the approval message loses its buttons and says who decided; its thread keeps the record
    if channel and ts:
        text, bl = blocks.approval_decided(
            approval_id=approval_id,
            requester=note.requester,
            command_text=note.command_text,
            verdict=verdict,
            decider=user,
            run_id=run.run_id if run else None,
        )
        await _quiet(bot.client.chat_update(channel=channel, ts=ts, text=text, blocks=bl))
        await _quiet(bot.client.chat_postMessage(channel=channel, thread_ts=ts, text=f"{verdict} by <@{user}>{after}"))
    if note.origin:
        tell = (
            f"<@{note.requester}>: your `/dcops {blocks.escape(note.command_text)}` was {verdict} by <@{user}>{after}"
        )
        await _quiet(bot.client.chat_postMessage(channel=note.origin, text=tell))
    if run is not None:
        await follow(
            bot,
            run,
            user=note.requester or user,
            channel_id=note.origin or channel or user,
            command_text=note.command_text,
            respond=None,
            approved_by=user,
        )
    alert = bot.pending_alerts.pop(approval_id, None) if run is not None or not grant else None
    if run is not None and alert and bot.alert_hook is not None:  # the alert's message shows the outcome too
        await bot.alert_hook(alert, note.requester or user, note.command_text, run)
    return run


async def _quiet(call: Any) -> None:
    """A Slack call whose failure must not undo a decision the engine already recorded."""
    try:
        await call
    except SlackApiError as exc:
        log.warning("slack call failed after an approval decision: %s", exc.response.get("error"))

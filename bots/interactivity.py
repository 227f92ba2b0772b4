"""Button clicks: Confirm / Cancel on a requester's prompt, Approve / Deny in the approvals channel.

Every click is acked first. Who clicked is taken from the signed payload's ``user.id`` and mapped
to a principal like any command; the engine then enforces what only it can (the requester cannot
approve; the approver's RBAC is checked for the same targets) and audits the decision.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.errors import SlackApiError

from actions import Run
from actions.errors import DcopsError

from . import blocks
from .bot import ApprovalNote, Bot
from .flow import follow, guarded, submit
from .identity import principal_for, user_of

log = logging.getLogger("dcops.slack")


def _click(body: dict[str, Any]) -> tuple[str, str, str | None, str | None]:
    """(user id, button value, channel id, message ts) of a block_actions payload."""
    action = (body.get("actions") or [{}])[0]
    container = body.get("container") or {}
    channel = (body.get("channel") or {}).get("id") or container.get("channel_id")
    return (str((body.get("user") or {}).get("id") or ""), str(action.get("value") or ""), channel,
            container.get("message_ts"))


def register(app: AsyncApp, bot: Bot) -> None:
    @app.action(blocks.CONFIRM)
    async def on_confirm(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        await guarded(respond, confirm(bot, body, respond), "the Confirm button")

    @app.action(blocks.CANCEL)
    async def on_cancel(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        await guarded(respond, cancel(bot, body, respond), "the Cancel button")

    @app.action(blocks.APPROVE)
    async def on_approve(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        await guarded(respond, decide(bot, body, respond, grant=True), "the Approve button")

    @app.action(blocks.DENY)
    async def on_deny(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        await guarded(respond, decide(bot, body, respond, grant=False), "the Deny button")


async def confirm(bot: Bot, body: dict[str, Any], respond: AsyncRespond) -> None:
    user, value, _, _ = _click(body)
    principal = principal_for(user)
    item = bot.pending.take(value, user)
    await respond(text=f":white_check_mark: confirmed `/dcops {blocks.escape(item.command_text)}`",
                  replace_original=True)
    await submit(bot, user=user, principal=principal, channel_id=item.channel_id, command_text=item.command_text,
                 action=item.action, params=item.params, respond=respond, confirm=item.token)


async def cancel(bot: Bot, body: dict[str, Any], respond: AsyncRespond) -> None:
    user, value, _, _ = _click(body)
    item = bot.pending.take(value, user)
    await respond(text=f":no_entry_sign: cancelled `/dcops {blocks.escape(item.command_text)}`; nothing ran",
                  replace_original=True)


async def _note(bot: Bot, approval_id: str) -> ApprovalNote:
    """Where the request came from; after a restart, rebuilt from the engine's approval record."""
    note = bot.approvals.get(approval_id)
    if note is not None:
        return note
    for appr in await bot.engine.approvals(None):
        if appr.id == approval_id:
            requester = user_of(appr.requester) or appr.requester
            words = [appr.action, *(f"--{k.replace('_', '-')} {v}" for k, v in appr.params.items())]
            return ApprovalNote(requester=requester, origin=requester, command_text=" ".join(words))
    return ApprovalNote(requester="", origin="", command_text=approval_id)


async def _granted_by(bot: Bot, approval_id: str, principal: str) -> bool:
    """True when ``principal`` granted the approval but it was not used: the engine accepted the
    decision and then refused to run the request (a guard, a lock)."""
    for appr in await bot.engine.approvals(None):
        if appr.id == approval_id:
            return appr.state == "granted" and appr.decided_by == principal
    return False


async def decide(bot: Bot, body: dict[str, Any], respond: AsyncRespond, *, grant: bool) -> None:
    user, approval_id, channel, ts = _click(body)
    principal = principal_for(user)
    run: Run | None = None
    refused: DcopsError | None = None
    try:
        if grant:
            run = await bot.engine.approve(approval_id, principal, "slack")
        else:
            await bot.engine.deny(approval_id, principal, "slack", reason=f"denied in Slack by {principal}")
    except DcopsError as exc:
        if not (grant and await _granted_by(bot, approval_id, principal)):
            raise                     # the decision itself was refused: only the clicker is told
        refused = exc                 # approved, yet the run was refused: everyone involved is told
    note = await _note(bot, approval_id)
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
        text, bl = blocks.approval_decided(approval_id=approval_id, requester=note.requester,
                                           command_text=note.command_text, verdict=verdict, decider=user,
                                           run_id=run.run_id if run else None)
        await _quiet(bot.client.chat_update(channel=channel, ts=ts, text=text, blocks=bl))
        await _quiet(bot.client.chat_postMessage(channel=channel, thread_ts=ts,
                                                 text=f"{verdict} by <@{user}>{after}"))
    if note.origin:
        tell = f"<@{note.requester}>: your `/dcops {blocks.escape(note.command_text)}` was {verdict} by <@{user}>{after}"
        await _quiet(bot.client.chat_postMessage(channel=note.origin, text=tell))
    if run is not None:
        await follow(bot, run, user=note.requester or user, channel_id=note.origin or channel or user,
                     command_text=note.command_text, respond=None, approved_by=user)


async def _quiet(call: Any) -> None:
    """A Slack call whose failure must not undo a decision the engine already recorded."""
    try:
        await call
    except SlackApiError as exc:
        log.warning("slack call failed after an approval decision: %s", exc.response.get("error"))


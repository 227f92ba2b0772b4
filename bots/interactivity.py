"""Button clicks: Confirm / Cancel on a requester's prompt, Approve / Deny in the approvals channel,
Stop on a run message.

Every click is acked first. Who clicked is taken from the signed payload's ``user.id`` and mapped
to a principal like any command. Approve / Deny go to :mod:`dcops.bots.approvals`, shared with the
``/dcops approve|deny <id>`` commands; Stop submits the audited ``stop`` action (the requester,
the approver or a principal the policy grants ``stop`` may; the run may live in another process);
Resume on a stopped run's card returns the nodes it left drained, through the engine.
"""

from __future__ import annotations

import re
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from dcops.actions import Request
from dcops.actions.errors import DeniedError

from . import approvals, blocks
from .bot import Bot
from .flow import CHANNEL, guarded, submit
from .identity import principal_for, user_of


def _click(body: dict[str, Any]) -> tuple[str, str, str | None, str | None]:
    """(user id, button value, channel id, message ts) of a block_actions payload."""
    action = (body.get("actions") or [{}])[0]
    container = body.get("container") or {}
    channel = (body.get("channel") or {}).get("id") or container.get("channel_id")
    return (
        str((body.get("user") or {}).get("id") or ""),
        str(action.get("value") or ""),
        channel,
        container.get("message_ts"),
    )


def register(app: AsyncApp, bot: Bot) -> None:
    @app.action(blocks.CONFIRM)
    async def on_confirm(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        await guarded(bot, respond, confirm(bot, body, respond), "the Confirm button")

    @app.action(blocks.CANCEL)
    async def on_cancel(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        await guarded(bot, respond, cancel(bot, body, respond), "the Cancel button")

    @app.action(blocks.STOP)
    async def on_stop(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        await guarded(bot, respond, stop(bot, body, respond), "the Stop button")

    @app.action(blocks.RESUME_LEFT)
    async def on_resume_left(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        await guarded(bot, respond, resume_left(bot, body, respond), "the Resume button")

    @app.action(re.compile(f"^{blocks.FOLLOWUP}_[0-9]+$"))
    async def on_followup(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        await guarded(bot, respond, followup(bot, body, respond), "a follow-up button")

    @app.action(blocks.APPROVE)
    async def on_approve(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        await guarded(bot, respond, decide_click(bot, body, grant=True), "the Approve button")

    @app.action(re.compile(f"^{blocks.LINK}_"))
    async def on_link(ack: AsyncAck) -> None:
        await ack()  # a URL button: Slack opened the link; nothing to do

    @app.action(blocks.DENY)
    async def on_deny(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        await guarded(bot, respond, decide_click(bot, body, grant=False), "the Deny button")


async def confirm(bot: Bot, body: dict[str, Any], respond: AsyncRespond) -> None:
    user, value, _, _ = _click(body)
    principal = principal_for(user)
    item = bot.pending.take(value, user)
    await respond(
        text=f":white_check_mark: confirmed `/dcops {blocks.escape(item.command_text)}`", replace_original=True
    )
    alert = bot.pending_alerts.pop(value, None)
    run = await submit(
        bot,
        user=user,
        principal=principal,
        channel_id=item.channel_id,
        command_text=item.command_text,
        action=item.action,
        params=item.params,
        respond=respond,
        confirm=item.token,
        alert=alert,
    )
    if run is not None and alert and bot.alert_hook is not None:  # the alert's message shows the outcome too
        await bot.alert_hook(alert, user, item.command_text, run)


async def cancel(bot: Bot, body: dict[str, Any], respond: AsyncRespond) -> None:
    user, value, _, _ = _click(body)
    item = bot.pending.take(value, user)
    await respond(
        text=f":no_entry_sign: cancelled `/dcops {blocks.escape(item.command_text)}`; nothing ran",
        replace_original=True,
    )


async def stop(bot: Bot, body: dict[str, Any], respond: AsyncRespond) -> None:
    """Stop a running run through the ``stop`` action (RBAC-gated, audited); the run message then
    shows every target's final state and, when nodes were left drained, a Resume button."""
    user, run_id, _, _ = _click(body)
    principal = principal_for(user)
    run = bot.engine.get_run(run_id)
    if run is not None and not run.active:
        raise DeniedError(f"run {run_id} is not running any more")
    try:
        stopping = await bot.engine.submit(
            Request(principal=principal, channel=CHANNEL, action="stop", params={"run": run_id})
        )
    except DeniedError:
        requester = user_of(run.principal) if run is not None else None
        who = f"<@{requester}>, who started run {run_id}," if requester else f"whoever started run {run_id},"
        raise DeniedError(f"only {who} its approver or someone the policy lets `stop` runs can stop it") from None
    await respond(text=f":octagonal_sign: stopping run `{run_id}`", response_type="ephemeral", replace_original=False)
    await stopping.wait()


async def resume_left(bot: Bot, body: dict[str, Any], respond: AsyncRespond) -> None:
    """The one step back after a stop: ``resume HOSTLIST`` as the clicker, through the engine."""
    user, nodes, channel, _ = _click(body)
    await submit(
        bot,
        user=user,
        principal=principal_for(user),
        channel_id=channel or "",
        action="resume",
        command_text=f"resume {nodes}",
        params={"nodes": nodes},
        respond=respond,
    )


async def followup(bot: Bot, body: dict[str, Any], respond: AsyncRespond) -> None:
    """A result's suggested follow-up, clicked: exactly as if the clicker typed `/dcops <it>` here
    (channel rules, RBAC, the typed confirmation as a Confirm prompt, the audit log)."""
    from .commands import run_command

    user, text, channel, _ = _click(body)
    await run_command(bot, {"text": text, "user_id": user, "channel_id": channel or ""}, respond)


async def decide_click(bot: Bot, body: dict[str, Any], *, grant: bool) -> None:
    user, approval_id, channel, ts = _click(body)
    await approvals.decide(bot, user=user, approval_id=approval_id, grant=grant, where=(channel, ts))

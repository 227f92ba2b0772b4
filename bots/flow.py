"""What happens to a request the engine was given: it runs (follow it in a live message), it
needs the requester's confirmation (ephemeral Confirm / Cancel), or it needs a second person's
approval (Approve / Deny in the approvals channel). Shared by the slash command and the Confirm
button, which resubmits the same request with the engine's confirmation token.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from slack_sdk.errors import SlackApiError

from dcops.actions import Request, Run
from dcops.actions.errors import ApprovalRequired, ConfirmationRequired, DcopsError

from . import blocks
from .bot import ApprovalNote, Bot
from .live_message import LiveMessage
from .run_view import RunView

log = logging.getLogger("dcops.slack")

Respond = Callable[..., Awaitable[Any]]
CHANNEL = "slack"  # the front end's name in Request.channel and the audit log
PUBLIC_ROWS = 10  # rows of a read's table shown in the channel; the full table goes in the thread


async def reply_error(respond: Respond, message: str) -> None:
    """One line, ephemeral, to the person who acted."""
    text, bl = blocks.error_line(message)
    await respond(text=text, blocks=bl, response_type="ephemeral", replace_original=False)


async def guarded(bot: Bot, respond: Respond, work: Awaitable[None], what: str) -> None:
    """Run a handler's after-ack work in one of the bot's work slots: a DcopsError becomes its
    one line, anything else a one-line internal error (the traceback goes to the log, never to
    Slack)."""
    try:
        async with bot.work_slots:
            await work
    except DcopsError as exc:
        await reply_error(respond, str(exc))
    except Exception:  # the user gets one line; the log gets the traceback
        log.exception("slack %s failed", what)
        await reply_error(respond, f"internal error while handling {what}; the bot's log has the details")


async def submit(
    bot: Bot,
    *,
    user: str,
    principal: str,
    channel_id: str,
    command_text: str,
    action: str,
    params: dict[str, Any],
    respond: Respond,
    confirm: str | None = None,
    alert: str | None = None,
) -> Run | None:
    """Submit and handle every outcome; errors other than confirmation/approval propagate.
    ``alert``: the fingerprint of the alert a button was pressed on (recorded in the audit)."""
    request = Request(
        principal=principal,
        channel=CHANNEL,
        action=action,
        params=params,
        confirm=confirm,
        alert=alert,
        interactive=True,
    )
    try:
        run = await bot.engine.submit(request)
    except ConfirmationRequired as exc:
        if confirm is not None:
            raise  # a wrong token on resubmit: show the engine's one line
        item = bot.pending.add(
            requester=user,
            channel_id=channel_id,
            command_text=command_text,
            action=action,
            params=params,
            token=exc.token,
        )
        if alert:
            bot.pending_alerts[item.value] = alert
        message = re.sub(r"confirm by typing \S+ or \S+ to", "press Confirm to", str(exc))  # a button, not a field
        text, bl = blocks.confirm_prompt(
            command_text=command_text, message=message, value=item.value, ttl=bot.settings.confirm_ttl
        )
        await respond(text=text, blocks=bl, response_type="ephemeral", replace_original=False)
        return None
    except ApprovalRequired as exc:
        if alert:
            bot.pending_alerts[exc.approval_id] = alert
        await ask_approval(bot, exc, user=user, channel_id=channel_id, command_text=command_text, respond=respond)
        return None
    await follow(bot, run, user=user, channel_id=channel_id, command_text=command_text, respond=respond)
    return run


async def follow(
    bot: Bot,
    run: Run,
    *,
    user: str,
    channel_id: str,
    command_text: str,
    respond: Respond | None,
    approved_by: str | None = None,
) -> None:
    mutating = bot.engine.registry.get(run.action).mutating
    view = RunView(
        action=run.action,
        command_text=command_text,
        requester=user,
        approved_by=approved_by,
        stoppable=mutating,
        public_rows=None if mutating else PUBLIC_ROWS,
    )
    live = LiveMessage(bot.client, channel_id, view, interval=bot.settings.update_interval, respond=respond)
    bot.spawn(live.follow(run), name=f"slack-follow-{run.run_id}")


async def plan_of(bot: Bot, approval_id: str, timeout: float = 20.0):  # noqa: ANN201 - events.Result | None
    """The pending request run as a dry run by its requester (audited like any dry run), for the
    approvers' card; None when the action has no dry run or the plan could not be made in time."""
    import asyncio

    try:
        appr = await bot.engine.store.get_approval(approval_id)
        spec = bot.engine.registry.get(appr.action) if appr is not None else None
        if appr is None or spec is None or "dry_run" not in spec.params.model_fields:
            return None
        run = await bot.engine.submit(
            Request(
                principal=appr.requester, channel=CHANNEL, action=appr.action, params={**appr.params, "dry_run": True}
            )
        )
        await asyncio.wait_for(run.wait(), timeout)
        return run.result
    except (TimeoutError, DcopsError) as exc:
        log.info("no plan for approval %s: %s", approval_id, exc)
        return None


async def ask_approval(
    bot: Bot, exc: ApprovalRequired, *, user: str, channel_id: str, command_text: str, respond: Respond
) -> None:
    """Post Approve / Deny where approvers look, and tell the requester where it went."""
    target = bot.settings.approvals_channel or channel_id
    text, bl = blocks.approval_request(
        approval_id=exc.approval_id,
        requester=user,
        command_text=command_text,
        message=str(exc),
        plan=await plan_of(bot, exc.approval_id),
    )
    try:
        posted = await bot.client.chat_postMessage(channel=target, text=text, blocks=bl)
        bot.approvals[exc.approval_id] = ApprovalNote(
            requester=user,
            origin=channel_id,
            command_text=command_text,
            posted_channel=posted["channel"],
            posted_ts=posted["ts"],
        )
    except SlackApiError as e:
        bot.approvals[exc.approval_id] = ApprovalNote(requester=user, origin=channel_id, command_text=command_text)
        log.warning("cannot post approval %s in %s: %s", exc.approval_id, target, e.response.get("error"))
        await reply_error(
            respond,
            f"approval {exc.approval_id} was requested but could not be posted in <#{target}> "
            f"({e.response.get('error')}); an approver can run `/dcops approve {exc.approval_id}`",
        )
        return
    note = (
        f":hourglass_flowing_sand: `/dcops {blocks.escape(command_text)}` needs a second person's approval "
        f"(`{exc.approval_id}`), asked in <#{target}>. You will be told here when someone decides."
    )
    await respond(text=note, response_type="ephemeral", replace_original=False)

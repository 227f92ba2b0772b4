"""``/dcops <command>``: ack at once, then parse with the shared grammar, check the channel
rules, and hand the request to the engine (which decides RBAC and audits).

``/dcops approve|deny <id>`` decide a pending approval like the buttons do.
``/dcops help`` lists only the actions this Slack user may run (the engine's ``actions_for``,
which also honours read-only mode); ``/dcops help <action>`` shows that action's usage.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from dcops.actions import command_help, parse_command
from dcops.actions.errors import DcopsError, UsageError

from . import approvals, blocks
from .bot import Bot
from .channel_policy import check_channel
from .command_text import normalise
from .flow import guarded, submit
from .identity import principal_for

COMMAND = "/dcops"


def register(app: AsyncApp, bot: Bot) -> None:
    @app.command(COMMAND)
    async def dcops_command(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()  # first, always: Slack shows an error if the ack takes over 3 s
        await guarded(bot, respond, run_command(bot, command, respond), f"`{COMMAND} {command.get('text', '')}`")


async def run_command(bot: Bot, command: dict[str, Any], respond: AsyncRespond) -> None:
    text = normalise(command.get("text"))
    user = str(command.get("user_id") or "")
    channel_id = str(command.get("channel_id") or "")
    principal = principal_for(user)
    words = text.split(None, 1)
    if not words or words[0] in ("help", "-h", "--help"):
        await show_help(bot, principal, words[1] if len(words) > 1 else None, respond)
        return
    if words[0] in ("approve", "deny") and words[0] not in bot.engine.registry:
        await decide_command(bot, user, words[0], words[1] if len(words) > 1 else "", respond)
        return
    try:
        cmd = parse_command(text, registry=bot.engine.registry)
        spec = bot.engine.registry.get(cmd.action)
        check_channel(bot.settings.channel_rules, spec.name, spec.kind.value, channel_id)
    except DcopsError as exc:  # refused before the engine: still audited
        await bot.engine.reject(
            principal, "slack", words[0], str(exc), params={"text": text}, denied=not isinstance(exc, UsageError)
        )
        raise
    await submit(
        bot,
        user=user,
        principal=principal,
        channel_id=channel_id,
        command_text=text,
        action=cmd.action,
        params=cmd.params,
        respond=respond,
    )


async def decide_command(bot: Bot, user: str, verb: str, rest: str, respond: AsyncRespond) -> None:
    """``/dcops approve ID`` / ``/dcops deny ID [reason]``: the same decision as the buttons, for
    when the approval message is out of reach (not posted, scrolled away, another workspace client)."""
    approval_id, _, reason = rest.strip().partition(" ")
    if not approval_id:
        raise UsageError(
            f"usage: /dcops {verb} APPROVAL_ID"
            + (" [reason]" if verb == "deny" else "")
            + "; `/dcops approvals` lists the pending ones"
        )
    run = await approvals.decide(
        bot, user=user, approval_id=approval_id, grant=verb == "approve", reason=reason.strip()
    )
    done = f"run `{run.run_id}` started" if run else "nothing ran"
    past = "approved" if verb == "approve" else "denied"
    await respond(text=f"{past} `{blocks.escape(approval_id)}`; {done}", response_type="ephemeral")


async def show_help(bot: Bot, principal: str, topic: str | None, respond: AsyncRespond) -> None:
    if topic:
        spec = bot.engine.registry.get(topic.strip())
        if spec.name not in {s.name for s in bot.engine.actions_for(principal)}:
            raise UsageError(f"you may not run {spec.name}; `/dcops help` lists what you may run")
        text = command_help(spec)
        await respond(text=text, blocks=[blocks.code_section(text)], response_type="ephemeral")
        return
    text, bl = blocks.help_message(bot.engine.actions_for(principal), read_only=bot.read_only)
    await respond(text=text, blocks=bl, response_type="ephemeral")

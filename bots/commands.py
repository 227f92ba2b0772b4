"""``/dcops <command>``: ack at once, then parse with the shared grammar, check the channel
rules, and hand the request to the engine (which decides RBAC and audits).

``/dcops help`` lists only the actions this Slack user may run (the engine's ``actions_for``,
which also honours read-only mode); ``/dcops help <action>`` shows that action's usage.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from actions import command_help, parse_command
from actions.errors import UsageError

from . import blocks
from .bot import Bot
from .channel_policy import check_channel
from .flow import guarded, submit
from .identity import principal_for

COMMAND = "/dcops"


def register(app: AsyncApp, bot: Bot) -> None:
    @app.command(COMMAND)
    async def dcops_command(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()          # first, always: Slack shows an error if the ack takes over 3 s
        await guarded(respond, run_command(bot, command, respond), f"`{COMMAND} {command.get('text', '')}`")


async def run_command(bot: Bot, command: dict[str, Any], respond: AsyncRespond) -> None:
    text = " ".join(str(command.get("text") or "").split())
    user = str(command.get("user_id") or "")
    channel_id = str(command.get("channel_id") or "")
    principal = principal_for(user)
    words = text.split(" ", 1) if text else []
    if not words or words[0] in ("help", "-h", "--help"):
        await show_help(bot, principal, words[1] if len(words) > 1 else None, respond)
        return
    cmd = parse_command(text, registry=bot.engine.registry)
    spec = bot.engine.registry.get(cmd.action)
    check_channel(bot.settings.channel_rules, spec.name, spec.kind.value, channel_id)
    await submit(bot, user=user, principal=principal, channel_id=channel_id, command_text=text,
                 action=cmd.action, params=cmd.params, respond=respond)


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

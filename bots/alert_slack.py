"""Alerts in Slack: each new firing alert becomes a message in the alerts channel with the evidence
summary (gathered through the engine as ``alert:<alertname>``) and one button per suggested action;
a click runs that action through the engine as the clicking user (RBAC, the confirmation prompt or
two-person approval where the policy says, audit with the alert's fingerprint) and the alert
message is updated with the outcome. A resolved alert updates its message too.

Buttons carry ``FINGERPRINT:INDEX`` (the suggestion's position in the alert's playbook), never a
command line: the command is rebuilt from the mapping on the server, so a forged click can only
pick among the actions dcops itself offered for that alert.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from dcops.actions import events, parse_command
from dcops.actions.alerts import Alert, AlertInbox, Playbook
from dcops.actions.alerts.evidence import Evidence, gather
from dcops.actions.alerts.leftovers import report_left_behind
from dcops.actions.errors import DeniedError, UsageError
from dcops.actions.links import grafana_links

from . import blocks
from .bot import Bot
from .flow import guarded, submit
from .identity import principal_for

log = logging.getLogger("dcops.slack.alerts")
ALERT_ACTION = "dcops_alert_action"
SEVERITY_ICON = {"critical": ":rotating_light:", "warning": ":warning:"}


@dataclass
class AlertMessage:
    channel: str
    ts: str
    evidence: list[Evidence] = field(default_factory=list)
    outcomes: list[str] = field(default_factory=list)


def render(
    alert: Alert,
    pb: Playbook | None,
    evidence: list[Evidence],
    outcomes: list[str],
    *,
    links: list[events.Link] | None = None,
) -> blocks.Rendered:
    """The alert message: pure, re-rendered on every update. ``links``: the node's Grafana
    dashboard ([grafana] url_template), shown as a URL button."""
    icon = ":white_check_mark:" if not alert.firing else SEVERITY_ICON.get(alert.severity, ":bell:")
    node = alert.node or "?"
    title = f"{alert.name} on {node}" + (" (resolved)" if not alert.firing else "")
    text = f"{icon} {title}: {alert.summary}"
    out: list[Any] = [
        HeaderBlock(text=PlainTextObject(text=blocks._clip(f"{title}", 150))),
        SectionBlock(
            text=MarkdownTextObject(
                text=blocks._clip(
                    f"{icon} *{blocks.escape(alert.summary)}*\nseverity `{alert.severity or '?'}` · since "
                    f"{alert.starts_at[:19].replace('T', ' ')} UTC"
                    + (
                        ""
                        if alert.known_node is not False
                        else f"\n:grey_question: `{blocks.escape(node)}` is not "
                        "a node dcops knows: shown, no actions offered"
                    )
                )
            )
        ),
    ]
    if evidence:
        lines = [
            f"{':white_check_mark:' if e.ok else ':x:'} `{blocks.escape(e.command)}` — {blocks.escape(e.summary)}"
            for e in evidence
        ]
        out.append(SectionBlock(text=MarkdownTextObject(text=blocks._clip("*Evidence*\n" + "\n".join(lines)))))
    if outcomes:
        out.append(SectionBlock(text=MarkdownTextObject(text=blocks._clip("\n".join(outcomes)))))
    if alert.firing and pb is not None and pb.actions and alert.known_node:
        out.append(
            ActionsBlock(
                block_id=f"alert-{alert.fingerprint}",
                elements=[
                    ButtonElement(
                        text=s.label,
                        action_id=f"{ALERT_ACTION}_{i}",
                        value=f"{alert.fingerprint}:{i}",
                        style="danger" if i == 0 and s.action == "drain" else None,
                    )
                    for i, s in enumerate(pb.actions[:5])
                ],
            )
        )
    if links:
        out.append(blocks.link_buttons(links))
    ctx = f"fingerprint `{alert.fingerprint}`"
    if pb is not None and pb.ticket:
        ctx += f" · ticket: {blocks.escape(pb.ticket)}"
    out.append(ContextBlock(elements=[MarkdownTextObject(text=blocks._clip(ctx, 2900))]))
    return text, blocks._dicts(out)


class AlertPoster:
    """Posts and updates alert messages; holds which message belongs to which alert."""

    def __init__(self, bot: Bot, inbox: AlertInbox, channel: str) -> None:
        self.bot, self.inbox, self.channel = bot, inbox, channel
        self.messages: dict[str, AlertMessage] = {}

    async def on_alert(self, alert: Alert, pb: Playbook | None) -> None:
        msg = self.messages.get(alert.fingerprint)
        if msg is None and not alert.firing:
            return
        if msg is None:
            evidence = await gather(self.inbox, alert, pb, principal=f"alert:{alert.name}", channel="slack")
            text, bl = render(alert, pb, evidence, [], links=self._links(alert))
            try:
                posted = await self.bot.client.chat_postMessage(channel=self.channel, text=text, blocks=bl)
            except SlackApiError as exc:
                log.warning("alert %s not posted in %s: %s", alert.fingerprint, self.channel, exc.response.get("error"))
                return
            self.messages[alert.fingerprint] = AlertMessage(posted["channel"], posted["ts"], evidence)
            return
        await self.update(alert.fingerprint)

    def _links(self, alert: Alert) -> list[events.Link]:
        """The alerting node's Grafana dashboard (its GPU when the alert names one), from an hour
        before the alert began until now."""
        if not alert.node:
            return []
        try:
            start = datetime.fromisoformat(alert.starts_at.replace("Z", "+00:00")) - timedelta(hours=1)
        except ValueError:
            start = None
        return grafana_links(
            self.bot.engine.config,
            [alert.node],
            gpus={alert.node: alert.labels["gpu"]} if alert.labels.get("gpu") else None,
            start=start,
        )

    async def update(self, fingerprint: str) -> None:
        msg, alert = self.messages.get(fingerprint), self.inbox.get(fingerprint)
        if msg is None or alert is None:
            return
        text, bl = render(alert, self.inbox.playbook(alert), msg.evidence, msg.outcomes, links=self._links(alert))
        try:
            await self.bot.client.chat_update(channel=msg.channel, ts=msg.ts, text=text, blocks=bl)
        except SlackApiError as exc:
            log.warning("alert message %s not updated: %s", fingerprint, exc.response.get("error"))

    async def click(self, body: dict[str, Any], respond: AsyncRespond) -> None:
        action = (body.get("actions") or [{}])[0]
        user = str((body.get("user") or {}).get("id") or "")
        channel = (
            (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id") or self.channel
        )
        principal = principal_for(user)
        fingerprint, _, index = str(action.get("value") or "").partition(":")
        alert = self.inbox.get(fingerprint)
        if alert is None:
            raise DeniedError(f"alert {fingerprint[:40]!r} is not one dcops received; nothing ran")
        pb = self.inbox.playbook(alert)
        if not index.isdigit() or pb is None or int(index) >= len(pb.actions):
            raise UsageError(f"alert {fingerprint} has no suggested action {index[:10]!r}; nothing ran")
        if not alert.firing:
            raise DeniedError(f"{alert.name} on {alert.node} is resolved; run the action with /dcops if still needed")
        suggestion = pb.actions[int(index)]
        cmd = parse_command(suggestion.command)
        run = await submit(
            self.bot,
            user=user,
            principal=principal,
            channel_id=channel,
            command_text=suggestion.line,
            action=cmd.action,
            params=cmd.params,
            respond=respond,
            alert=alert.fingerprint,
        )
        if run is None:
            return  # waiting for a confirmation (then Confirm calls started) or an approval
        await self.started(fingerprint, user, suggestion.line, run)

    async def started(self, fingerprint: str, user: str, line: str, run: Any) -> None:
        """A run started from this alert (by its button, or by the Confirm button that followed)."""
        msg = self.messages.get(fingerprint)
        if msg is not None:
            msg.outcomes.append(
                f":hourglass_flowing_sand: <@{user}> started `{blocks.escape(line)}` (run `{run.run_id}`)"
            )
            await self.update(fingerprint)
        self.bot.spawn(self._outcome(fingerprint, user, line, run), name=f"slack-alert-{run.run_id}")

    async def _outcome(self, fingerprint: str, user: str, line: str, run: Any) -> None:
        finished = await run.wait()
        msg = self.messages.get(fingerprint)
        if msg is None:
            return
        icon = blocks.STATUS_ICON.get(finished.outcome, ":grey_question:")
        msg.outcomes[:] = [o for o in msg.outcomes if run.run_id not in o]
        msg.outcomes.append(
            f"{icon} <@{user}> `{blocks.escape(line)}`: {finished.outcome} — "
            f"{blocks.escape(finished.summary)} (run `{run.run_id}`)"
        )
        await self.update(fingerprint)


def register(app: AsyncApp, bot: Bot, inbox: AlertInbox, channel: str) -> AlertPoster:
    """Post alerts to ``channel`` and handle their buttons; returns the poster."""
    import re

    poster = AlertPoster(bot, inbox, channel)
    bot.alert_hook = poster.started
    inbox.subscribe(lambda alert, pb: bot.spawn(poster.on_alert(alert, pb), name=f"slack-alert-{alert.fingerprint}"))

    @app.action(re.compile(f"^{ALERT_ACTION}_\\d+$"))
    async def on_click(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        await guarded(bot, respond, poster.click(body, respond), "the alert button")

    return poster


@dataclass
class AlertWiring:
    """Alerts in the bot's process: the inbox, the poster, and the webhook route for its server."""

    inbox: AlertInbox
    poster: AlertPoster
    routes: Any  # callable(web.Application): mounts the webhook receiver


async def attach(app: AsyncApp, bot: Bot) -> AlertWiring | None:
    """Receive alerts in the bot when ``[alerts] slack_channel`` is set (credentials are then
    required: a ConfigError names what is missing)."""
    from .alert_webhook import Credentials, add_routes

    config = bot.engine.config
    channel = config.alerts.slack_channel
    if not channel:
        return None
    creds = Credentials.from_config(config)
    inbox = AlertInbox(bot.engine)
    await inbox.load()
    poster = register(app, bot, inbox, channel)
    left = await report_left_behind(bot.engine)
    if left:  # announced where on-call looks, at every bot start
        try:
            await bot.client.chat_postMessage(channel=channel, text=f":warning: {left}")
        except SlackApiError as exc:
            log.warning("left-behind silences not announced: %s", exc.response.get("error"))
    return AlertWiring(inbox, poster, lambda web_app: add_routes(web_app, inbox, creds, config.alerts.path))

"""What the Slack end-to-end tests share: the personas and channels, the test RBAC policy, a
registry with one slow test action, and the Harness that talks to the served bot as Slack would.
(Kept out of conftest.py so test modules import it by a name no other test folder uses.)"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from pydantic import Field
from recording_slack import Call, RecordingSlack
from slack_requests import SECRET, button_body, post_signed, slash_body

from dcops.actions import Engine, Kind, TargetKind, events
from dcops.actions.registry import MutatingParams, Registry, action
from dcops.actions.registry import registry as default_registry
from dcops.actions.store.base import AuditQuery, AuditRecord
from dcops.bots.bot import Bot
from dcops.bots.server import HttpServer

ONCALL, ONCALL2, VIEWER, ADMIN, NOBODY = "U0ONCALL", "U0ONCALL2", "U0VIEWER", "U0ADMIN", "U0NOBODY"
ONCALL_CHANNEL, OTHER_CHANNEL, APPROVALS = "C0ONCALL", "C0RANDOM", "C0APPROVALS"

TEST_POLICY = f"""
[groups]
oncall = ["slack:{ONCALL}", "slack:{ONCALL2}"]
viewers = ["slack:{VIEWER}"]
admins = ["slack:{ADMIN}"]

[roles.oncall]
actions = ["*"]
approval = ["requeue", "drain"]
approve = ["requeue", "drain"]

[roles.viewer]
kinds = ["read"]

[roles.admin]
actions = ["*"]
approve = ["*"]

[[bindings]]
principals = ["group:oncall"]
roles = ["oncall"]

[[bindings]]
principals = ["group:viewers"]
roles = ["viewer"]

[[bindings]]
principals = ["group:admins"]
roles = ["admin"]
"""


@dataclass
class Harness:
    """Talks to the bot as Slack would and inspects what the bot told Slack."""

    server: HttpServer
    slack: RecordingSlack
    engine: Engine
    bot: Bot
    session: aiohttp.ClientSession
    _keys: Any = field(default_factory=lambda: itertools.count(1))

    def new_response_url(self) -> tuple[str, str]:
        key = f"r{next(self._keys)}"
        return key, self.slack.response_url(key)

    async def command(
        self,
        text: str,
        *,
        user: str = ONCALL,
        channel: str = ONCALL_CHANNEL,
        secret: str = SECRET,
        timestamp: int | None = None,
    ) -> tuple[int, str, str]:
        """POST a signed /dcops; returns (HTTP status, body, response_url key)."""
        key, url = self.new_response_url()
        status, body = await post_signed(
            self.session,
            self.server.url,
            slash_body(text, user=user, channel=channel, response_url=url),
            secret=secret,
            timestamp=timestamp,
        )
        return status, body, key

    async def confirmed_command(
        self, text: str, *, user: str = ONCALL, channel: str = ONCALL_CHANNEL
    ) -> tuple[int, str, str]:
        """A command a person confirms (drain, requeue ask the typed confirmation on every path):
        POST it, press the prompt's Confirm as the same user; returns (status, body, key of the
        Confirm click's response_url, where the rest of the conversation goes)."""
        status, body, key = await self.command(text, user=user, channel=channel)
        prompt = (await self.responses(key))[0]
        buttons = {
            e["action_id"]: e["value"]
            for b in prompt.args.get("blocks", [])
            if b["type"] == "actions"
            for e in b["elements"]
        }
        assert "dcops_confirm" in buttons, f"expected a Confirm prompt for {text!r}: {prompt.args.get('text')}"
        _, click_key = await self.click(
            "dcops_confirm", buttons["dcops_confirm"], user=user, channel=channel, ephemeral=True
        )
        return status, body, click_key

    async def click(
        self,
        action_id: str,
        value: str,
        *,
        user: str,
        channel: str = ONCALL_CHANNEL,
        message_ts: str | None = None,
        ephemeral: bool = False,
    ) -> tuple[int, str]:
        key, url = self.new_response_url()
        status, _ = await post_signed(
            self.session,
            self.server.url,
            button_body(
                action_id=action_id,
                value=value,
                user=user,
                channel=channel,
                response_url=url,
                message_ts=message_ts,
                ephemeral=ephemeral,
            ),
        )
        return status, key

    async def responses(self, key: str, count: int = 1, timeout: float = 10.0) -> list[Call]:
        return await self.slack.wait_for(
            lambda c: c.method == "response_url" and c.path.endswith("/" + key), count=count, timeout=timeout
        )

    async def audit(self, **query: Any) -> list[AuditRecord]:
        return await self.engine.store.query(AuditQuery(newest_first=False, **query))

    async def idle(self) -> None:
        """Wait until the bot's background work (run messages) is done."""
        await self.bot.drain(timeout=20)


class SlowParams(MutatingParams):
    nodes: str = Field(..., description="nodes")


async def _slow_touch(ctx: Any, p: SlowParams) -> AsyncIterator[Any]:
    """A test action that takes long enough (5 x 0.15 s) for the message to be updated mid-run."""
    names = ctx.nodes
    for i, name in enumerate(names, 1):
        yield events.Step(target=name, status="running")
        await asyncio.sleep(0.15)
        yield events.Step(target=name, status="ok", detail="touched")
        yield events.Progress(done=i, total=len(names), label="touching")
    yield events.Result(summary=f"touched {len(names)} node(s)")


def registry_with_slow_action() -> Registry:
    """The real actions plus one slow test action, in a registry of its own (the global one
    stays as the product defines it)."""
    import dcops.actions.ops  # noqa: F401 - registers the real actions

    reg = Registry()
    for spec in default_registry:
        reg.add(spec)
    action(
        "slow-touch",
        help="test only: touch nodes slowly",
        params=SlowParams,
        kind=Kind.WRITE,
        targets=TargetKind.NODES,
        positional=("nodes",),
        category="test",
        into=reg,
    )(_slow_touch)
    return reg

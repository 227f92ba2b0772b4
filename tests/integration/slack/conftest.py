"""End-to-end fixtures: the real engine (simulated cluster, a test RBAC policy, a SQLite audit log),
the real Bolt AsyncApp served over HTTP on loopback by the bot's own server code, and a
recording Slack Web API on loopback. Requests are signed exactly as Slack signs them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from recording_slack import RecordingSlack
from slack_harness import APPROVALS, ONCALL_CHANNEL, TEST_POLICY, Harness, registry_with_slow_action
from slack_requests import SECRET

from dcops.actions import Engine
from dcops.actions.backends.factory import build_backends
from dcops.actions.config import demo_config
from dcops.actions.rbac import Policy
from dcops.actions.store import open_store
from dcops.bots.app import build_app
from dcops.bots.server import serve_http
from dcops.bots.settings import SlackSettings


@pytest.fixture
def policy() -> Policy:
    return Policy.from_toml(TEST_POLICY, source="slack-test-policy")


@pytest.fixture
def read_only() -> bool:
    return False


@pytest.fixture
async def engine(tmp_path: Path, policy: Policy, read_only: bool) -> AsyncIterator[Engine]:
    cfg = demo_config(tmp_path)
    cfg = cfg.model_copy(update={"cluster": cfg.cluster.model_copy(update={"read_only": read_only})})
    eng = Engine(
        cfg, build_backends(cfg), open_store(cfg.audit.effective_url()), policy, registry=registry_with_slow_action()
    )
    await eng.start()
    yield eng
    await eng.aclose()


@pytest.fixture
async def slack() -> AsyncIterator[RecordingSlack]:
    api = await RecordingSlack().start()
    yield api
    await api.stop()


@pytest.fixture
async def harness(engine: Engine, slack: RecordingSlack) -> AsyncIterator[Harness]:
    settings = SlackSettings(
        bot_token="xoxb-test-token",
        signing_secret=SECRET,
        api_base_url=slack.base_url,
        approvals_channel=APPROVALS,
        channel_rules={"destructive": [ONCALL_CHANNEL]},
        update_interval=0.05,
        confirm_ttl=60,
    )
    async with aiohttp.ClientSession() as bot_session, aiohttp.ClientSession() as session:
        app, bot = build_app(engine, settings, session=bot_session)
        server = await serve_http(app, "127.0.0.1", 0)
        yield Harness(server=server, slack=slack, engine=engine, bot=bot, session=session)
        await bot.drain(timeout=10)
        await server.stop()
    await asyncio.sleep(0)

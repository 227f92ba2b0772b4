"""The dcops Slack bot: ``build_app`` wires the handlers to an engine; ``serve`` is ``dcops slack``.

The bot talks only to the action layer (engine, registry, grammar, events, errors, config): it
maps the Slack user to a principal, enforces the Slack channel rules, and renders what the engine
says. RBAC, guards, approvals and the audit log are the engine's.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from pathlib import Path

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from actions import Engine, open_engine
from actions.config import DcopsConfig, demo_config
from actions.errors import DcopsError

from . import commands, interactivity
from .bot import Bot
from .server import serve_http, serve_socket_mode
from .settings import SlackSettings

log = logging.getLogger("dcops.slack")


def web_client(settings: SlackSettings) -> AsyncWebClient:
    kwargs = {"base_url": settings.api_base_url} if settings.api_base_url else {}
    return AsyncWebClient(token=settings.bot_token, timeout=10, **kwargs)


def build_app(engine: Engine, settings: SlackSettings, *, client: AsyncWebClient | None = None) -> tuple[AsyncApp, Bot]:
    """The Bolt app with the /dcops command and the four buttons registered."""
    client = client or web_client(settings)
    app = AsyncApp(client=client, signing_secret=settings.signing_secret or "unused-in-socket-mode",
                   name="dcops", logger=logging.getLogger("dcops.slack.bolt"))
    bot = Bot(engine=engine, client=client, settings=settings)
    commands.register(app, bot)
    interactivity.register(app, bot)
    return app, bot


async def run_bot(config: DcopsConfig, settings: SlackSettings, stop: asyncio.Event) -> None:
    engine = await open_engine(config)
    try:
        app, bot = build_app(engine, settings)
        if settings.socket_mode:
            handler = await serve_socket_mode(app, settings.app_token or "")
            log.info("dcops slack: connected in Socket Mode")
            try:
                await stop.wait()
            finally:
                await handler.close_async()
        else:
            server = await serve_http(app, settings.host, settings.port)
            print(f"dcops slack: listening on {server.url}", file=sys.stderr)
            try:
                await stop.wait()
            finally:
                await server.stop()
        await bot.drain()
    finally:
        await engine.aclose()


def serve(config: DcopsConfig | None, *, demo: bool = False) -> int:
    """``dcops slack [--demo]``: serve until SIGINT/SIGTERM; returns the process exit code."""
    try:
        if demo and (config is None or not config.cluster.demo):
            base = demo_config(Path.cwd())
            config = base.model_copy(update={"slack": config.slack if config is not None else None})
        if config is None:
            from actions.errors import ConfigError

            raise ConfigError("no config: pass --config FILE or use --demo")
        settings = SlackSettings.from_config(config.slack)
    except DcopsError as exc:
        print(f"dcops slack: {exc}", file=sys.stderr)
        return exc.exit_code

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await run_bot(config, settings, stop)

    try:
        asyncio.run(main())
    except DcopsError as exc:
        print(f"dcops slack: {exc}", file=sys.stderr)
        return exc.exit_code
    return 0

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
import tempfile
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from dcops.actions import Engine, open_engine
from dcops.actions.config import DcopsConfig, demo_config
from dcops.actions.errors import BackendUnavailable, ConfigError, DcopsError

from . import commands, interactivity, replay
from .bot import Bot
from .server import serve_http, serve_socket_mode
from .settings import SlackSettings

log = logging.getLogger("dcops.slack")
T = TypeVar("T")


def web_client(settings: SlackSettings, session: aiohttp.ClientSession | None = None) -> AsyncWebClient:
    """The Web API client. With ``session`` its connections are kept alive and reused (without it
    slack_sdk opens a new session and TCP connection per call, which under a burst of commands
    costs more CPU than the rest of the bot). A 429 (chat.update is rate-limited per message) is
    retried after the Retry-After Slack sends, so a burst of events delays the message instead of
    losing updates."""
    kwargs: dict[str, Any] = {"base_url": settings.api_base_url} if settings.api_base_url else {}
    client = AsyncWebClient(token=settings.bot_token, timeout=10, session=session, **kwargs)
    client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=2))
    return client


class _NoTokenWarning(logging.Filter):
    """Bolt reads $SLACK_BOT_TOKEN itself and warns that it is unused when a client is given; we
    give a client on purpose (it carries the token and the Web API base URL), so the warning
    would only confuse whoever reads the bot's log."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


def build_app(
    engine: Engine,
    settings: SlackSettings,
    *,
    session: aiohttp.ClientSession | None = None,
    client: AsyncWebClient | None = None,
) -> tuple[AsyncApp, Bot]:
    """The Bolt app with the /dcops command and the four buttons registered. Pass the
    ``session`` the Web API calls share (the caller owns and closes it)."""
    client = client or web_client(settings, session)
    bolt_log = logging.getLogger("dcops.slack.bolt")
    if not any(isinstance(f, _NoTokenWarning) for f in bolt_log.filters):
        bolt_log.addFilter(_NoTokenWarning())
    app = AsyncApp(
        client=client, signing_secret=settings.signing_secret or "unused-in-socket-mode", name="dcops", logger=bolt_log
    )
    bot = Bot(engine=engine, client=client, settings=settings)
    replay.register(app, bot)  # after Bolt's signature check, before any handler
    commands.register(app, bot)
    interactivity.register(app, bot)
    return app, bot


async def _slack_call(what: str, call: Awaitable[T]) -> T:
    """A start-up call to Slack; its failure is a one-line error the operator can act on."""
    try:
        return await call
    except SlackApiError as exc:
        raise ConfigError(f"{what} refused by Slack: {exc.response.get('error')} (check the tokens)") from None
    except (TimeoutError, aiohttp.ClientError, OSError) as exc:
        raise BackendUnavailable(f"{what}: cannot reach the Slack API ({type(exc).__name__}: {exc})") from None


async def _check_token(bot: Bot) -> None:
    """auth.test at start, so a wrong bot token fails ``dcops slack`` at once instead of every
    command later (Bolt would only try it on the first request)."""
    await _slack_call("the bot token (auth.test)", bot.client.auth_test())


async def run_bot(config: DcopsConfig, settings: SlackSettings, stop: asyncio.Event) -> None:
    engine = await open_engine(config)
    session = aiohttp.ClientSession()
    try:
        app, bot = build_app(engine, settings, session=session)
        await _check_token(bot)
        from .alert_slack import attach

        alerts = await attach(app, bot)  # Alertmanager webhooks in this process ([alerts] slack_channel)
        if settings.socket_mode:
            handler = await _slack_call("Socket Mode connect", serve_socket_mode(app, settings.app_token or ""))
            print("dcops slack: connected in Socket Mode", file=sys.stderr)
            hook = None
            if alerts is not None:  # no HTTP server of our own: serve the receiver alone
                from .alert_webhook import serve_webhook

                hook = await serve_webhook(alerts.inbox, config)
                print(f"dcops slack: receiving alerts on {hook.url}", file=sys.stderr)
            try:
                await stop.wait()
            finally:
                await handler.close_async()
                if hook is not None:
                    await hook.stop()
        else:
            server = await serve_http(app, settings.host, settings.port, alerts.routes if alerts else None)
            print(f"dcops slack: listening on {server.url}", file=sys.stderr)
            try:
                await stop.wait()
            finally:
                await server.stop()
        await bot.drain()
    finally:
        await session.close()
        await engine.aclose()


async def _stop_signal() -> tuple[asyncio.Event, Callable[[], None]]:
    """An event set on SIGINT/SIGTERM, and a function that removes what was installed.

    Signal handlers can only be installed in the main thread. Run from a worker thread (the CLI
    calling ``serve`` through ``asyncio.to_thread``), the bot stops when the main thread ends; a
    caller on the main thread's loop should ``await serve_async(...)`` so Ctrl-C stops the bot."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    if threading.current_thread() is threading.main_thread():
        sigs = (signal.SIGINT, signal.SIGTERM)
        for sig in sigs:
            loop.add_signal_handler(sig, stop.set)

        def undo() -> None:
            for sig in sigs:
                loop.remove_signal_handler(sig)

        return stop, undo

    async def watch_main_thread() -> None:
        while threading.main_thread().is_alive():  # noqa: ASYNC110 - a thread's end sets no event to await
            await asyncio.sleep(0.5)
        stop.set()

    watcher = loop.create_task(watch_main_thread())

    def stop_watching() -> None:
        watcher.cancel()

    return stop, stop_watching


def _prepare(config: DcopsConfig | None, demo: bool) -> tuple[DcopsConfig, SlackSettings]:
    if demo and (config is None or not config.cluster.demo):
        base = demo_config(Path(tempfile.mkdtemp(prefix="dcops-slack-demo-")))
        config = base.model_copy(update={"slack": config.slack if config is not None else None})
    if config is None:
        raise ConfigError("no config: pass --config FILE or use --demo")
    return config, SlackSettings.from_config(config.slack)


async def serve_async(config: DcopsConfig | None, *, demo: bool = False) -> int:
    """``dcops slack [--demo]`` on the caller's event loop: serve until SIGINT/SIGTERM; returns the
    exit code. Every failure the operator can fix is one line on stderr."""
    settings: SlackSettings | None = None
    try:
        config, settings = _prepare(config, demo)
        stop, undo = await _stop_signal()
        try:
            await run_bot(config, settings, stop)
        finally:
            undo()
    except DcopsError as exc:
        print(f"dcops slack: {exc}", file=sys.stderr)
        return exc.exit_code
    except OSError as exc:  # e.g. the port is taken
        where = f"{settings.host}:{settings.port}" if settings else "the configured address"
        print(f"dcops slack: cannot serve on {where}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    return 0


def serve(config: DcopsConfig | None, *, demo: bool = False) -> int:
    """``dcops slack [--demo]`` in a process (or thread) of its own: see :func:`serve_async`."""
    return asyncio.run(serve_async(config, demo=demo))

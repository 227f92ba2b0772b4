"""Serving the Bolt app: over HTTP with Bolt's aiohttp adapter, or over Socket Mode.

The HTTP server is started with aiohttp's AppRunner (not ``app.start()``, which blocks and owns
the event loop) so the same code serves production, the end-to-end tests and the benchmark on
an ephemeral loopback port, and stops cleanly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp

PATH = "/slack/events"


@dataclass
class HttpServer:
    runner: web.AppRunner
    host: str
    port: int

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}{PATH}"

    async def stop(self) -> None:
        await self.runner.cleanup()


def web_app(app: AsyncApp, extra_routes: Callable[[web.Application], None] | None = None) -> web.Application:
    """One POST route for slash commands, interactivity and events; every request goes through
    Bolt's dispatcher, whose first middleware verifies the signature and timestamp (401 if not)."""

    async def handle(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await app.async_dispatch(await to_bolt_request(request)))

    async def health(_: web.Request) -> web.Response:
        return web.Response(text="ok")

    wapp = web.Application(client_max_size=1 << 20)
    wapp.router.add_post(PATH, handle)
    wapp.router.add_get("/healthz", health)
    if extra_routes is not None:  # the Alertmanager webhook, when alerts are configured
        extra_routes(wapp)
    return wapp


async def serve_http(
    app: AsyncApp, host: str, port: int, extra_routes: Callable[[web.Application], None] | None = None
) -> HttpServer:
    runner = web.AppRunner(web_app(app, extra_routes), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = site._server.sockets[0].getsockname()[1] if port == 0 else port  # type: ignore[union-attr]
    return HttpServer(runner, host, bound)


async def serve_socket_mode(app: AsyncApp, app_token: str):  # noqa: ANN201 - slack_bolt.adapter.socket_mode's handler
    """Connect to Slack over a websocket (no public URL needed); returns the connected handler."""
    from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler

    handler = AsyncSocketModeHandler(app, app_token)
    await handler.connect_async()
    return handler

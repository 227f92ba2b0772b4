"""A local Slack Web API that records every call, for end-to-end tests and the ack benchmark.

Answers what the bot uses (auth.test, chat.postMessage, chat.update, chat.postEphemeral) the way
Slack does (form or JSON bodies, ``{"ok": ...}`` replies, message timestamps), plus the
``response_url`` endpoints Slack hands out with every slash command and button click, and a Socket
Mode websocket (``apps.connections.open`` hands out its ws:// URL; envelopes sent to the bot and
the bot's acks are recorded as ``socket_ack`` calls). It listens on loopback only. ``wait_for`` lets a test wait for a call without sleeping a fixed time.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

BOT_USER = "UBOTDCOPS"


@dataclass
class Call:
    method: str  # e.g. chat.postMessage, or "response_url" for response_url posts
    args: dict[str, Any]
    token: str | None
    at: float = field(default_factory=time.monotonic)
    path: str = ""


class RecordingSlack:
    def __init__(self, *, fail: dict[str, str] | None = None) -> None:
        self.calls: list[Call] = []
        self.fail = dict(fail or {})  # method -> Slack error code to answer with
        self.rate_limit: dict[str, int] = {}  # method -> how many more calls get HTTP 429 + Retry-After
        self._ts = itertools.count(1)
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.port = 0
        self.sockets: list[web.WebSocketResponse] = []

    # ------------------------------------------------------------ server

    async def start(self) -> RecordingSlack:
        app = web.Application()
        app.router.add_post("/api/{method}", self._api)
        app.router.add_post("/response/{key}", self._response_url)
        app.router.add_get("/socket", self._socket)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    def response_url(self, key: str) -> str:
        return f"http://127.0.0.1:{self.port}/response/{key}"

    # ------------------------------------------------------------ handlers

    async def _args(self, request: web.Request) -> dict[str, Any]:
        if request.content_type == "application/json":
            return dict(await request.json())
        form = await request.post()
        args: dict[str, Any] = {}
        for k, v in form.items():
            if k in ("blocks", "attachments") and isinstance(v, str):
                v = json.loads(v)
            args[k] = v
        return args

    async def _record(self, call: Call) -> None:
        async with self._changed:
            self.calls.append(call)
            self._changed.notify_all()

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await self._args(request)
        auth = request.headers.get("Authorization", "")
        await self._record(Call(method, args, auth.removeprefix("Bearer ") or args.get("token"), path=request.path))
        if self.rate_limit.get(method, 0) > 0:
            self.rate_limit[method] -= 1
            return web.json_response({"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": "1"})
        if method in self.fail:
            return web.json_response({"ok": False, "error": self.fail[method]})
        if method == "auth.test":
            return web.json_response(
                {
                    "ok": True,
                    "url": "https://test.invalid/",
                    "team": "test",
                    "user": "dcops",
                    "team_id": "T0TEST",
                    "user_id": BOT_USER,
                    "bot_id": "B0DCOPS",
                }
            )
        if method == "chat.postMessage":
            ts = f"{int(time.time())}.{next(self._ts):06d}"
            return web.json_response(
                {"ok": True, "channel": args.get("channel"), "ts": ts, "message": {"text": args.get("text"), "ts": ts}}
            )
        if method == "chat.update":
            return web.json_response({"ok": True, "channel": args.get("channel"), "ts": args.get("ts")})
        if method == "apps.connections.open":
            return web.json_response({"ok": True, "url": f"ws://127.0.0.1:{self.port}/socket"})
        if method == "chat.postEphemeral":
            return web.json_response({"ok": True, "message_ts": f"{int(time.time())}.{next(self._ts):06d}"})
        return web.json_response({"ok": False, "error": "unknown_method"})

    async def _response_url(self, request: web.Request) -> web.Response:
        args = await self._args(request)
        await self._record(Call("response_url", args, None, path=request.path))
        return web.Response(text="ok")

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        await self._record(Call("socket_connected", {}, request.headers.get("Authorization"), path=request.path))
        self.sockets.append(ws)
        await ws.send_json({"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A0DCOPS"}})
        async for msg in ws:
            if msg.type.name == "TEXT":
                await self._record(Call("socket_ack", json.loads(msg.data), None, path=request.path))
        return ws

    async def send_envelope(self, envelope_type: str, payload: dict[str, Any], envelope_id: str) -> None:
        """Deliver an event to the connected bot as Slack's Socket Mode does."""
        await self.sockets[-1].send_json(
            {
                "envelope_id": envelope_id,
                "type": envelope_type,
                "payload": payload,
                "accepts_response_payload": envelope_type != "events_api",
            }
        )

    async def stop(self) -> None:
        for ws in self.sockets:
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    # ------------------------------------------------------------ queries

    def of(self, method: str, **match: Any) -> list[Call]:
        return [c for c in self.calls if c.method == method and all(c.args.get(k) == v for k, v in match.items())]

    async def wait_for(self, pred: Callable[[Call], bool], *, timeout: float = 10.0, count: int = 1) -> list[Call]:
        """Wait until ``count`` recorded calls satisfy ``pred``; a clear failure when they never do."""

        async def enough() -> list[Call]:
            async with self._changed:
                while True:
                    hits = [c for c in self.calls if pred(c)]
                    if len(hits) >= count:
                        return hits
                    await self._changed.wait()

        try:
            return await asyncio.wait_for(enough(), timeout)
        except TimeoutError:
            seen = ", ".join(f"{c.method}({c.args.get('text', '')!r:.60})" for c in self.calls[-12:])
            raise AssertionError(f"no matching Slack call within {timeout}s; last calls: {seen}") from None

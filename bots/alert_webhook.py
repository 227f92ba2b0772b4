"""The Alertmanager webhook receiver: an aiohttp route that authenticates the delivery and hands
it to the :class:`AlertInbox` (parse, dedupe, audit, announce). Mounted in the Slack bot's HTTP
server and served alone by ``dcops alerts serve`` for sites without Slack.

Authentication is what Alertmanager's ``http_config`` can send: a bearer token
(``authorization: {credentials: ...}``) or basic auth. The receiver refuses to start with neither
configured — an alert feed anyone can post to would let anyone put buttons in front of on-call.
A refused delivery is answered 401 and audited with the peer address; a malformed body is 400 with
one line naming what was wrong; an internal failure is 500 (Alertmanager retries it), never a
traceback in the answer.
"""

from __future__ import annotations

import base64
import hmac
import logging
import os
from dataclasses import dataclass

from aiohttp import web

from dcops.actions.alerts import AlertInbox, PayloadError
from dcops.actions.alerts.leftovers import report_left_behind
from dcops.actions.config import DcopsConfig
from dcops.actions.errors import ConfigError, DcopsError

log = logging.getLogger("dcops.alerts.webhook")


@dataclass(frozen=True)
class Credentials:
    token: str | None = None
    basic_user: str | None = None
    basic_password: str | None = None

    @classmethod
    def from_config(cls, config: DcopsConfig) -> Credentials:
        section = config.alerts
        token = os.environ.get(section.token_env) if section.token_env else None
        password = os.environ.get(section.basic_password_env) if section.basic_password_env else None
        creds = cls(
            token=token or None, basic_user=section.basic_user, basic_password=password if section.basic_user else None
        )
        if not creds.token and not (creds.basic_user and creds.basic_password):
            raise ConfigError(
                f"the alert webhook needs credentials: set ${section.token_env or 'DCOPS_ALERTS_TOKEN'} (bearer token) "
                "or [alerts] basic_user + basic_password_env; it never accepts unauthenticated alerts"
            )
        return creds

    def check(self, header: str | None) -> str | None:
        """None when the Authorization header is valid, else why not (never echoing secrets)."""
        if not header:
            return "no Authorization header"
        scheme, _, value = header.partition(" ")
        value = value.strip()
        if scheme.lower() == "bearer" and self.token:
            return None if hmac.compare_digest(value.encode(), self.token.encode()) else "wrong bearer token"
        if scheme.lower() == "basic" and self.basic_user and self.basic_password:
            try:
                user, _, password = base64.b64decode(value, validate=True).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                return "malformed basic credentials"
            good = hmac.compare_digest(user.encode(), self.basic_user.encode()) & hmac.compare_digest(
                password.encode(), self.basic_password.encode()
            )
            return None if good else "wrong basic-auth user or password"
        return f"unsupported Authorization scheme {scheme[:20]!r}"


def add_routes(app: web.Application, inbox: AlertInbox, creds: Credentials, path: str) -> None:
    async def receive(request: web.Request) -> web.Response:
        peer = request.remote or "?"
        problem = creds.check(request.headers.get("Authorization"))
        if problem is not None:
            await inbox.refuse(f"unauthenticated alert webhook refused: {problem}", peer=peer)
            return web.json_response(
                {"error": "unauthorized"}, status=401, headers={"WWW-Authenticate": 'Bearer realm="dcops"'}
            )
        try:
            body = await request.read()
            report = await inbox.receive(body, sender=peer)
        except web.HTTPRequestEntityTooLarge:
            await inbox.refuse("alert webhook body too large", peer=peer, denied=False)
            return web.json_response({"error": "body too large"}, status=413)
        except PayloadError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        except DcopsError as exc:
            log.warning("alert delivery from %s failed: %s", peer, exc)
            return web.json_response({"error": str(exc)}, status=500)
        except Exception:
            log.exception("alert delivery from %s crashed", peer)
            return web.json_response({"error": "internal error (see the dcops log)"}, status=500)
        return web.json_response(
            {
                "ok": True,
                "new": len(report.new),
                "repeats": report.repeats,
                "auto_runs": report.auto_runs,
                "summary": report.line,
            }
        )

    app.router.add_post(path, receive)


@dataclass
class WebhookServer:
    runner: web.AppRunner
    host: str
    port: int
    path: str

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}{self.path}"

    async def stop(self) -> None:
        await self.runner.cleanup()


async def serve_webhook(
    inbox: AlertInbox, config: DcopsConfig, *, host: str | None = None, port: int | None = None
) -> WebhookServer:
    """Serve the receiver alone (``dcops alerts serve``); ``port=0`` picks a free one (tests)."""
    creds = Credentials.from_config(config)
    section = config.alerts
    app = web.Application(client_max_size=section.max_body)
    add_routes(app, inbox, creds, section.path)

    async def health(_: web.Request) -> web.Response:
        return web.Response(text="ok")

    app.router.add_get("/healthz", health)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    host = host or section.host
    site = web.TCPSite(runner, host, section.port if port is None else port)
    await site.start()
    bound = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return WebhookServer(runner, host, bound, section.path)


async def serve_async(config: DcopsConfig) -> int:
    """``dcops alerts serve``: receive until SIGINT/SIGTERM."""
    import asyncio
    import signal
    import sys

    from dcops.actions import open_engine

    try:
        creds_ok = Credentials.from_config(config)  # fail before opening anything
        del creds_ok
        engine = await open_engine(config)
    except DcopsError as exc:
        print(f"dcops alerts serve: {exc}", file=sys.stderr)
        return exc.exit_code
    try:
        inbox = AlertInbox(engine)
        await inbox.load()
        left = await report_left_behind(engine)
        if left:
            print(f"dcops alerts: warning: {left}", file=sys.stderr)
        try:
            server = await serve_webhook(inbox, config)
        except OSError as exc:
            print(
                f"dcops alerts serve: cannot listen on {config.alerts.host}:{config.alerts.port}: "
                f"{exc.strerror or exc}",
                file=sys.stderr,
            )
            return 1
        print(f"dcops alerts: receiving Alertmanager webhooks on {server.url}", file=sys.stderr)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            await stop.wait()
        finally:
            await server.stop()
    finally:
        await engine.aclose()
    return 0

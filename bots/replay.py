"""Refuse a signed Slack request seen before (a replay) and audit the refusal.

Slack's signature covers ``v0:<timestamp>:<body>`` and Bolt accepts a timestamp up to five
minutes old, so anyone who captured one request (a proxy log, a shared HAR file) could resend it
within that window and run the same drain again: the signature is still valid. Slack never sends
the same signed request twice (its retries carry a new timestamp, so a new signature), so a
signature seen within the window is a replay. We remember each accepted signature until its
timestamp leaves the window, and the trigger_id of interactive payloads for the same time.

Runs as a Bolt global middleware, i.e. after Bolt's own signature and timestamp check: only
genuinely signed requests are remembered, so a forger cannot fill the memory or block a real
request. Socket Mode requests are not signed (the websocket is authenticated) and pass through.
"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import parse_qs

from slack_bolt.async_app import AsyncApp
from slack_bolt.response import BoltResponse

from .identity import PREFIX

WINDOW = 60 * 5 + 60  # Bolt's timestamp tolerance (5 min) plus clock skew


class SeenRequests:
    """Signatures / trigger ids accepted within the window; O(1) look-up, pruned as time passes."""

    def __init__(self, window: float = WINDOW) -> None:
        self.window = window
        self._seen: dict[str, float] = {}  # key -> when it may be forgotten (insertion order = age)

    def first_time(self, keys: list[str], now: float | None = None) -> bool:
        """True (and remember ``keys``) when none was seen within the window."""
        now = time.time() if now is None else now
        while self._seen:
            oldest, until = next(iter(self._seen.items()))
            if until > now:
                break
            del self._seen[oldest]
        if any(k in self._seen for k in keys):
            return False
        for k in keys:
            self._seen[k] = now + self.window
        return True


def _who_and_what(body: dict[str, Any]) -> tuple[str, str]:
    """(user id, action word) of a slash command or an interactive payload, for the audit record."""
    if "payload" in body:
        try:
            payload = json.loads(body["payload"]) if isinstance(body["payload"], str) else body["payload"]
        except ValueError:
            return "", "?"
        action = (payload.get("actions") or [{}])[0].get("action_id", "?")
        return str((payload.get("user") or {}).get("id") or ""), f"button:{action}"
    text = str(body.get("text") or "").split()
    return str(body.get("user_id") or ""), text[0] if text else "help"


def register(app: AsyncApp, bot: Any) -> SeenRequests:
    seen = SeenRequests()

    @app.middleware
    async def refuse_replays(req, next):  # noqa: ANN001, ANN202 - Bolt injects by name
        signature = (req.headers.get("x-slack-signature") or [""])[0]
        if not signature:  # Socket Mode: nothing to replay
            return await next()
        keys = [f"sig:{signature}"]
        raw = parse_qs(req.raw_body or "")
        body: dict[str, Any] = {k: v[0] for k, v in raw.items()}
        trigger = body.get("trigger_id")
        if not trigger and "payload" in body:
            try:
                trigger = json.loads(body["payload"]).get("trigger_id")
            except ValueError:
                trigger = None
        if trigger:
            keys.append(f"trigger:{trigger}")
        if seen.first_time(keys):
            return await next()
        user, what = _who_and_what(body)
        ts = (req.headers.get("x-slack-request-timestamp") or ["?"])[0]
        await bot.engine.reject(
            PREFIX + user if user else "slack:?",
            "slack",
            what,
            f"replayed Slack request refused (signature already used, timestamp {ts})",
            params={"text": body.get("text", "")},
            denied=True,
        )
        return BoltResponse(status=401, body="replayed request")

    return seen

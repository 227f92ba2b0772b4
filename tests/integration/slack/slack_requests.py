"""Requests as Slack sends them: signed slash-command and interactivity bodies over real HTTP.

Signing uses slack_sdk's own SignatureVerifier.generate_signature, the same code Bolt uses to
verify, so a test that passes here exercises the real check (v0 HMAC-SHA256 over
``v0:<timestamp>:<body>`` with the X-Slack-Request-Timestamp / X-Slack-Signature headers).
"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlencode

import aiohttp
from slack_sdk.signature import SignatureVerifier

SECRET = "test-signing-secret-0123456789abcdef"


def signed_headers(body: str, *, secret: str = SECRET, timestamp: int | None = None) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    sig = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    assert sig is not None
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": sig,
    }


def slash_body(text: str, *, user: str, channel: str, response_url: str, command: str = "/dcops") -> str:
    return urlencode(
        {
            "token": "legacy-unused",
            "team_id": "T0TEST",
            "team_domain": "test",
            "channel_id": channel,
            "channel_name": "ops",
            "user_id": user,
            "user_name": f"name-of-{user}",
            "command": command,
            "text": text,
            "api_app_id": "A0DCOPS",
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": f"trig.{time.monotonic_ns()}",
        }
    )


def button_body(
    *,
    action_id: str,
    value: str,
    user: str,
    channel: str,
    response_url: str,
    message_ts: str | None = None,
    ephemeral: bool = False,
) -> str:
    """A block_actions payload as Slack sends it when someone clicks a button."""
    ts = message_ts or f"{int(time.time())}.000100"
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": user, "username": f"name-of-{user}", "team_id": "T0TEST"},
        "api_app_id": "A0DCOPS",
        "token": "legacy-unused",
        "container": {"type": "message", "message_ts": ts, "channel_id": channel, "is_ephemeral": ephemeral},
        "trigger_id": f"trig.{time.monotonic_ns()}",
        "team": {"id": "T0TEST", "domain": "test"},
        "channel": {"id": channel, "name": "ops"},
        "response_url": response_url,
        "actions": [
            {
                "action_id": action_id,
                "block_id": "b1",
                "value": value,
                "type": "button",
                "action_ts": f"{time.time():.6f}",
                "text": {"type": "plain_text", "text": action_id},
            }
        ],
    }
    if not ephemeral:
        payload["message"] = {"type": "message", "ts": ts, "text": "", "user": "UBOTDCOPS"}
    return urlencode({"payload": json.dumps(payload)})


async def post_signed(
    session: aiohttp.ClientSession, url: str, body: str, *, secret: str = SECRET, timestamp: int | None = None
) -> tuple[int, str]:
    async with session.post(
        url, data=body.encode(), headers=signed_headers(body, secret=secret, timestamp=timestamp)
    ) as resp:
        return resp.status, await resp.text()

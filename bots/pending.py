"""Confirmations waiting for the requester's click.

The Confirm button carries ``<id>:<nonce>``; the request itself (action, params, the engine's
confirmation token) stays here in the bot, never in the payload, so a forged or replayed button
value cannot change what runs. An entry is bound to its requester, used at most once, and
expires. In memory on purpose: a restarted bot forgets prompts, and the user simply re-runs the
command (safer than honouring a stale confirmation).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from dcops.actions.errors import DeniedError

DEFAULT_TTL = 300.0


@dataclass(frozen=True)
class PendingConfirm:
    id: str
    nonce: str
    requester: str  # Slack user id
    channel_id: str
    command_text: str
    action: str
    params: dict[str, Any]
    token: str  # what the engine wants echoed in Request.confirm
    expires: float

    @property
    def value(self) -> str:
        return f"{self.id}:{self.nonce}"


@dataclass
class PendingConfirms:
    ttl: float = DEFAULT_TTL
    _items: dict[str, PendingConfirm] = field(default_factory=dict)

    def add(
        self, *, requester: str, channel_id: str, command_text: str, action: str, params: dict[str, Any], token: str
    ) -> PendingConfirm:
        self._expire()
        item = PendingConfirm(
            id=secrets.token_hex(6),
            nonce=secrets.token_urlsafe(16),
            requester=requester,
            channel_id=channel_id,
            command_text=command_text,
            action=action,
            params=dict(params),
            token=token,
            expires=time.monotonic() + self.ttl,
        )
        self._items[item.id] = item
        return item

    def take(self, value: str, user_id: str) -> PendingConfirm:
        """Remove and return the request a button click names; one-line DeniedError otherwise.

        Someone else's click does not consume the entry: the requester can still confirm."""
        pid, _, nonce = (value or "").partition(":")
        item = self._items.get(pid)
        if item is None or not secrets.compare_digest(item.nonce, nonce):
            raise DeniedError("this confirmation is unknown or was already used; run the command again")
        if item.requester != user_id:
            raise DeniedError(f"only <@{item.requester}>, who ran the command, can confirm or cancel it")
        del self._items[pid]
        if time.monotonic() > item.expires:
            raise DeniedError(f"this confirmation expired after {self.ttl:.0f}s; run the command again")
        return item

    def _expire(self) -> None:
        now = time.monotonic()
        for pid in [k for k, v in self._items.items() if now > v.expires]:
            del self._items[pid]

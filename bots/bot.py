"""What the handlers share: the engine, the Web API client, settings, pending confirmations,
and the background tasks that follow runs after the ack.

Handlers ack first and hand long work to :meth:`Bot.spawn`, so Slack's 3-second ack deadline
never depends on the cluster; the tasks are tracked so shutdown can wait for them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from dcops.actions import Engine

from .pending import PendingConfirms
from .settings import SlackSettings

log = logging.getLogger("dcops.slack")
WORK_SLOTS = 4


@dataclass(frozen=True)
class ApprovalNote:
    """Where to tell the requester about a decision. Lost on restart: the bot then falls back to
    what the engine stored (requester principal, action, params) and a DM to the requester."""

    requester: str  # Slack user id
    origin: str  # channel the command came from
    command_text: str
    posted_channel: str | None = None  # where the Approve / Deny message is
    posted_ts: str | None = None


@dataclass
class Bot:
    engine: Engine
    client: AsyncWebClient
    settings: SlackSettings
    pending: PendingConfirms = field(default_factory=PendingConfirms)
    approvals: dict[str, ApprovalNote] = field(default_factory=dict)
    tasks: set[asyncio.Task[Any]] = field(default_factory=set)
    pending_alerts: dict[str, str] = field(default_factory=dict)  # pending confirm value -> alert fingerprint
    alert_hook: Any = None  # (fingerprint, user, command text, run) when a run started from an alert
    # after-ack work running at once: under a burst, acks (which Slack times out after 3 s) are
    # answered first and the queued work follows, instead of every ack waiting behind all the work.
    # The work is short (submit, post, hand the run to a follower task), so few slots suffice;
    # 4 measured best on 2 cores (tests/bench/slack_ack.py: p99 ~100-150 ms against ~200-380 ms
    # unbounded under the same load). A backend hanging inside submit holds a slot meanwhile.
    work_slots: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(WORK_SLOTS))

    def __post_init__(self) -> None:
        self.pending.ttl = self.settings.confirm_ttl

    @property
    def read_only(self) -> bool:
        return self.engine.config.cluster.read_only

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro, name=name)
        self.tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background task %s failed", task.get_name(), exc_info=task.exception())

    async def drain(self, timeout: float = 10.0) -> None:
        """Wait for in-flight work (run messages, approvals) before the process exits."""
        if self.tasks:
            await asyncio.wait(set(self.tasks), timeout=timeout)

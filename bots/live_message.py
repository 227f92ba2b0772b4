"""One run, one Slack message: posted when the run starts, then rewritten with ``chat.update``
as its events arrive, and a last time when it finishes.

Updates are coalesced: events that arrive faster than ``interval`` (Slack rate-limits
chat.update to about one per second per message) are folded into the next update, and the final
state is always written. A failing Slack call is logged and skipped; it never stops the run
(the engine owns the run; the message is only a view). When the bot cannot post in the channel
(a DM or a channel it was not invited to), the final state goes to the requester through the
command's ``response_url`` instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import ContextBlock, MarkdownTextObject
from slack_sdk.web.async_client import AsyncWebClient

from dcops.actions import Run, events

from .blocks import run_message, table_block
from .run_view import RunView

log = logging.getLogger("dcops.slack")

Respond = Callable[..., Awaitable[Any]]


class LiveMessage:
    def __init__(
        self,
        client: AsyncWebClient,
        channel: str,
        view: RunView,
        *,
        interval: float = 1.0,
        respond: Respond | None = None,
        thread_ts: str | None = None,
    ) -> None:
        self.client, self.channel, self.view = client, channel, view
        self.interval = interval
        self.respond = respond
        self.thread_ts = thread_ts
        self.ts: str | None = None
        self.updates = 0
        self._dirty = asyncio.Event()
        self._sending = asyncio.Lock()  # one chat.update at a time, so they reach Slack in order

    async def follow(self, run: Run) -> events.RunFinished | None:
        """Render ``run`` until it finishes; returns its RunFinished."""
        for event in run.history[:1]:
            self.view.apply(event)
        await self._post()
        flusher = asyncio.create_task(self._flush_loop()) if self.ts else None
        try:
            async for event in run.events():
                if self.view.apply(event):
                    self._dirty.set()
        finally:
            if flusher is not None:
                flusher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await flusher
            await self._final()
        return self.view.finished

    def _render(self) -> tuple[str, list[dict[str, Any]]]:
        """The message; should rendering ever fail (a bug), a plain line still says how the run
        ended, so a message is never left saying "running" forever."""
        try:
            return run_message(self.view)
        except Exception:  # logged with its traceback; the user gets the plain line
            log.exception("rendering run %s failed", self.view.run_id)
            state = self.view.finished.outcome if self.view.finished else "running"
            line = (
                f"dcops {self.view.action}: {state} (run {self.view.run_id or '?'}; rendering failed, see the bot log)"
            )
            return line, [{"type": "section", "text": {"type": "plain_text", "text": line}}]

    async def _thread_table(self) -> None:
        """A large read result: the channel message keeps the summary and the first rows, the full
        table goes into its thread, so a 64-node listing never floods the channel."""
        result, limit = self.view.result, self.view.public_rows
        if result is None or result.table is None or limit is None or len(result.table.rows) <= limit:
            return
        blocks, note = table_block(result.table, result.row_model)
        text = f"{self.view.action}: {len(result.table.rows)} rows"
        if note:
            blocks.append(ContextBlock(elements=[MarkdownTextObject(text=note)]))
        try:
            await self.client.chat_postMessage(
                channel=self.channel,
                thread_ts=self.ts,
                text=text,
                blocks=[b.to_dict() for b in blocks],
                unfurl_links=False,
            )
        except SlackApiError as exc:
            log.warning(
                "cannot post the full table of run %s in its thread: %s", self.view.run_id, exc.response.get("error")
            )

    async def _post(self) -> None:
        text, blocks = self._render()
        try:
            resp = await self.client.chat_postMessage(
                channel=self.channel, text=text, blocks=blocks, thread_ts=self.thread_ts, unfurl_links=False
            )
            self.ts = resp["ts"]
        except SlackApiError as exc:
            log.warning(
                "cannot post the run message in %s (%s); the result goes to the requester",
                self.channel,
                exc.response.get("error"),
            )

    async def _flush_loop(self) -> None:
        last = 0.0
        while True:
            await self._dirty.wait()
            wait = self.interval - (time.monotonic() - last)
            if wait > 0:
                await asyncio.sleep(wait)
            self._dirty.clear()
            last = time.monotonic()
            # shielded: stopping the loop must not abandon an update already sent, which could
            # then reach Slack after the final one and leave an older state on screen
            await asyncio.shield(self._update())

    async def _update(self) -> None:
        if self.ts is None:  # nothing posted yet: there is no message to update
            return
        async with self._sending:
            text, blocks = self._render()
            try:
                await self.client.chat_update(channel=self.channel, ts=self.ts, text=text, blocks=blocks)
                self.updates += 1
            except SlackApiError as exc:
                log.warning("chat.update of run %s failed: %s", self.view.run_id, exc.response.get("error"))

    async def _final(self) -> None:
        if self.ts is not None:
            await self._update()
            await self._thread_table()
        elif self.respond is not None:
            text, blocks = self._render()
            try:
                await self.respond(text=text, blocks=blocks, response_type="ephemeral", replace_original=False)
            except Exception as exc:  # noqa: BLE001 - the response_url may have expired; nothing else to tell
                log.warning("cannot tell the requester the result of run %s: %s", self.view.run_id, exc)

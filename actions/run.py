"""A run: one accepted request executing in the background, with an event history any number of
viewers can follow (the TUI's operations screen, a Slack message, the CLI)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from .events import Event, Progress, Result, RunFinished, Step

STOP_KEY = "stop"  # journal key a `stop` request writes; the engine running the run watches for it


@dataclass
class Run:
    run_id: str
    action: str
    principal: str
    channel: str
    targets: list[str]
    params: dict
    dry_run: bool = False
    started: float = field(default_factory=time.time)
    history: list[Event] = field(default_factory=list)
    finished: RunFinished | None = None
    result: Result | None = None
    progress: Progress | None = None
    steps: dict[str, Step] = field(default_factory=dict)  # latest step per target
    stopped_by: str | None = None  # who asked for the stop (audited by `stop`)
    _task: asyncio.Task[None] | None = None
    _waiters: list[asyncio.Future[None]] = field(default_factory=list)

    @property
    def active(self) -> bool:
        return self.finished is None

    def emit(self, event: Event) -> None:
        self.history.append(event)
        if isinstance(event, Step):
            self.steps[event.target] = event
        elif isinstance(event, Progress):
            self.progress = event
        elif isinstance(event, Result):
            self.result = event
        elif isinstance(event, RunFinished):
            self.finished = event
        if self._waiters:
            waiters, self._waiters = self._waiters, []
            for w in waiters:
                if not w.done():
                    w.set_result(None)

    async def events(self) -> AsyncIterator[Event]:
        """Every event from the start, then live ones, ending with RunFinished."""
        i = 0
        while True:
            while i < len(self.history):
                event = self.history[i]
                i += 1
                yield event
                if isinstance(event, RunFinished):
                    return
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            await waiter

    def cancel(self, by: str | None = None) -> bool:
        if self._task is not None and not self._task.done():
            if by and self.stopped_by is None:
                self.stopped_by = by
            self._task.cancel()
            return True
        return False

    async def wait(self) -> RunFinished:
        """The run's RunFinished, once it is emitted. Waits on the same futures as :meth:`events`
        without iterating it: an async generator left at its last event would be finalised through
        the loop's thread-safe hook (a self-pipe write per run on the engine's hot path)."""
        while self.finished is None:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            await waiter
        return self.finished

"""Run one async step per target, at most N at once, reporting per-target results as events and
halting when failures exceed a threshold.

Hand-written rather than taken from a library because the policy is ours: the halting rule
(stop *starting* new targets once failures exceed ``max_failures``, let running ones finish,
mark the rest skipped) and the event stream the front ends render are both dcops-specific, and
asyncio's TaskGroup/Semaphore already give the concurrency.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

from .errors import DcopsError
from .events import ActionEvent, Progress, Step


class StepReporter:
    """Handed to the per-target function so it can report intermediate status lines."""

    def __init__(self, target: str, queue: asyncio.Queue[ActionEvent | None]) -> None:
        self.target = target
        self._queue = queue

    def update(self, detail: str, *, keep: bool = False) -> None:
        self._queue.put_nowait(Step(target=self.target, status="running", detail=detail, keep=keep))

    def step_done(self, detail: str) -> None:
        """A finished sub-step of this target (e.g. "drained" in a reimage): audited, unlike update()."""
        self._queue.put_nowait(Step(target=self.target, status="ok", detail=detail, keep=True))


StepFn = Callable[[str, StepReporter], Awaitable[str | None]]


class Fanout:
    """Async-iterate it for events; afterwards ``ok``, ``failed`` and ``skipped`` hold the
    per-target detail strings."""

    def __init__(
        self,
        items: Sequence[str],
        fn: StepFn,
        *,
        max_parallel: int = 16,
        max_failures: int | None = None,
        label: str = "",
    ) -> None:
        if max_parallel < 1:
            raise ValueError("max_parallel must be >= 1")
        self.items = list(items)
        self.fn = fn
        self.max_parallel = max_parallel
        self.max_failures = max_failures
        self.label = label
        self.ok: dict[str, str] = {}
        self.failed: dict[str, str] = {}
        self.skipped: dict[str, str] = {}
        self.halted = False

    @property
    def all_ok(self) -> bool:
        return not self.failed and not self.skipped

    def _over_threshold(self) -> bool:
        return self.max_failures is not None and len(self.failed) > self.max_failures

    async def _one(self, item: str, queue: asyncio.Queue[ActionEvent | None], sem: asyncio.Semaphore) -> None:
        async with sem:
            if self._over_threshold():
                self.halted = True
                detail = f"not started: {len(self.failed)} failures exceed --max-failures {self.max_failures}"
                self.skipped[item] = detail
                queue.put_nowait(Step(target=item, status="skipped", detail=detail))
            else:
                queue.put_nowait(Step(target=item, status="running", detail="", keep=False))
                try:
                    detail = await self.fn(item, StepReporter(item, queue)) or "done"
                except asyncio.CancelledError:
                    self.skipped[item] = "cancelled"
                    queue.put_nowait(Step(target=item, status="cancelled", detail="cancelled"))
                    raise
                except DcopsError as exc:
                    self.failed[item] = str(exc)
                    queue.put_nowait(Step(target=item, status="failed", detail=str(exc)))
                except Exception as exc:  # noqa: BLE001 - a bug or an unforeseen backend error: report per target
                    msg = f"{type(exc).__name__}: {exc}".splitlines()[0]
                    self.failed[item] = msg
                    queue.put_nowait(Step(target=item, status="failed", detail=msg))
                else:
                    self.ok[item] = detail
                    queue.put_nowait(Step(target=item, status="ok", detail=detail))
        done = len(self.ok) + len(self.failed) + len(self.skipped)
        queue.put_nowait(Progress(done=done, total=len(self.items), label=self.label))

    async def __aiter__(self) -> AsyncIterator[ActionEvent]:
        queue: asyncio.Queue[ActionEvent | None] = asyncio.Queue()
        sem = asyncio.Semaphore(self.max_parallel)
        yield Progress(done=0, total=len(self.items), label=self.label)

        async def runner() -> None:
            try:
                async with asyncio.TaskGroup() as tg:
                    for item in self.items:
                        tg.create_task(self._one(item, queue, sem))
            finally:
                queue.put_nowait(None)

        task = asyncio.create_task(runner())
        try:
            while (event := await queue.get()) is not None:
                yield event
            await task
        finally:
            if not task.done():
                task.cancel()
                try:
                    await task
                except (asyncio.CancelledError, Exception):  # noqa: BLE001 - reported per target
                    pass

    def summary(self, verb: str = "done") -> str:
        parts = [f"{len(self.ok)}/{len(self.items)} {verb}"]
        if self.failed:
            parts.append(f"{len(self.failed)} failed ({', '.join(sorted(self.failed))})")
        if self.skipped:
            parts.append(f"{len(self.skipped)} skipped")
        return "; ".join(parts)

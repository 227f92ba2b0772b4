"""One read shared by every caller waiting for it, and never older than the question.

A rolling update polls "is node X Ready / cordoned" for up to ``--max-parallel`` nodes at once, and
the Kubernetes port answers with the whole node list (plus the operator pods): 16 nodes polling
each second made 16 full-cluster reads a second, O(nodes^2) over a 64-node rollout, and most of
the lab API server's and our kube-client CPU. :class:`FreshRead` gives every caller that asked
while no read had started yet one shared read; a caller that asks while a read is already on its
way waits for the NEXT read, started after it asked. So no caller ever gets state from before its
own question (a cache would: reimage once served a stale NHC reason from one), and concurrent
callers cost one read instead of one each.

Not a library: ``aiocache``/``async-lru`` cache by time or key and would serve answers older than
the question; this is the "single flight" of Go's ``singleflight`` with the freshness rule above.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class FreshRead(Generic[T]):
    """``await shared.get()``: the result of a ``read()`` that started after this call."""

    def __init__(self, read: Callable[[], Awaitable[T]]) -> None:
        self._read = read
        self._next: asyncio.Future[T] | None = None  # the read not started yet, and who waits for it
        self._runner: asyncio.Task[None] | None = None
        self.reads = 0  # how many reads were made (tests and benchmarks look)

    async def get(self) -> T:
        if self._next is None:
            self._next = asyncio.get_running_loop().create_future()
            self._next.add_done_callback(_retrieve)  # a failure nobody waits for any more is not "lost"
        waiting = self._next
        if self._runner is None or self._runner.done():
            self._runner = asyncio.create_task(self._run())
        return await asyncio.shield(waiting)  # one caller cancelled does not cancel the others' read

    async def _run(self) -> None:
        while self._next is not None:
            now, self._next = self._next, None  # everyone on `now` asked before this read starts
            self.reads += 1
            try:
                value = await self._read()
            except asyncio.CancelledError:
                now.cancel()
                raise
            except Exception as exc:  # noqa: BLE001 - handed to every caller of this read
                now.set_exception(exc)
            else:
                now.set_result(value)


def _retrieve(fut: asyncio.Future[Any]) -> None:
    if not fut.cancelled():
        fut.exception()

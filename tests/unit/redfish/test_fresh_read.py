"""FreshRead: callers waiting together share one read, and no caller gets a read that started
before it asked (the stale-health bug a cache would bring back)."""

from __future__ import annotations

import asyncio

import pytest

from dcops.actions.ops._fresh_read import FreshRead


class Source:
    """A read that returns a version counter, taking ``delay`` seconds; records when each read started."""

    def __init__(self, delay: float = 0.01) -> None:
        self.version = 0
        self.delay = delay
        self.started: list[int] = []
        self.fail: Exception | None = None

    async def read(self) -> int:
        seen = self.version  # the state at the moment the read starts
        self.started.append(seen)
        await asyncio.sleep(self.delay)
        if self.fail is not None:
            raise self.fail
        return seen


async def test_sixteen_callers_at_once_cost_one_read() -> None:
    src = Source()
    shared = FreshRead(src.read)
    got = await asyncio.gather(*(shared.get() for _ in range(16)))
    assert got == [0] * 16
    assert shared.reads == 1 == len(src.started)


async def test_a_caller_asking_during_a_read_gets_the_next_read_not_the_running_one() -> None:
    src = Source(delay=0.05)
    shared = FreshRead(src.read)
    first = asyncio.create_task(shared.get())
    await asyncio.sleep(0.01)  # the first read is on its way, it saw version 0
    src.version = 1  # e.g. our own cordon landed
    late = await asyncio.gather(shared.get(), shared.get())
    assert await first == 0
    assert late == [1, 1]  # a read that started after they asked, shared by both
    assert src.started == [0, 1]


async def test_sequential_callers_each_get_a_new_read() -> None:
    src = Source(delay=0)
    shared = FreshRead(src.read)
    for v in range(3):
        src.version = v
        assert await shared.get() == v
    assert shared.reads == 3


async def test_a_failed_read_fails_everyone_waiting_on_it_and_the_next_read_is_tried_again() -> None:
    src = Source()
    src.fail = RuntimeError("kube: list nodes: connection refused")
    shared = FreshRead(src.read)
    results = await asyncio.gather(shared.get(), shared.get(), return_exceptions=True)
    assert [str(r) for r in results] == ["kube: list nodes: connection refused"] * 2
    src.fail = None
    src.version = 7
    assert await shared.get() == 7


async def test_one_caller_cancelled_does_not_cancel_the_others_read() -> None:
    src = Source(delay=0.05)
    shared = FreshRead(src.read)
    quitter = asyncio.create_task(shared.get())
    stayer = asyncio.create_task(shared.get())
    await asyncio.sleep(0.01)
    quitter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await quitter
    assert await stayer == 0

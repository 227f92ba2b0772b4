"""The engine on its own thread and event loop, and the console's handle to it.

Why a thread: the engine is async, but some of its work is CPU-bound in Python — the simulator
behind ``--demo`` evaluates PromQL for every GPU of a 10,000-node fleet, verifying a long audit
chain hashes every record — and on the UI's event loop that work would freeze the screen for its
whole duration. On a loop of its own, the GIL still switches every few milliseconds, so the
console keeps repainting and answering keys while the engine works.

Only what the console uses crosses the thread boundary: coroutines are submitted with
``run_coroutine_threadsafe``; cheap synchronous queries (``decide``, ``node_names``, the run list)
read shared state directly, which is safe under the GIL for the plain containers involved.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from dcops.actions import ActionSpec, Engine, Request, Run
from dcops.actions.config import DcopsConfig
from dcops.actions.events import RunFinished

T = TypeVar("T")


class EngineLink:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="dcops-engine", daemon=True)
        self._thread.start()
        self._engine: Engine | None = None

    @classmethod
    async def open(cls, factory: Callable[[DcopsConfig], Awaitable[Engine]], config: DcopsConfig) -> EngineLink:
        link = cls()
        try:
            link._engine = await link.call(factory(config))  # type: ignore[arg-type]
        except BaseException:
            link._stop()
            raise
        return link

    @property
    def engine(self) -> Engine:
        assert self._engine is not None
        return self._engine

    async def call(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the engine's loop and await its result from the UI's loop."""
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self.loop))

    # ------------------------------------------------------------------ the engine API the console uses
    async def submit(self, request: Request) -> Run:
        return await self.call(self.engine.submit(request))

    async def wait(self, run: Run) -> RunFinished:
        return await self.call(run.wait())

    def cancel(self, run: Run) -> bool:
        if not run.active:
            return False
        self.loop.call_soon_threadsafe(run.cancel)
        return True

    async def approvals(self) -> list:
        return await self.call(self.engine.approvals())

    async def approve(self, approval_id: str, approver: str, channel: str) -> Run:
        return await self.call(self.engine.approve(approval_id, approver, channel))

    async def deny(self, approval_id: str, approver: str, channel: str, reason: str = "") -> Any:
        return await self.call(self.engine.deny(approval_id, approver, channel, reason))

    def runs(self) -> list[Run]:
        return self.engine.runs()

    async def shared_runs(self, steps_of: tuple[str, ...] = ()) -> list[Run]:
        """Runs other processes sharing the audit store started (read from the store); finished
        ones carry their steps only when named in ``steps_of`` (the run a screen shows)."""
        return await self.call(self.engine.shared_runs(steps_of=steps_of))

    def get_run(self, run_id: str) -> Run | None:
        return self.engine.get_run(run_id)

    def node_names(self) -> list[str]:
        return self.engine.node_names()

    def decide(self, principal: str, action: str) -> Any:
        return self.engine.decide(principal, action)

    def actions_for(self, principal: str) -> list[ActionSpec]:
        return self.engine.actions_for(principal)

    async def aclose(self) -> None:
        try:
            if self._engine is not None:
                await self.call(self._engine.aclose())
        finally:
            self._stop()

    def _stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        if not self._thread.is_alive():
            self.loop.close()

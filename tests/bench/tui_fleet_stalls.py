"""Where the console's event loop stalls: blocked intervals with timestamps and who held the GIL.

Bench-only instrument for ``tests/bench/tui_fleet_prometheus.py --stalls`` (not collected by pytest).
Two clocks tell two kinds of stall apart:

* a heartbeat on the UI's event loop (a callback every ``tick``): when it is late, the loop was
  busy (a long callback of its own) or could not get the GIL;
* a watcher thread that sleeps ``tick`` and notes how late it wakes: when it is late too, some
  thread held the GIL without switching (one long C call: a JSON decode, a big ``sorted``, a
  collection), which no amount of threading on the UI side can hide.

When the loop is late, the watcher samples every thread's stack (innermost frames first), so the
report names what ran during the stall. Why not ``loop.slow_callback_duration``: asyncio's debug
mode slows every callback and names the callback, not the other thread holding the GIL.
"""

from __future__ import annotations

import asyncio
import sys
import threading
import time
from dataclasses import dataclass, field


@dataclass
class Stall:
    start: float  # perf_counter of the last heartbeat before it
    length: float  # seconds the loop's heartbeat was late (the stall seen so far)
    watcher_late: float  # the longest the watcher itself woke late during it (GIL held)
    stacks: list[str] = field(default_factory=list)  # one line per sampled thread


def _stack(frame, depth: int = 6) -> str:  # noqa: ANN001
    parts: list[str] = []
    while frame is not None and len(parts) < depth:
        code = frame.f_code
        parts.append(f"{code.co_filename.rsplit('/', 2)[-1]}:{frame.f_lineno}:{code.co_name}")
        frame = frame.f_back
    return " < ".join(parts)


class StallWatch:
    """Start in the UI's loop (``start()``), stop with ``stop()``; ``stalls`` holds every interval
    during which the loop's heartbeat was more than ``threshold`` late."""

    def __init__(self, threshold: float = 0.03, tick: float = 0.002) -> None:
        self.threshold, self.tick = threshold, tick
        self.stalls: list[Stall] = []
        self._beat = time.perf_counter()
        self._running = False
        self._loop_thread = threading.get_ident()

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._running = True
        self._heartbeat()
        self._thread = threading.Thread(target=self._watch, name="stallwatch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._running = False
        self._thread.join()

    def _heartbeat(self) -> None:
        self._beat = time.perf_counter()
        if self._running:
            self._loop.call_later(self.tick, self._heartbeat)

    def _watch(self) -> None:
        current: Stall | None = None
        last_sample = 0.0
        names = {}
        while self._running:
            before = time.perf_counter()
            time.sleep(self.tick)
            now = time.perf_counter()
            late = now - before - self.tick
            lag = now - self._beat
            if lag <= self.threshold:
                current = None
                continue
            if current is None or current.start != self._beat:
                current = Stall(self._beat, lag, late)
                self.stalls.append(current)
                last_sample = 0.0
            current.length = max(current.length, lag)
            current.watcher_late = max(current.watcher_late, late)
            if now - last_sample >= 0.01:  # a sample every 10 ms of the stall
                last_sample = now
                names = {t.ident: t.name for t in threading.enumerate()}
                for ident, frame in sys._current_frames().items():
                    if ident == threading.get_ident():
                        continue
                    who = "UI" if ident == self._loop_thread else names.get(ident, str(ident))
                    current.stacks.append(f"+{(now - current.start) * 1000:5.0f} ms {who}: {_stack(frame)}")

    def report(self, since: float = 0.0, limit: int = 12) -> str:
        """The longest stalls after ``since`` (perf_counter), longest first, with their samples."""
        stalls = sorted((s for s in self.stalls if s.start >= since), key=lambda s: -s.length)[:limit]
        lines = [
            f"{len([s for s in self.stalls if s.start >= since])} loop stalls > {self.threshold * 1000:.0f} ms; "
            f"the {len(stalls)} longest:"
        ]
        for s in stalls:
            lines.append(
                f"  at {s.start - since:7.3f} s ({s.start:.3f}): loop blocked {s.length * 1000:6.0f} ms, "
                f"GIL held without a switch up to {s.watcher_late * 1000:5.0f} ms"
            )
            lines.extend(f"      {line}" for line in s.stacks[:12])
        return "\n".join(lines)

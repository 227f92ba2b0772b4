"""A clock tests can move by hand: pass ``clock=ManualClock()`` to SimCluster, then ``advance()``
it to make jobs end, update tasks progress and rebooting nodes come back."""

from __future__ import annotations


class ManualClock:
    def __init__(self, start: float = 1_795_000_000.0) -> None:
        self.t = float(start)

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> float:
        if seconds < 0:
            raise ValueError("time only moves forward")
        self.t += seconds
        return self.t

"""An in-process simulated GPU cluster implementing every backend port (``dcops --demo``, unit tests).

``SimCluster(nodes=64, seed=7).backends()`` gives a :class:`dcops.actions.backends.bundle.Backends`
whose ports all act on one shared, deterministic cluster state; see ``scenario.py`` for the story
(which nodes are down, drained, losing a GPU, on a bad cable, drifted from the firmware baseline).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .clock import ManualClock
    from .cluster import SimCluster

__all__ = ["SimCluster", "ManualClock"]


def __getattr__(name: str) -> Any:
    """Loaded on first use (PEP 562): ``dcops --demo`` imports :mod:`.deferred` through this package
    and must not pay for the simulator's modules before the cluster is first needed."""
    if name == "SimCluster":
        from .cluster import SimCluster

        return SimCluster
    if name == "ManualClock":
        from .clock import ManualClock

        return ManualClock
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

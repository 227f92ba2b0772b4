"""An in-process simulated GPU cluster implementing every backend port (``dcops --demo``, unit tests).

``SimCluster(nodes=64, seed=7).backends()`` gives a :class:`dcops.actions.backends.bundle.Backends`
whose ports all act on one shared, deterministic cluster state; see ``scenario.py`` for the story
(which nodes are down, drained, losing a GPU, on a bad cable, drifted from the firmware baseline).
"""

from .clock import ManualClock
from .cluster import SimCluster

__all__ = ["SimCluster", "ManualClock"]

"""What an action acts on, as RBAC and the guards see it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True, slots=True)
class Target:
    """A node, a job, or the cluster itself (for actions without per-object targets).

    ``partitions`` and ``labels`` are what RBAC scopes match on; for a job, ``nodes`` are the
    nodes it runs on (a scope given as a node set must cover all of them)."""

    kind: Literal["node", "job", "cluster"]
    name: str
    partitions: frozenset[str] = field(default_factory=frozenset)
    labels: frozenset[str] = field(default_factory=frozenset)
    nodes: tuple[str, ...] = ()

    def __str__(self) -> str:
        return self.name


CLUSTER = Target(kind="cluster", name="*")

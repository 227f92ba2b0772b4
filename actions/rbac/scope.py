"""Scopes: which nodes, jobs and partitions a permission or a deny rule reaches.

A scope is precompiled into frozensets (the hostlist is expanded once, at load time) so a
decision costs a few set look-ups per target. The selectors of one scope are a union: a node is
covered when it is in one of the partitions, *or* in the node set, *or* carries one of the labels.

Allow and deny read a scope differently, on purpose (both err on the side of refusing):

- ``covers`` (allow): a node as above; a job when its partition is listed or *all* its nodes are
  in the node set (job targets carry no labels); the cluster only when the scope is unscoped.
- ``touches`` (deny): a node as above; a job when its partition is listed or *any* of its nodes
  is in the node set; the cluster always (a cluster-wide action reaches every scoped node).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..hostlists import collapse as collapse_hostlist
from ..targets import Target


@dataclass(frozen=True, slots=True)
class Scope:
    partitions: frozenset[str] = frozenset()
    nodes: frozenset[str] = frozenset()
    labels: frozenset[str] = frozenset()

    @property
    def whole_cluster(self) -> bool:
        return not (self.partitions or self.nodes or self.labels)

    def covers(self, t: Target) -> bool:
        """May an allow with this scope act on ``t``?"""
        if self.whole_cluster:
            return True
        if t.kind == "cluster":
            return False
        if not self.partitions.isdisjoint(t.partitions):
            return True
        if t.kind == "job":
            return bool(t.nodes) and self.nodes.issuperset(t.nodes)
        return t.name in self.nodes or not self.labels.isdisjoint(t.labels)

    def touches(self, t: Target) -> bool:
        """Does a deny with this scope reach ``t``?"""
        if self.whole_cluster or t.kind == "cluster":
            return True
        if not self.partitions.isdisjoint(t.partitions):
            return True
        if t.kind == "job":
            return not self.nodes.isdisjoint(t.nodes)
        return t.name in self.nodes or not self.labels.isdisjoint(t.labels)

    def describe(self) -> str:
        """Human words for the scope, e.g. ``partition gpu, nodes gpu[001-004], label rack=r01``."""
        if self.whole_cluster:
            return "the whole cluster"
        parts = []
        if self.partitions:
            parts.append(_plural("partition", sorted(self.partitions)))
        if self.nodes:
            parts.append(f"{'node' if len(self.nodes) == 1 else 'nodes'} {collapse_hostlist(list(self.nodes))}")
        if self.labels:
            parts.append(_plural("label", sorted(self.labels)))
        return ", ".join(parts)


WHOLE_CLUSTER = Scope()


def union(scopes: Iterable[Scope]) -> Scope:
    """The scope reaching everything any of ``scopes`` reaches (unscoped wins)."""
    items = list(scopes)
    if not items or any(s.whole_cluster for s in items):
        return WHOLE_CLUSTER
    return Scope(
        partitions=frozenset().union(*(s.partitions for s in items)),
        nodes=frozenset().union(*(s.nodes for s in items)),
        labels=frozenset().union(*(s.labels for s in items)),
    )


def name_targets(targets: Sequence[Target]) -> str:
    """Targets as operators write them: nodes as one hostlist, then jobs, then the cluster."""
    nodes = [t.name for t in targets if t.kind == "node"]
    jobs = [t.name for t in targets if t.kind == "job"]
    parts = []
    if nodes:
        parts.append(collapse_hostlist(nodes))
    if jobs:
        parts.append(_plural("job", jobs))
    if any(t.kind == "cluster" for t in targets):
        parts.append("the whole cluster")
    return ", ".join(parts)


def _plural(word: str, items: Sequence[str]) -> str:
    return f"{word}{'' if len(items) == 1 else 's'} {', '.join(items)}"

"""Per-target limits: can every target of a request be governed by one grant that covers it?

A request's targets are each covered by some of the principal's granting roles. The rule the
policy reference states is that limits never merge: each target is governed by *one* covering
grant, and that grant's limits hold for it. ``max_targets`` of a grant counts the targets it
governs, so a request is within the limits when the targets can be shared out among their
covering grants without any grant going over its ``max_targets``. That is a bipartite
b-matching; we solve it as a max-flow over *groups* of targets with the same set of covering
grants (a 10,000-node request has only a handful of groups), which keeps it cheap.

When the share-out is impossible, the minimum cut names the culprit: a set of grants whose
targets (the targets covered by none but them) outnumber what they allow together.

Why hand-written: the graph has at most a few dozen vertices, and Edmonds-Karp over it is about
forty lines; networkx (not installed here) would be a large dependency for one call, and the
policy's reference-model test checks this against Hall's condition computed independently.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Shortfall:
    """Why the targets cannot be shared out: ``count`` targets covered only by ``grants``,
    which together allow ``allowed`` per request."""

    grants: tuple[int, ...]
    count: int
    allowed: int


def share_out(groups: Mapping[frozenset[int], int], caps: Sequence[int | None]) -> Shortfall | None:
    """None when the targets fit; else the tightest set of grants found by the minimum cut.

    ``groups`` maps a set of covering grant indices (never empty) to how many targets have
    exactly that set; ``caps[i]`` is grant i's ``max_targets`` (None = unlimited).
    """
    limited = {g: n for g, n in groups.items() if all(caps[i] is not None for i in g)}
    if not limited:
        return None
    keys = list(limited)
    grants = sorted({i for g in keys for i in g})
    limit = {i: c for i in grants if (c := caps[i]) is not None}  # every grant here is limited
    # vertices: 0 source, 1 sink, 2.. groups, then grants
    gv = {g: 2 + k for k, g in enumerate(keys)}
    rv = {i: 2 + len(keys) + k for k, i in enumerate(grants)}
    size = 2 + len(keys) + len(grants)
    cap: list[dict[int, int]] = [{} for _ in range(size)]

    def edge(a: int, b: int, c: int) -> None:
        cap[a][b] = cap[a].get(b, 0) + c
        cap[b].setdefault(a, 0)

    total = sum(limited.values())
    for g, n in limited.items():
        edge(0, gv[g], n)
        for i in g:
            edge(gv[g], rv[i], total)
    for i in grants:
        edge(rv[i], 1, limit[i])
    flow = 0
    while True:
        parent = _bfs(cap, size)
        if parent[1] < 0:
            break
        push, v = total, 1
        while v != 0:
            push = min(push, cap[parent[v]][v])
            v = parent[v]
        v = 1
        while v != 0:
            u = parent[v]
            cap[u][v] -= push
            cap[v][u] += push
            v = u
        flow += push
    if flow == total:
        return None
    parent = _bfs(cap, size)
    cut = tuple(i for i in grants if parent[rv[i]] >= 0)
    stuck = sum(n for g, n in limited.items() if g <= set(cut))
    return Shortfall(grants=cut, count=stuck, allowed=sum(limit[i] for i in cut))


def _bfs(cap: list[dict[int, int]], size: int) -> list[int]:
    """Parents of the vertices reachable from the source in the residual graph (-1: unreached)."""
    parent = [-1] * size
    parent[0] = 0
    todo = deque([0])
    while todo:
        u = todo.popleft()
        for v, c in cap[u].items():
            if c > 0 and parent[v] < 0:
                parent[v] = u
                todo.append(v)
    return parent

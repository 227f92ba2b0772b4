"""Small builders for RBAC tests: targets and a base policy dict."""

from __future__ import annotations

from dcops.actions.targets import Target


def node(name: str, *partitions: str, labels: tuple[str, ...] = ()) -> Target:
    return Target(kind="node", name=name, partitions=frozenset(partitions), labels=frozenset(labels))


def nodes(prefix: str, first: int, last: int, *partitions: str) -> list[Target]:
    return [node(f"{prefix}{i:03d}", *partitions) for i in range(first, last + 1)]


def job(job_id: str, partition: str | None, *on: str) -> Target:
    return Target(kind="job", name=job_id, partitions=frozenset([partition] if partition else []), nodes=on)

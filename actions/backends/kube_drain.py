"""Drain one Kubernetes node by the Eviction API, the way ``kubectl drain`` does, with dcops' report.

Steps: read the node and its pods; leave DaemonSet and mirror pods; (dry-run: ask the API server
for a server-side dry-run eviction of each pod, which runs the real PDB check and changes
nothing); cordon; evict every other pod, retrying those refused with 429 (a PodDisruptionBudget,
or API throttling) with exponential backoff until the deadline; wait for evicted pods to be gone;
report what was evicted, what was left in place, and which pods block and why. The node stays
cordoned whatever happens: an operator asked for it to leave service.

Hand-written: there is no drain in the Python client (kubectl's lives in Go, k8s.io/kubectl/pkg/drain).
"""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

from ..errors import BackendError, BackendUnavailable
from . import kube_convert as conv
from .models import BlockedPod, DrainReport

MAX_PARALLEL_EVICTIONS = 8
FIRST_BACKOFF, MAX_BACKOFF = 0.25, 5.0


class EvictionBlocked(BackendError):
    """429 on an eviction: worth retrying later. ``str()`` is the reason (e.g. the PDB's message)."""

    def __init__(self, reason: str, *, retry: bool = True) -> None:
        super().__init__(reason)
        self.retry = retry


class EvictionGone(BackendError):
    """The pod was already gone when we tried to evict it (counts as evicted)."""


class _Evictor(Protocol):
    async def node_raw(self, node: str) -> Any: ...
    async def pods_raw(self, node: str) -> list[Any]: ...
    async def cordon(self, node: str) -> None: ...
    async def evict(self, namespace: str, name: str, *, grace_period: int | None, dry_run: bool) -> None: ...
    async def pod_uid(self, namespace: str, name: str) -> str | None: ...


async def _try_evict(api: _Evictor, pod: Any, grace_period: int | None, dry_run: bool) -> str | None:
    """None when evicted (or already gone); the blocking reason otherwise. A retryable refusal is
    returned as ``"retry:" + reason``; unreachable API servers propagate."""
    try:
        await api.evict(pod.metadata.namespace, pod.metadata.name, grace_period=grace_period, dry_run=dry_run)
    except EvictionGone:
        return None
    except EvictionBlocked as exc:
        return ("retry:" if exc.retry else "") + str(exc)
    except BackendUnavailable:
        raise
    except BackendError as exc:
        return str(exc).removeprefix("kube: ")
    return None


async def _evict_round(
    api: _Evictor, pods: dict[str, Any], grace_period: int | None, dry_run: bool
) -> dict[str, str | None]:
    sem = asyncio.Semaphore(MAX_PARALLEL_EVICTIONS)

    async def one(key: str) -> tuple[str, str | None]:
        async with sem:
            return key, await _try_evict(api, pods[key], grace_period, dry_run)

    return dict(await asyncio.gather(*(one(k) for k in pods)))


async def _wait_gone(api: _Evictor, pods: dict[str, Any], deadline: float) -> list[str]:
    """Poll until each evicted pod is deleted (404 or a new uid); return those still there."""
    loop = asyncio.get_running_loop()
    waiting = dict(pods)
    while waiting:
        for key, pod in list(waiting.items()):
            uid = await api.pod_uid(pod.metadata.namespace, pod.metadata.name)
            if uid is None or uid != pod.metadata.uid:
                del waiting[key]
        if not waiting or loop.time() >= deadline:
            break
        await asyncio.sleep(min(0.25, max(0.0, deadline - loop.time())))
    return sorted(waiting)


async def drain_node(
    api: _Evictor, node: str, *, timeout: float, grace_period: int | None = None, dry_run: bool = False
) -> DrainReport:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    node_obj = await api.node_raw(node)
    already_cordoned = bool(node_obj.spec and node_obj.spec.unschedulable)
    to_evict: dict[str, Any] = {}
    skipped: list[str] = []
    for pod in await api.pods_raw(node):
        reason = conv.skip_reason(pod)
        if reason:
            skipped.append(f"{conv.pod_key(pod)} ({reason})")
        else:
            to_evict[conv.pod_key(pod)] = pod

    if dry_run:
        results = await _evict_round(api, to_evict, grace_period, dry_run=True)
        blocked = tuple(
            BlockedPod(namespace=k.split("/", 1)[0], name=k.split("/", 1)[1], reason=r.removeprefix("retry:"))
            for k, r in sorted(results.items())
            if r
        )
        return DrainReport(
            node=node,
            cordoned=already_cordoned,
            evicted=tuple(sorted(to_evict)),
            skipped=tuple(sorted(skipped)),
            blocked=blocked,
            dry_run=True,
        )

    if not already_cordoned:
        await api.cordon(node)
    pending = dict(to_evict)
    evicted: dict[str, Any] = {}
    reasons: dict[str, str] = {}
    backoff = FIRST_BACKOFF
    while pending:
        for key, result in (await _evict_round(api, pending, grace_period, dry_run=False)).items():
            if result is None:
                evicted[key] = pending.pop(key)
                reasons.pop(key, None)
            elif result.startswith("retry:"):
                reasons[key] = result.removeprefix("retry:")
            else:
                reasons[key] = result
                del pending[key]  # not retryable: report it, stop asking
        if not pending or loop.time() >= deadline:
            break
        await asyncio.sleep(min(backoff, max(0.0, deadline - loop.time())))
        backoff = min(backoff * 2, MAX_BACKOFF)

    lingering = await _wait_gone(api, evicted, deadline)
    stuck = [
        BlockedPod(namespace=k.split("/", 1)[0], name=k.split("/", 1)[1], reason=reasons[k]) for k in sorted(reasons)
    ]
    node_ready = any(
        c.type == "Ready" and c.status == "True"
        for c in (node_obj.status.conditions if node_obj.status else None) or []
    )
    for key in lingering:
        pod = evicted[key]
        grace = grace_period if grace_period is not None else pod.spec.termination_grace_period_seconds
        why = f"evicted but still terminating when the {timeout:.0f}s drain timeout ended (grace period {grace}s)"
        if not node_ready:
            why += "; the node is NotReady, so no kubelet will stop it (force-delete it if the node is dead)"
        stuck.append(BlockedPod(namespace=pod.metadata.namespace, name=pod.metadata.name, reason=why))
    return DrainReport(
        node=node,
        cordoned=True,
        evicted=tuple(sorted(set(evicted) - set(lingering))),
        skipped=tuple(sorted(skipped)),
        blocked=tuple(stuck),
        dry_run=False,
    )

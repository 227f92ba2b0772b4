"""PodDisruptionBudget arithmetic, as the disruption controller and the eviction subresource do it.

desiredHealthy: ``minAvailable`` (an int, or a percentage of expectedPods rounded up), or
``expectedPods - maxUnavailable`` (percentage rounded up). currentHealthy: matching pods that are
Ready and not being deleted. disruptionsAllowed = max(0, currentHealthy - desiredHealthy).
expectedPods: the matching pods' count for an integer minAvailable, else the sum of the owning
controllers' replicas (falling back to the pod count for pods without a scalable owner).
Sources: kubernetes/pkg/controller/disruption/disruption.go, pkg/registry/core/pod/storage/eviction.go.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from .selectors import match_labels


def pod_ready(pod: dict[str, Any]) -> bool:
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return cond.get("status") == "True"
    return False


def pod_healthy(pod: dict[str, Any]) -> bool:
    return pod_ready(pod) and not pod["metadata"].get("deletionTimestamp")


def scaled(value: int | str, total: int) -> int:
    """IntOrString: an int, or "N%" of ``total`` rounded up."""
    if isinstance(value, str) and value.endswith("%"):
        return math.ceil(int(value[:-1]) * total / 100)
    return int(value)


@dataclass(frozen=True)
class Budget:
    expected: int
    desired_healthy: int
    current_healthy: int

    @property
    def disruptions_allowed(self) -> int:
        return max(0, self.current_healthy - self.desired_healthy)


def pdb_pods(pdb: dict[str, Any], pods: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    ns = pdb["metadata"]["namespace"]
    selector = (pdb.get("spec") or {}).get("selector")
    return [
        p
        for p in pods
        if p["metadata"]["namespace"] == ns
        and match_labels(selector, p["metadata"].get("labels") or {})
        and (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")
    ]


def budget(
    pdb: dict[str, Any], pods: list[dict[str, Any]], replicas_of: Callable[[dict[str, Any]], int | None]
) -> Budget:
    """``replicas_of(pod)`` returns the desired replicas of the pod's controller, or None."""
    spec = pdb.get("spec") or {}
    matching = pdb_pods(pdb, pods)
    healthy = sum(1 for p in matching if pod_healthy(p))
    min_available, max_unavailable = spec.get("minAvailable"), spec.get("maxUnavailable")
    if min_available is not None and not (isinstance(min_available, str) and min_available.endswith("%")):
        expected = len(matching)
        desired = int(min_available)
    else:
        expected = _expected_from_controllers(matching, replicas_of)
        if min_available is not None:
            desired = scaled(min_available, expected)
        elif max_unavailable is not None:
            desired = max(0, expected - scaled(max_unavailable, expected))
        else:
            desired = expected  # neither set: the API server rejects this; be conservative
    return Budget(expected=expected, desired_healthy=desired, current_healthy=healthy)


def _expected_from_controllers(
    matching: list[dict[str, Any]], replicas_of: Callable[[dict[str, Any]], int | None]
) -> int:
    seen: dict[str, int] = {}
    loose = 0
    for pod in matching:
        owner = next((o for o in pod["metadata"].get("ownerReferences") or [] if o.get("controller")), None)
        replicas = replicas_of(pod) if owner else None
        if owner is None or replicas is None:
            loose += 1
        else:
            seen[owner["uid"]] = replicas
    return sum(seen.values()) + loose


def status(pdb: dict[str, Any], b: Budget) -> dict[str, Any]:
    """The PDB ``status`` block the disruption controller would write."""
    return {
        "observedGeneration": pdb["metadata"].get("generation", 1),
        "expectedPods": b.expected,
        "desiredHealthy": b.desired_healthy,
        "currentHealthy": b.current_healthy,
        "disruptionsAllowed": b.disruptions_allowed,
        "disruptedPods": {},
        "conditions": [
            {
                "type": "DisruptionAllowed",
                "status": "True" if b.disruptions_allowed > 0 else "False",
                "reason": "SufficientPods" if b.disruptions_allowed > 0 else "InsufficientPods",
                "message": "",
                "lastTransitionTime": pdb["metadata"].get("creationTimestamp"),
                "observedGeneration": pdb["metadata"].get("generation", 1),
            }
        ],
    }

"""Operator pods by component, from the names the operators give their DaemonSets.

The GPU Operator names its DaemonSets ``nvidia-driver-daemonset``, ``nvidia-container-toolkit-
daemonset``, ``nvidia-device-plugin-daemonset``, ``nvidia-dcgm-exporter``, ``nvidia-mig-manager``,
``nvidia-operator-validator`` (and ``gpu-feature-discovery``); the Network Operator
``mofed-<os>-ds`` and ``rdma-shared-dp-ds`` (plus ``nv-ipam``, ``ib-kubernetes``). Matching is by
prefix of the pod's app label / DaemonSet name, so a site's ``nvidia-driver-daemonset-550`` or
``mofed-rhel9.2-ds`` is still the driver / MOFED; an unknown pod keeps its own name.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..backends.models import OperatorPod

GPU, NETWORK = "gpu", "network"


@dataclass(frozen=True)
class Component:
    name: str  # short name shown in the fleet and node screen
    operator: str  # gpu | network
    prefixes: tuple[str, ...]


COMPONENTS: tuple[Component, ...] = (
    Component("driver", GPU, ("nvidia-driver",)),
    Component("toolkit", GPU, ("nvidia-container-toolkit",)),
    Component("device-plugin", GPU, ("nvidia-device-plugin",)),
    Component("dcgm-exporter", GPU, ("nvidia-dcgm-exporter",)),
    Component("dcgm", GPU, ("nvidia-dcgm",)),
    Component("mig-manager", GPU, ("nvidia-mig-manager",)),
    Component("validator", GPU, ("nvidia-operator-validator", "nvidia-cuda-validator")),
    Component("gfd", GPU, ("gpu-feature-discovery",)),
    Component("mofed", NETWORK, ("mofed",)),
    Component("rdma-dp", NETWORK, ("rdma-shared-dp", "rdma-shared-device-plugin")),
    Component("sriov-dp", NETWORK, ("sriov-device-plugin", "kube-sriov-device-plugin")),
    Component("ib-kubernetes", NETWORK, ("ib-kubernetes",)),
    Component("nv-ipam", NETWORK, ("nv-ipam",)),
)


def classify(pod: OperatorPod) -> tuple[str, str]:
    """(component, operator) of an operator pod; unknown pods keep their name and count for the
    operator of their namespace."""
    for c in COMPONENTS:
        if pod.component.startswith(c.prefixes):
            return c.name, c.operator
    return pod.component, NETWORK if "network" in pod.namespace else GPU


def operator_of(pod: OperatorPod) -> str:
    return classify(pod)[1]


def not_ready(pods: Iterable[OperatorPod]) -> list[tuple[str, OperatorPod]]:
    """(component, pod) for every pod that is not ready, in component order."""
    order = {c.name: i for i, c in enumerate(COMPONENTS)}
    bad = [(classify(p)[0], p) for p in pods if not p.ready]
    return sorted(bad, key=lambda cp: (order.get(cp[0], len(order)), cp[1].name))


def node_operator_state(pods: Iterable[OperatorPod]) -> str:
    """One phrase for a node: ``ok``, ``driver CrashLoopBackOff, mofed Init:0/1``, or ``""`` when
    the node runs no operator pod at all (no GPU/Network Operator there)."""
    pods = list(pods)
    if not pods:
        return ""
    bad = not_ready(pods)
    return ", ".join(f"{name} {p.status or 'NotReady'}" for name, p in bad) if bad else "ok"

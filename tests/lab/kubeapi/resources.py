"""The resource types this lab API server serves, shared by discovery and request routing."""

from __future__ import annotations

from dataclasses import dataclass

_RW = ("create", "delete", "deletecollection", "get", "list", "patch", "update")


@dataclass(frozen=True)
class Resource:
    group: str
    version: str
    plural: str
    singular: str
    kind: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()
    verbs: tuple[str, ...] = _RW

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def api_version(self) -> str:
        return self.group_version


RESOURCES: tuple[Resource, ...] = (
    Resource("", "v1", "namespaces", "namespace", "Namespace", False, ("ns",), ("status",)),
    Resource("", "v1", "nodes", "node", "Node", False, ("no",), ("status",)),
    Resource("", "v1", "pods", "pod", "Pod", True, ("po",), ("status", "eviction")),
    Resource("apps", "v1", "daemonsets", "daemonset", "DaemonSet", True, ("ds",), ("status",)),
    Resource("apps", "v1", "replicasets", "replicaset", "ReplicaSet", True, ("rs",), ("status",)),
    Resource("batch", "v1", "jobs", "job", "Job", True, (), ("status",)),
    Resource(
        "policy",
        "v1",
        "poddisruptionbudgets",
        "poddisruptionbudget",
        "PodDisruptionBudget",
        True,
        ("pdb",),
        ("status",),
    ),
    # the NVIDIA operators' custom resources (their CRDs, as installed by the operators' Helm charts)
    Resource("nvidia.com", "v1", "clusterpolicies", "clusterpolicy", "ClusterPolicy", False, (), ("status",)),
    Resource(
        "mellanox.com", "v1alpha1", "nicclusterpolicies", "nicclusterpolicy", "NicClusterPolicy", False, (), ("status",)
    ),
)

BY_PATH: dict[tuple[str, str, str], Resource] = {(r.group, r.version, r.plural): r for r in RESOURCES}
BY_KIND: dict[str, Resource] = {r.kind: r for r in RESOURCES}
GROUPS: dict[str, list[str]] = {}
for _r in RESOURCES:
    if _r.group and _r.version not in GROUPS.setdefault(_r.group, []):
        GROUPS[_r.group].append(_r.version)

"""Builders for the objects a lab world is seeded with, and the default GPU-cluster world.

Pods given here are already running (seeded state, as if the cluster had been up for a while);
pods that controllers create later start after the lab's ``pod_start_delay``.
"""

from __future__ import annotations

import uuid
from typing import Any

Obj = dict[str, Any]
MIRROR = "kubernetes.io/config.mirror"


def _uid(kind: str, ns: str, name: str) -> str:
    """Stable uids, so seeded pods can name their seeded owners."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"dcops-lab/{kind}/{ns}/{name}"))


def node(
    name: str, *, gpus: int = 8, ready: bool = True, unschedulable: bool = False, labels: dict[str, str] | None = None
) -> Obj:
    alloc = {"cpu": "96", "memory": "1056745572Ki", "pods": "110"}
    base_labels = {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux"}
    if gpus:
        alloc["nvidia.com/gpu"] = str(gpus)
        base_labels["nvidia.com/gpu.present"] = "true"
    base_labels.update(labels or {})
    spec: Obj = {"unschedulable": True} if unschedulable else {}
    return {
        "kind": "Node",
        "apiVersion": "v1",
        "metadata": {"name": name, "labels": base_labels, "uid": _uid("Node", "", name)},
        "spec": spec,
        "status": {
            "capacity": dict(alloc),
            "allocatable": dict(alloc),
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True" if ready else "False",
                    "reason": "KubeletReady" if ready else "NodeStatusUnknown",
                }
            ],
            "nodeInfo": {
                "kubeletVersion": "v1.32.0",
                "kubeProxyVersion": "v1.32.0",
                "containerRuntimeVersion": "containerd://1.7.24",
                "architecture": "amd64",
                "operatingSystem": "linux",
                "osImage": "Ubuntu 22.04.5 LTS",
                "kernelVersion": "5.15.0-125-generic",
                "bootID": _uid("boot", "", name),
                "machineID": _uid("machine", "", name).replace("-", ""),
                "systemUUID": _uid("system", "", name),
            },
        },
    }


def _running_status(containers: int = 1, *, waiting: str | None = None, phase: str = "Running") -> Obj:
    ready = waiting is None and phase == "Running"
    cs = []
    for i in range(containers):
        state: Obj = {"waiting": {"reason": waiting}} if waiting else {"running": {"startedAt": "2026-01-01T00:00:00Z"}}
        if phase in ("Succeeded", "Failed"):
            state = {
                "terminated": {
                    "exitCode": 0 if phase == "Succeeded" else 1,
                    "reason": "Completed" if phase == "Succeeded" else "Error",
                }
            }
        cs.append(
            {
                "name": f"c{i}",
                "ready": ready,
                "restartCount": 7 if waiting else 0,
                "image": "busybox",
                "imageID": "docker.io/library/busybox@sha256:lab",
                "state": state,
            }
        )
    return {
        "phase": phase,
        "podIP": "10.244.1.10",
        "conditions": [
            {"type": "Ready", "status": "True" if ready else "False"},
            {"type": "PodScheduled", "status": "True"},
        ],
        "containerStatuses": cs,
    }


def owner_ref(kind: str, ns: str, name: str) -> Obj:
    api = {"DaemonSet": "apps/v1", "ReplicaSet": "apps/v1", "Job": "batch/v1", "Node": "v1"}[kind]
    return {
        "apiVersion": api,
        "kind": kind,
        "name": name,
        "uid": _uid(kind, "" if kind == "Node" else ns, name),
        "controller": True,
        "blockOwnerDeletion": True,
    }


def pod(
    ns: str,
    name: str,
    node_name: str,
    *,
    labels: dict[str, str] | None = None,
    owner: Obj | None = None,
    grace: int = 1,
    waiting: str | None = None,
    phase: str = "Running",
    mirror: bool = False,
    empty_dir: bool = False,
) -> Obj:
    annotations = {MIRROR: "lab-static-manifest"} if mirror else {}
    spec: Obj = {
        "nodeName": node_name,
        "terminationGracePeriodSeconds": grace,
        "containers": [{"name": "c0", "image": "busybox"}],
    }
    if empty_dir:
        spec["volumes"] = [{"name": "scratch", "emptyDir": {}}]
    return {
        "kind": "Pod",
        "apiVersion": "v1",
        "metadata": {
            "name": name,
            "namespace": ns,
            "labels": labels or {},
            "annotations": annotations,
            "ownerReferences": [owner] if owner else [],
        },
        "spec": spec,
        "status": _running_status(waiting=waiting, phase=phase),
    }


def _template(
    labels: dict[str, str],
    *,
    grace: int = 1,
    node_selector: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
) -> Obj:
    spec: Obj = {"terminationGracePeriodSeconds": grace, "containers": [{"name": "c0", "image": "busybox"}]}
    if node_selector:
        spec["nodeSelector"] = node_selector
    return {"metadata": {"labels": labels, "annotations": annotations or {}}, "spec": spec}


def daemonset(ns: str, name: str, *, gpu_only: bool = True) -> Obj:
    labels = {"app": name}
    return {
        "kind": "DaemonSet",
        "apiVersion": "apps/v1",
        "metadata": {"name": name, "namespace": ns, "uid": _uid("DaemonSet", ns, name)},
        "spec": {
            "selector": {"matchLabels": labels},
            "template": _template(labels, node_selector={"nvidia.com/gpu.present": "true"} if gpu_only else None),
        },
    }


def replicaset(ns: str, name: str, replicas: int, labels: dict[str, str], *, grace: int = 1) -> Obj:
    return {
        "kind": "ReplicaSet",
        "apiVersion": "apps/v1",
        "metadata": {"name": name, "namespace": ns, "uid": _uid("ReplicaSet", ns, name), "labels": labels},
        "spec": {"replicas": replicas, "selector": {"matchLabels": labels}, "template": _template(labels, grace=grace)},
    }


def pdb(
    ns: str,
    name: str,
    labels: dict[str, str],
    *,
    min_available: int | str | None = None,
    max_unavailable: int | str | None = None,
) -> Obj:
    spec: Obj = {"selector": {"matchLabels": labels}}
    if min_available is not None:
        spec["minAvailable"] = min_available
    if max_unavailable is not None:
        spec["maxUnavailable"] = max_unavailable
    return {
        "kind": "PodDisruptionBudget",
        "apiVersion": "policy/v1",
        "metadata": {"name": name, "namespace": ns},
        "spec": spec,
    }


def job(
    ns: str,
    name: str,
    *,
    state: str = "Running",
    exit_after: float | None = None,
    exit_code: int = 0,
    backoff_limit: int = 0,
) -> Obj:
    """A Job. ``state="Failed"`` / ``"Complete"`` seeds a finished Job (its pods long gone);
    ``exit_after`` makes the pods the lab runs for it finish after that many seconds."""
    annotations = {}
    if exit_after is not None:
        annotations = {"lab.dcops.io/exit-after": str(exit_after), "lab.dcops.io/exit-code": str(exit_code)}
    obj: Obj = {
        "kind": "Job",
        "apiVersion": "batch/v1",
        "metadata": {"name": name, "namespace": ns, "uid": _uid("Job", ns, name), "labels": {"team": "ml"}},
        "spec": {
            "backoffLimit": backoff_limit,
            "completions": 1,
            "parallelism": 1,
            "template": _template({"app": name}, annotations=annotations),
        },
    }
    if state == "Failed":
        obj["status"] = {
            "failed": backoff_limit + 1,
            "active": 0,
            "startTime": "2026-01-01T00:00:00Z",
            "conditions": [
                {
                    "type": "Failed",
                    "status": "True",
                    "reason": "BackoffLimitExceeded",
                    "message": "Job has reached the specified backoff limit",
                }
            ],
        }
    elif state == "Complete":
        obj["status"] = {
            "succeeded": 1,
            "active": 0,
            "startTime": "2026-01-01T00:00:00Z",
            "completionTime": "2026-01-01T01:00:00Z",
            "conditions": [{"type": "Complete", "status": "True"}],
        }
    return obj


OPERATOR_DAEMONSETS = (
    ("gpu-operator", "nvidia-driver-daemonset"),
    ("gpu-operator", "nvidia-device-plugin-daemonset"),
    ("gpu-operator", "nvidia-dcgm-exporter"),
    ("network-operator", "mofed-ubuntu22.04-ds"),
)


def default_world(n_nodes: int = 4) -> list[Obj]:
    """A small GPU cluster: gpu001..gpuN (8 GPUs each) and cpu001, the GPU and network operators'
    DaemonSets (the driver on gpu003 crash-looping), an inference ReplicaSet of 3 under a PDB with
    minAvailable 2 (two replicas on gpu001), a single-replica checkpointing trainer under a PDB with
    minAvailable 1 on gpu001 (blocks any drain of gpu001), a static (mirror) pod and a bare debug pod
    on gpu001, and Jobs running, failed and complete."""
    names = [f"gpu{i:03d}" for i in range(1, n_nodes + 1)]
    objs: list[Obj] = [node(n) for n in names] + [node("cpu001", gpus=0)]
    for ns, ds in OPERATOR_DAEMONSETS:
        objs.append(daemonset(ns, ds))
    objs.append(daemonset("kube-system", "kube-proxy", gpu_only=False))
    if n_nodes >= 3:
        objs.append(
            pod(
                "gpu-operator",
                "nvidia-driver-daemonset-crash",
                "gpu003",
                labels={"app": "nvidia-driver-daemonset"},
                owner=owner_ref("DaemonSet", "gpu-operator", "nvidia-driver-daemonset"),
                waiting="CrashLoopBackOff",
            )
        )
    inf = {"app": "inference"}
    objs += [replicaset("default", "inference-7d9f", 3, inf), pdb("default", "inference-pdb", inf, min_available=2)]
    rs_owner = owner_ref("ReplicaSet", "default", "inference-7d9f")
    objs += [
        pod("default", "inference-7d9f-a1", "gpu001", labels=inf, owner=rs_owner),
        pod("default", "inference-7d9f-a2", "gpu001", labels=inf, owner=rs_owner),
        pod("default", "inference-7d9f-b1", "gpu002", labels=inf, owner=rs_owner),
    ]
    ckpt = {"app": "trainer-ckpt"}
    objs += [
        replicaset("ml", "trainer-ckpt-5c4b", 1, ckpt),
        pdb("ml", "trainer-ckpt-pdb", ckpt, min_available=1),
        pod(
            "ml",
            "trainer-ckpt-5c4b-x1",
            "gpu001",
            labels=ckpt,
            owner=owner_ref("ReplicaSet", "ml", "trainer-ckpt-5c4b"),
        ),
    ]
    objs.append(
        pod(
            "kube-system",
            "node-healthcheck-gpu001",
            "gpu001",
            mirror=True,
            owner={
                "apiVersion": "v1",
                "kind": "Node",
                "name": "gpu001",
                "uid": _uid("Node", "", "gpu001"),
                "controller": True,
            },
        )
    )
    objs.append(pod("default", "debug-shell", "gpu001"))
    objs += [
        job("ml", "train-llm"),
        job("ml", "finetune-bad", state="Failed"),
        job("ml", "eval-done", state="Complete"),
    ]
    return objs

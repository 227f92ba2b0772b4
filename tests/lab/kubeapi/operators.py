"""A lab world with NVIDIA's GPU Operator and Network Operator installed: their DaemonSets on every
GPU node, their ClusterPolicy / NicClusterPolicy objects with the status the operators write, and
pods broken the ways they break in the field:

- gpu002: driver ``ImagePullBackOff`` (a driver image tag that does not exist for this kernel);
- gpu003: device plugin stuck in ``Init:0/1`` (its init container waits for the driver validation);
- gpu004: DCGM exporter ``CrashLoopBackOff`` and MOFED ``Init:CrashLoopBackOff``.

The ClusterPolicy is ``notReady`` naming the states that are not ready; the NicClusterPolicy is
``notReady`` with ``state-OFED`` not ready. Pod status shapes follow what the kubelet reports.
"""

from __future__ import annotations

from typing import Any

from .scenario import Obj, daemonset, node, owner_ref, pod

GPU_DS = (
    "nvidia-driver-daemonset",
    "nvidia-container-toolkit-daemonset",
    "nvidia-device-plugin-daemonset",
    "nvidia-dcgm-exporter",
    "nvidia-mig-manager",
    "nvidia-operator-validator",
)
NET_DS = ("mofed-ubuntu22.04-ds", "rdma-shared-dp-ds")


def _init_stuck(p: Obj, *, waiting: str | None = None) -> Obj:
    """The pod as the kubelet reports one whose init container has not finished."""
    init_state: dict[str, Any] = (
        {"waiting": {"reason": waiting, "message": "back-off 5m0s restarting failed container"}}
        if waiting
        else {"running": {"startedAt": "2026-01-01T00:00:00Z"}}
    )
    p["spec"]["initContainers"] = [{"name": "init", "image": "busybox"}]
    p["status"] = {
        "phase": "Pending",
        "conditions": [
            {"type": "Initialized", "status": "False", "reason": "ContainersNotInitialized"},
            {"type": "Ready", "status": "False", "reason": "ContainersNotReady"},
            {"type": "PodScheduled", "status": "True"},
        ],
        "initContainerStatuses": [
            {
                "name": "init",
                "ready": False,
                "restartCount": 4 if waiting else 0,
                "image": "busybox",
                "imageID": "",
                "state": init_state,
            }
        ],
        "containerStatuses": [
            {
                "name": "c0",
                "ready": False,
                "restartCount": 0,
                "image": "busybox",
                "imageID": "",
                "state": {"waiting": {"reason": "PodInitializing"}},
            }
        ],
    }
    return p


def cluster_policy(state: str, not_ready: list[str]) -> Obj:
    conditions = [
        {
            "type": "Ready",
            "status": "True" if state == "ready" else "False",
            "reason": "Reconciled" if state == "ready" else "OperandNotReady",
            "message": ""
            if state == "ready"
            else f"ClusterPolicy is not ready, states not ready: [{' '.join(not_ready)}]",
        },
        {"type": "Error", "status": "False", "reason": "Ready", "message": ""},
    ]
    return {
        "apiVersion": "nvidia.com/v1",
        "kind": "ClusterPolicy",
        "metadata": {"name": "cluster-policy"},
        "spec": {
            "driver": {"enabled": True, "version": "550.54.15"},
            "toolkit": {"enabled": True},
            "devicePlugin": {"enabled": True},
            "dcgmExporter": {"enabled": True},
            "migManager": {"enabled": True},
            "validator": {"plugin": {"env": []}},
        },
        "status": {"state": state, "namespace": "gpu-operator", "conditions": conditions},
    }


def nic_cluster_policy(ofed_state: str) -> Obj:
    applied = [
        {
            "name": "state-OFED",
            "state": ofed_state,
            "message": "" if ofed_state == "ready" else "Waiting for MOFED pods to be ready",
        },
        {"name": "state-RDMA-device-plugin", "state": "ready"},
        {"name": "state-SRIOV-device-plugin", "state": "ignore"},
    ]
    return {
        "apiVersion": "mellanox.com/v1alpha1",
        "kind": "NicClusterPolicy",
        "metadata": {"name": "nic-cluster-policy"},
        "spec": {
            "ofedDriver": {"image": "doca-driver", "version": "24.07-0.6.1.0-0"},
            "rdmaSharedDevicePlugin": {"image": "k8s-rdma-shared-dev-plugin"},
        },
        "status": {"state": "ready" if ofed_state == "ready" else "notReady", "appliedStates": applied},
    }


def operator_world(*, broken: bool = True) -> list[Obj]:
    """gpu001..gpu004 with both operators; ``broken`` adds the faults listed in the module doc."""
    names = [f"gpu{i:03d}" for i in range(1, 5)]
    objs: list[Obj] = [node(n) for n in names]
    objs += [daemonset("gpu-operator", ds) for ds in GPU_DS] + [daemonset("network-operator", ds) for ds in NET_DS]
    if broken:

        def mine(ns: str, ds: str, node_name: str, **kw: Any) -> Obj:
            return pod(
                ns, f"{ds}-{node_name}", node_name, labels={"app": ds}, owner=owner_ref("DaemonSet", ns, ds), **kw
            )

        objs.append(mine("gpu-operator", "nvidia-driver-daemonset", "gpu002", waiting="ImagePullBackOff"))
        objs.append(_init_stuck(mine("gpu-operator", "nvidia-device-plugin-daemonset", "gpu003")))
        objs.append(mine("gpu-operator", "nvidia-dcgm-exporter", "gpu004", waiting="CrashLoopBackOff"))
        objs.append(_init_stuck(mine("network-operator", "mofed-ubuntu22.04-ds", "gpu004"), waiting="CrashLoopBackOff"))
        objs += [
            cluster_policy("notReady", ["state-driver", "state-device-plugin", "state-dcgm-exporter"]),
            nic_cluster_policy("notReady"),
        ]
    else:
        objs += [cluster_policy("ready", []), nic_cluster_policy("ready")]
    return objs

"""The same drain by dcops and by kubectl, from the same seeded world, ends in the same state:
the node cordoned, the same pods left on it (DaemonSet, mirror, and the PDB-protected one), and
the same workloads running elsewhere."""

from __future__ import annotations

from collections import Counter
from typing import Any

from kubelab import Kubectl, node_obj, pods_by_node

from dcops.actions.backends.kube import KubeAdapter
from tests.lab.kubeapi import lab
from tests.lab.kubeapi.scenario import default_world

SETTINGS = {"pod_start_delay": 0.2, "kubelet_stop_seconds": 0.3}


def _state(info: lab.LabInfo, node: str) -> dict[str, Any]:
    pods = pods_by_node(info)
    return {
        "unschedulable": bool(node_obj(info, node)["spec"].get("unschedulable")),
        "on_node": pods[node],
        "workloads": Counter(p for name, ps in pods.items() for p in ps if not p.startswith("~")),
        "terminating": sorted(p for ps in pods.values() for p in ps if p.startswith("~")),
    }


async def test_dcops_and_kubectl_drain_end_in_the_same_state(
    kubectl: Kubectl, kube: KubeAdapter, world: lab.LabInfo
) -> None:
    # kubectl waits 5 s between retries of a refused eviction: 7 s covers one retry of the
    # inference replica, while the single-replica trainer's budget never allows an eviction.
    proc = kubectl("drain", "gpu001", "--ignore-daemonsets", "--force", "--timeout=7s", check=False)
    assert proc.returncode != 0 and "trainer-ckpt-5c4b-x1" in proc.stderr
    by_kubectl = _state(world, "gpu001")

    world.reset(default_world(), **SETTINGS)
    report = await kube.drain("gpu001", timeout=7)
    by_dcops = _state(world, "gpu001")

    assert [b.name for b in report.blocked] == ["trainer-ckpt-5c4b-x1"]
    assert by_dcops == by_kubectl
    assert by_dcops["unschedulable"] is True and by_dcops["terminating"] == []
    assert "ml/trainer-ckpt-5c4b" in by_dcops["on_node"] and "default/inference-7d9f" not in by_dcops["on_node"]
    assert by_dcops["workloads"]["default/inference-7d9f"] == 3

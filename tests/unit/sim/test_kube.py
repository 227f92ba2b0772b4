"""The simulated Kubernetes: nodes, DaemonSet and workload pods, PDB-blocked drain, jobs."""

from __future__ import annotations

import pytest

from dcops.actions.errors import BackendError
from dcops.actions.sim.kube import DAEMONSETS


async def test_every_node_is_a_gpu_node(backends) -> None:
    nodes = {n.name: n for n in await backends.kube.nodes()}
    assert len(nodes) == 64
    assert nodes["gpu001"].gpu_allocatable == 8 and nodes["gpu001"].ready
    assert nodes["gpu017"].gpu_allocatable == 7, "the lost GPU is not allocatable"
    assert not nodes["gpu009"].ready
    assert nodes["gpu001"].labels["topology.kubernetes.io/zone"] == "r01"


async def test_operator_pods_per_node(backends) -> None:
    nodes = {n.name: n for n in await backends.kube.nodes()}
    healthy = nodes["gpu001"].operator_pods
    assert {o.component for o in healthy} == {
        "nvidia-driver-daemonset",
        "nvidia-dcgm-exporter",
        "nvidia-device-plugin-daemonset",
        "mofed-ubuntu22.04-ds",
    }
    assert all(o.ready and o.status == "Running" for o in healthy)
    crashing = [o for o in nodes["gpu045"].operator_pods if not o.ready]
    assert [(o.component, o.status) for o in crashing] == [("nvidia-device-plugin-daemonset", "CrashLoopBackOff")]
    assert nodes["gpu045"].gpu_allocatable == 0, "no device plugin, no GPUs for Kubernetes"
    assert all(o.status == "Unknown" for o in nodes["gpu009"].operator_pods)


async def test_cordon_uncordon(backends) -> None:
    await backends.kube.cordon("gpu005")
    node = next(n for n in await backends.kube.nodes() if n.name == "gpu005")
    assert node.unschedulable and any("unschedulable" in t for t in node.taints)
    await backends.kube.uncordon("gpu005")
    node = next(n for n in await backends.kube.nodes() if n.name == "gpu005")
    assert not node.unschedulable
    with pytest.raises(BackendError, match="gpu999"):
        await backends.kube.cordon("gpu999")


async def test_drain_is_blocked_by_the_pdb(backends) -> None:
    report = await backends.kube.drain("gpu014", timeout=30)
    assert report.cordoned and not report.complete
    (blocked,) = report.blocked
    assert blocked.namespace == "ml-inference" and "disruption budget" in blocked.reason
    assert len(report.skipped) == len(DAEMONSETS) and all("/" in ref for ref in report.skipped)
    pods = await backends.kube.pods("gpu014")
    assert any(p.name == blocked.name for p in pods)


async def test_drain_evicts_workload_pods_and_controllers_replace_them(backends) -> None:
    node = next(n for n in (await backends.kube.jobs("ml-training")) if n.status == "Running").nodes[0]
    dry = await backends.kube.drain(node, timeout=30, dry_run=True)
    assert dry.dry_run and dry.evicted and not dry.cordoned
    report = await backends.kube.drain(node, timeout=30)
    assert report.complete and set(report.evicted) == set(dry.evicted)
    left = await backends.kube.pods(node)
    assert all(p.owner_kind == "DaemonSet" for p in left)
    job = next(j for j in await backends.kube.jobs("ml-training") if j.name == "resnet-ddp-0142")
    assert node not in job.nodes and job.active == 2


async def test_restart_job(backends) -> None:
    failed = next(j for j in await backends.kube.jobs() if j.status == "Failed")
    await backends.kube.restart_job(failed.namespace, failed.name)
    restarted = next(j for j in await backends.kube.jobs(failed.namespace) if j.name == failed.name)
    assert restarted.status == "Running" and restarted.active > 0 and restarted.failed == 0
    with pytest.raises(BackendError, match="not found"):
        await backends.kube.restart_job("ml-eval", "nope")

"""GPU / Network Operator health against the lab API server seeded with both operators (their
ClusterPolicy / NicClusterPolicy and DaemonSet pods broken the field's ways). The lab's answers are
checked with the real kubectl first (the CRD resources, the pod STATUS column), then dcops' adapter
and the gpu-operator / network-operator / fleet / k8s-nodes actions through the engine."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from kubelab import Kubectl

from dcops.actions import Request, open_engine
from dcops.actions.backends.kube import KubeAdapter
from dcops.actions.config.kube import KubeSection
from dcops.actions.config.model import AuditSection, ClusterSection, DcopsConfig, NodeEntry
from dcops.actions.engine import Engine
from dcops.actions.events import Log, Result
from dcops.actions.rbac import Policy
from tests.lab.kubeapi import lab
from tests.lab.kubeapi.operators import operator_world

pytestmark = pytest.mark.lab
ALLOW_ALL = '[roles.all]\nactions = ["*"]\n[[bindings]]\nprincipals = ["unix:*"]\nroles = ["all"]\n'


@pytest.fixture
def ops_world(kube_lab: lab.LabInfo) -> lab.LabInfo:
    kube_lab.reset(operator_world(), pod_start_delay=0.2, kubelet_stop_seconds=0.3)
    return kube_lab


@pytest.fixture
def kctl(ops_world: lab.LabInfo) -> Kubectl:
    binary = shutil.which("kubectl")
    if binary is None:
        pytest.fail("kubectl is not on PATH; the lab server's fidelity is checked with the real kubectl")
    return Kubectl(ops_world, binary)


@pytest.fixture
async def engine(ops_world: lab.LabInfo, tmp_path: Path) -> AsyncIterator[Engine]:
    cfg = DcopsConfig(
        cluster=ClusterSection(name="k8s-ops"),
        audit=AuditSection(url=f"sqlite:///{tmp_path / 'a.db'}"),
        nodes=[NodeEntry(names="gpu[001-004]", partitions=["gpu"])],
        kube=KubeSection(kubeconfig=str(ops_world.kubeconfig), request_timeout=10),
    )
    eng = await open_engine(cfg, policy=Policy.from_toml(ALLOW_ALL))
    yield eng
    await eng.aclose()


async def _run(engine: Engine, action: str, **params):  # noqa: ANN202
    run = await engine.submit(Request(principal="unix:alice", channel="cli", action=action, params=params))
    events = [e async for e in run.events()]
    return run, next(e for e in events if isinstance(e, Result)), [e for e in events if isinstance(e, Log)]


def test_kubectl_sees_the_operators_world(kctl: Kubectl) -> None:
    cp = kctl.json("get", "clusterpolicies.nvidia.com", "cluster-policy", "-o", "json")
    assert cp["status"]["state"] == "notReady"
    ncp = kctl.json("get", "nicclusterpolicies", "-o", "json")["items"]
    assert [i["metadata"]["name"] for i in ncp] == ["nic-cluster-policy"]
    out = kctl("get", "pods", "-n", "gpu-operator", "-o", "wide").stdout
    status = {line.split()[0]: line.split()[2] for line in out.splitlines()[1:]}
    assert status["nvidia-driver-daemonset-gpu002"] == "ImagePullBackOff"
    assert status["nvidia-device-plugin-daemonset-gpu003"] == "Init:0/1"
    assert status["nvidia-dcgm-exporter-gpu004"] == "CrashLoopBackOff"
    assert sum(1 for s in status.values() if s == "Running") == 6 * 4 - 3  # every other operand runs
    out = kctl("get", "pods", "-n", "network-operator").stdout
    assert "Init:CrashLoopBackOff" in out


async def test_adapter_reads_policies_and_reasons(ops_world: lab.LabInfo) -> None:
    kube = KubeAdapter(KubeSection(kubeconfig=str(ops_world.kubeconfig), request_timeout=10))
    try:
        policies = {p.kind: p for p in await kube.operator_policies()}
        assert policies["ClusterPolicy"].state == "notReady"
        assert "state-device-plugin" in policies["ClusterPolicy"].problems[0]
        assert policies["NicClusterPolicy"].problems == ("state-OFED: notReady (Waiting for MOFED pods to be ready)",)
        nodes = {n.name: n for n in await kube.nodes()}
        bad = {(n, o.component): o.status for n, k in nodes.items() for o in k.operator_pods if not o.ready}
        assert bad == {
            ("gpu002", "nvidia-driver-daemonset"): "ImagePullBackOff",
            ("gpu003", "nvidia-device-plugin-daemonset"): "Init:0/1",
            ("gpu004", "nvidia-dcgm-exporter"): "CrashLoopBackOff",
            ("gpu004", "mofed-ubuntu22.04-ds"): "Init:CrashLoopBackOff",
        }
        assert len(nodes["gpu001"].operator_pods) == 8
    finally:
        await kube.aclose()


async def test_gpu_and_network_operator_actions(engine: Engine) -> None:
    run, result, logs = await _run(engine, "gpu-operator")
    assert result.summary.startswith(
        "ClusterPolicy cluster-policy notReady; 3 node(s) with GPU Operator pods not ready: gpu[002-004]"
    )
    assert sorted((r[0], r[1], r[2]) for r in result.table.rows) == [
        ("gpu002", "driver", "ImagePullBackOff"),
        ("gpu003", "device-plugin", "Init:0/1"),
        ("gpu004", "dcgm-exporter", "CrashLoopBackOff"),
    ]
    assert any("state-dcgm-exporter" in log.message and log.level == "warning" for log in logs)
    run, result, logs = await _run(engine, "network-operator")
    assert result.summary == (
        "NicClusterPolicy nic-cluster-policy notReady; 1 node(s) with Network Operator pods not ready: gpu004"
    )
    assert [(r[0], r[1], r[2]) for r in result.table.rows] == [("gpu004", "mofed", "Init:CrashLoopBackOff")]
    run, result, _ = await _run(engine, "gpu-operator", nodes="gpu001", all=True)
    assert sorted(r[1] for r in result.table.rows) == [
        "dcgm-exporter",
        "device-plugin",
        "driver",
        "mig-manager",
        "toolkit",
        "validator",
    ]
    assert all(r[3] == "yes" for r in result.table.rows) and "all 6 GPU Operator pod(s) ready" in result.summary


async def test_fleet_and_node_health_carry_operator_state(engine: Engine) -> None:
    run, result, _ = await _run(engine, "fleet")
    assert result.summary == "4 nodes; ClusterPolicy notReady; NicClusterPolicy notReady"
    ops = {r.node: r.operators for r in result.rows}
    assert ops == {
        "gpu001": "ok",
        "gpu002": "driver ImagePullBackOff",
        "gpu003": "device-plugin Init:0/1",
        "gpu004": "dcgm-exporter CrashLoopBackOff, mofed Init:CrashLoopBackOff",
    }


async def test_healthy_operators(kube_lab: lab.LabInfo, tmp_path: Path) -> None:
    kube_lab.reset(operator_world(broken=False), pod_start_delay=0.2, kubelet_stop_seconds=0.3)
    cfg = DcopsConfig(
        cluster=ClusterSection(name="k8s-ops"),
        audit=AuditSection(url=f"sqlite:///{tmp_path / 'a.db'}"),
        kube=KubeSection(kubeconfig=str(kube_lab.kubeconfig), request_timeout=10),
    )
    eng = await open_engine(cfg, policy=Policy.from_toml(ALLOW_ALL))
    try:
        _, result, _ = await _run(eng, "gpu-operator")
        assert result.summary == "ClusterPolicy cluster-policy ready; all 24 GPU Operator pod(s) ready"
        assert result.data["healthy"] is True and result.table.rows == []
    finally:
        await eng.aclose()

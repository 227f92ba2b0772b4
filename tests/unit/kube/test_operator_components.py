"""Operator pods by component and a node's operator state in one phrase (pure logic), and the
demo cluster's operator health through the actions."""

from __future__ import annotations

from dcops.actions.backends.kube_convert import to_policy
from dcops.actions.backends.models import OperatorPod
from dcops.actions.operators import classify, node_operator_state


def _pod(component: str, status: str = "Running", ns: str = "gpu-operator") -> OperatorPod:
    return OperatorPod(
        namespace=ns, name=f"{component}-x", component=component, status=status, ready=status == "Running"
    )


def test_components_by_prefix() -> None:
    assert classify(_pod("nvidia-driver-daemonset-550")) == ("driver", "gpu")
    assert classify(_pod("nvidia-dcgm-exporter")) == ("dcgm-exporter", "gpu")
    assert classify(_pod("nvidia-dcgm")) == ("dcgm", "gpu")
    assert classify(_pod("mofed-rhel9.2-ds", ns="nvidia-network-operator")) == ("mofed", "network")
    assert classify(_pod("rdma-shared-dp-ds", ns="network-operator")) == ("rdma-dp", "network")
    assert classify(_pod("something-else", ns="nvidia-network-operator")) == ("something-else", "network")


def test_node_state_phrase_lists_not_ready_in_stack_order() -> None:
    assert node_operator_state([]) == ""
    assert node_operator_state([_pod("nvidia-driver-daemonset"), _pod("mofed-ds", ns="network-operator")]) == "ok"
    pods = [
        _pod("mofed-ds", "Init:CrashLoopBackOff", "network-operator"),
        _pod("nvidia-device-plugin-daemonset", "Init:0/1"),
        _pod("nvidia-driver-daemonset", "ImagePullBackOff"),
        _pod("nvidia-dcgm-exporter", ""),
    ]
    assert node_operator_state(pods) == (
        "driver ImagePullBackOff, device-plugin Init:0/1, dcgm-exporter NotReady, mofed Init:CrashLoopBackOff"
    )


def test_policy_status_shapes() -> None:
    cp = to_policy(
        "ClusterPolicy",
        {
            "metadata": {"name": "cp"},
            "status": {
                "state": "notReady",
                "conditions": [
                    {
                        "type": "Ready",
                        "status": "False",
                        "reason": "OperandNotReady",
                        "message": "states not ready: [state-driver]",
                    },
                    {"type": "Error", "status": "False"},
                ],
            },
        },
    )
    assert cp.state == "notReady" and cp.problems == ("Ready: OperandNotReady states not ready: [state-driver]",)
    ncp = to_policy(
        "NicClusterPolicy",
        {
            "metadata": {"name": "n"},
            "status": {
                "state": "ready",
                "appliedStates": [{"name": "state-OFED", "state": "ready"}, {"name": "state-SRIOV", "state": "ignore"}],
            },
        },
    )
    assert ncp.state == "ready" and ncp.problems == ()
    assert to_policy("ClusterPolicy", {"metadata": {"name": "fresh"}}).state == ""


async def test_demo_operator_health() -> None:
    from dcops.actions.sim import SimCluster

    sim = SimCluster(nodes=64)
    policies = {p.kind: p for p in await sim.backends().kube.operator_policies()}
    assert policies["ClusterPolicy"].state == "notReady" and policies["NicClusterPolicy"].state == "ready"


async def test_operator_actions_refuse_a_bad_hostlist_before_running(tmp_path) -> None:
    from dcops.actions import Request
    from dcops.actions.config.model import AuditSection, ClusterSection, DcopsConfig
    from dcops.actions.engine import Engine
    from dcops.actions.errors import UsageError
    from dcops.actions.rbac import Policy
    from dcops.actions.sim import SimCluster
    from dcops.actions.store.base import AuditQuery
    from dcops.actions.store.sqlite import SqliteStore

    cfg = DcopsConfig(cluster=ClusterSection(name="t", demo=True), audit=AuditSection(url=f"sqlite:///{tmp_path}/a.db"))
    eng = Engine(cfg, SimCluster(nodes=8).backends(), SqliteStore(str(tmp_path / "a.db")), Policy.demo())
    await eng.start()
    try:
        import pytest

        for action in ("gpu-operator", "network-operator"):
            with pytest.raises(UsageError, match="malformed hostlist"):
                await eng.submit(
                    Request(principal="unix:alice", channel="cli", action=action, params={"nodes": "gpu["})
                )
        recs = await eng.store.query(AuditQuery(event="invalid", limit=5))
        assert len(recs) == 2 and not await eng.store.query(AuditQuery(event="started", limit=1))
    finally:
        await eng.aclose()

"""drain / resume / k8s-jobs / restart-job end to end through the engine (RBAC, audit, locks)
against the lab API server: a Kubernetes-only cluster built from config by the real factory, and a
cluster whose nodes are in Slurm (the simulator's) and Kubernetes (the lab) under a name mapping."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from kubelab import dead_kubeconfig, node_obj, pods_by_node

from dcops.actions import Request, open_engine
from dcops.actions.backends.bundle import Backends
from dcops.actions.backends.kube import KubeAdapter
from dcops.actions.backends.kube_inventory import KubeInventory
from dcops.actions.config.kube import KubeSection
from dcops.actions.config.model import AuditSection, ClusterSection, DcopsConfig
from dcops.actions.engine import Engine
from dcops.actions.events import Result, RunFinished, Step
from dcops.actions.inventory import MergedInventory, SlurmInventory
from dcops.actions.rbac import Policy
from dcops.actions.sim import SimCluster
from dcops.actions.store.base import AuditQuery
from dcops.actions.store.sqlite import SqliteStore
from tests.lab.kubeapi import lab

ALLOW_ALL = '[roles.all]\nactions = ["*"]\n[[bindings]]\nprincipals = ["unix:*"]\nroles = ["all"]\n'


def _config(tmp_path: Path, info: lab.LabInfo, **kube: Any) -> DcopsConfig:
    return DcopsConfig(
        cluster=ClusterSection(name="k8s-lab"),
        audit=AuditSection(url=f"sqlite:///{tmp_path / 'a.db'}"),
        kube=KubeSection(kubeconfig=str(info.kubeconfig), **kube),
    )


@pytest.fixture
async def k8s_only(tmp_path: Path, world: lab.LabInfo) -> AsyncIterator[Engine]:
    engine = await open_engine(_config(tmp_path, world, drain_timeout=2), policy=Policy.from_toml(ALLOW_ALL))
    yield engine
    await engine.aclose()


async def _run(engine: Engine, action: str, **params: Any) -> tuple[RunFinished, list[Any]]:
    run = await engine.submit(Request(principal="unix:alice", channel="cli", action=action, params=params))
    events = [ev async for ev in run.events()]
    finished = events[-1]
    assert isinstance(finished, RunFinished)
    return finished, events


def _result(events: list[Any]) -> Result:
    return [e for e in events if isinstance(e, Result)][-1]


async def test_k8s_only_drain_blocked_by_pdb_fails_clearly_and_leaves_node_cordoned(
    k8s_only: Engine, world: lab.LabInfo
) -> None:
    fin, events = await _run(k8s_only, "drain", nodes="gpu001", reason="xid 79")
    assert fin.outcome == "failed"
    step = [e for e in events if isinstance(e, Step) and e.target == "gpu001" and e.status == "failed"][0]
    assert step.detail.startswith(
        "k8s: gpu001 cordoned but not drained (drain timeout 2s); 1 pod(s) block: "
        "ml/trainer-ckpt-5c4b-x1 (PodDisruptionBudget: The disruption budget "
        "trainer-ckpt-pdb needs 1 healthy pods and has 1 currently)"
    )
    result = _result(events)
    assert not result.ok and result.summary == "kubernetes: 0/1 drained; 1 failed (gpu001)"
    assert result.table.rows[0][:4] == ["gpu001", "gpu001", "cordoned", 3]
    assert node_obj(world, "gpu001")["spec"]["unschedulable"] is True
    assert "ml/trainer-ckpt-5c4b" in pods_by_node(world)["gpu001"]
    audit = sorted(await k8s_only.store.query(AuditQuery(run_id=fin.run_id)), key=lambda r: r.seq)
    assert [r.event for r in audit][-1] == "finished" and audit[-1].outcome == "failed"
    assert any(r.event == "step" and r.outcome == "failed" and "trainer-ckpt-pdb" in (r.detail or "") for r in audit)


async def test_k8s_only_drain_dry_run_lists_evictions_and_changes_nothing(k8s_only: Engine, world: lab.LabInfo) -> None:
    before = pods_by_node(world)
    fin, events = await _run(k8s_only, "drain", nodes="gpu[001-002]", reason="maintenance", dry_run=True)
    assert fin.outcome == "dry-run"
    result = _result(events)
    rows = {r.node: r for r in result.rows}  # typed rows: the pods are a list
    assert rows["gpu001"].would_evict == [
        "default/debug-shell",
        "default/inference-7d9f-a1",
        "default/inference-7d9f-a2",
        "ml/trainer-ckpt-5c4b-x1",
    ]
    assert "trainer-ckpt-pdb" in rows["gpu001"].would_block_now and rows["gpu002"].would_block_now == "-"
    assert result.summary.startswith("kubernetes: would cordon 2 node(s) and evict 5 pod(s)")
    assert pods_by_node(world) == before and not node_obj(world, "gpu001")["spec"].get("unschedulable")


async def test_k8s_only_drain_then_resume(k8s_only: Engine, world: lab.LabInfo) -> None:
    fin, events = await _run(k8s_only, "drain", nodes="gpu002", reason="swap HCA")
    assert fin.outcome == "ok", fin.summary
    assert "default/inference-7d9f" not in pods_by_node(world)["gpu002"]
    fin, events = await _run(k8s_only, "resume", nodes="gpu002")
    assert fin.outcome == "ok" and fin.summary == "kubernetes: 1/1 uncordoned"
    assert not node_obj(world, "gpu002")["spec"].get("unschedulable")


async def test_unknown_node_is_a_usage_error(k8s_only: Engine) -> None:
    from dcops.actions.errors import UsageError

    with pytest.raises(UsageError, match="unknown node gpu099"):
        await k8s_only.submit(
            Request(principal="unix:alice", channel="cli", action="drain", params={"nodes": "gpu099", "reason": "x"})
        )


async def test_k8s_jobs_and_restart_job(k8s_only: Engine) -> None:
    fin, events = await _run(k8s_only, "k8s-jobs", status="failed")
    assert fin.outcome == "ok"
    assert [r[:3] for r in _result(events).table.rows] == [["ml", "finetune-bad", "Failed"]]

    fin, events = await _run(k8s_only, "restart-job", job="ml/finetune-bad", dry_run=True)
    assert fin.outcome == "dry-run" and "would delete job ml/finetune-bad (Failed)" in fin.summary

    fin, events = await _run(k8s_only, "restart-job", job="ml/finetune-bad")
    assert fin.outcome == "ok", fin.summary
    assert fin.summary in (
        "restarted job ml/finetune-bad: was Failed, now Pending",
        "restarted job ml/finetune-bad: was Failed, now Running",
    )

    fin, _ = await _run(k8s_only, "restart-job", job="ml/train-llm")
    assert fin.outcome == "failed"
    assert fin.summary == (
        "job ml/train-llm is Running with 1 active pod(s); restarting kills them: add --force to restart it anyway"
    )
    fin, _ = await _run(k8s_only, "restart-job", job="ml/nope")
    assert fin.summary == "no Kubernetes Job ml/nope; list them with: k8s-jobs --namespace ml"


async def test_api_server_down_fails_the_run_with_a_clear_error(tmp_path: Path, world: lab.LabInfo) -> None:
    dead, port = dead_kubeconfig(tmp_path / "dead-kubeconfig", world)
    cfg = _config(tmp_path, world).model_copy(update={"kube": KubeSection(kubeconfig=str(dead), request_timeout=2)})
    engine = await open_engine(cfg, policy=Policy.from_toml(ALLOW_ALL))
    try:
        fin, _ = await _run(engine, "k8s-jobs")
        assert fin.outcome == "failed"
        assert fin.summary == f"kube: API server https://127.0.0.1:{port} unreachable (list jobs): connection refused"
    finally:
        await engine.aclose()


@pytest.fixture
async def mixed(tmp_path: Path, world: lab.LabInfo) -> AsyncIterator[tuple[Engine, SimCluster]]:
    """Slurm (the simulator) names nodes gpu001..gpu016; Kubernetes (the lab) knows gpu001..gpu004,
    and the config maps dcops' gpu012 to the Kubernetes node gpu002."""
    sim = SimCluster(nodes=16)
    section = KubeSection(kubeconfig=str(world.kubeconfig), drain_timeout=5, node_map={"gpu012": "gpu002"})
    cfg = _config(tmp_path, world).model_copy(update={"kube": section})
    kube = KubeAdapter(section)
    slurm = sim.backends().slurm
    backends = Backends(
        inventory=MergedInventory([SlurmInventory(slurm), KubeInventory(kube, section, optional=True)]),
        slurm=slurm,
        kube=kube,
    )
    engine = Engine(cfg, backends, SqliteStore(str(tmp_path / "a.db")), Policy.from_toml(ALLOW_ALL))
    await engine.start()
    yield engine, sim
    await engine.aclose()
    await kube.aclose()


async def test_drain_and_resume_act_on_slurm_and_kubernetes_together(
    mixed: tuple[Engine, SimCluster], world: lab.LabInfo
) -> None:
    engine, sim = mixed
    slurm = sim.backends().slurm
    fin, events = await _run(engine, "drain", nodes="gpu012", reason="xid 48")
    assert fin.outcome == "ok", fin.summary
    assert fin.summary.endswith("; kubernetes: 1/1 drained")
    assert (await slurm.nodes(["gpu012"]))[0].drain_flag
    assert node_obj(world, "gpu002")["spec"]["unschedulable"] is True
    assert "default/inference-7d9f" not in pods_by_node(world)["gpu002"]
    result = _result(events)
    assert result.table.columns[-4:] == ["k8s node", "k8s state", "evicted", "blocked by"]
    assert result.table.rows[0][0] == "gpu012" and result.table.rows[0][-4:] == ["gpu002", "cordoned", 1, "-"]

    fin, _ = await _run(engine, "resume", nodes="gpu012")
    assert fin.outcome == "ok" and fin.summary.endswith("; kubernetes: 1/1 uncordoned")
    assert not (await slurm.nodes(["gpu012"]))[0].drain_flag
    assert not node_obj(world, "gpu002")["spec"].get("unschedulable")


async def test_slurm_only_nodes_skip_kubernetes(mixed: tuple[Engine, SimCluster], world: lab.LabInfo) -> None:
    engine, sim = mixed
    fin, events = await _run(engine, "drain", nodes="gpu010", reason="bad dimm", dry_run=True)
    assert fin.outcome == "dry-run"
    assert any("not Kubernetes nodes, nothing to evict: gpu010" in getattr(e, "message", "") for e in events)
    assert "would cordon 0 node(s)" in fin.summary


async def test_k8s_nodes_shows_gpus_and_operator_pods_down(k8s_only: Engine) -> None:
    fin, events = await _run(k8s_only, "k8s-nodes", problems=True)
    assert fin.outcome == "ok" and fin.summary == "1 Kubernetes node(s), 1 with problems"
    assert _result(events).table.rows == [
        ["gpu003", "gpu003", "Ready", "schedulable", 8, "3/4", "nvidia-driver-daemonset: CrashLoopBackOff"]
    ]
    fin, events = await _run(k8s_only, "k8s-nodes", gpu_only=True)
    assert [r[0] for r in _result(events).table.rows] == ["gpu001", "gpu002", "gpu003", "gpu004"]


async def test_kubernetes_down_does_not_undo_the_slurm_drain(tmp_path: Path, world: lab.LabInfo) -> None:
    dead, port = dead_kubeconfig(tmp_path / "dead-kubeconfig", world)
    section = KubeSection(kubeconfig=str(dead), request_timeout=2)
    sim = SimCluster(nodes=16)
    slurm, kube = sim.backends().slurm, KubeAdapter(section)
    backends = Backends(
        inventory=MergedInventory([SlurmInventory(slurm), KubeInventory(kube, section, optional=True)]),
        slurm=slurm,
        kube=kube,
    )
    cfg = _config(tmp_path, world).model_copy(update={"kube": section})
    engine = Engine(cfg, backends, SqliteStore(str(tmp_path / "a.db")), Policy.from_toml(ALLOW_ALL))
    await engine.start()
    try:
        fin, _ = await _run(engine, "drain", nodes="gpu012", reason="xid 48")
        assert fin.outcome == "failed"
        assert fin.summary.startswith(
            "drained 1 node(s) gpu012; kubernetes failed: kube: API server "
            f"https://127.0.0.1:{port} unreachable (list nodes): connection refused"
        )
        assert (await slurm.nodes(["gpu012"]))[0].drain_flag
    finally:
        await engine.aclose()
        await kube.aclose()

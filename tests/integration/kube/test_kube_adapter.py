"""dcops' KubeAdapter (official client) against the lab API server: GPU node state, cordon,
drain by eviction honouring PDBs, job listing and restart, and clear errors when the API server
is down, hung, or the kubeconfig is bad."""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path

import pytest
from kubelab import dead_kubeconfig, kubeconfig_for, node_obj, pods_by_node

from dcops.actions.backends.kube import KubeAdapter
from dcops.actions.config.kube import KubeSection
from dcops.actions.errors import BackendError, BackendUnavailable, ConfigError
from tests.lab.kubeapi import lab
from tests.lab.kubeapi import scenario as sc


async def test_nodes_report_gpus_and_operator_pods(kube: KubeAdapter) -> None:
    nodes = {n.name: n for n in await kube.nodes()}
    assert set(nodes) == {"cpu001", "gpu001", "gpu002", "gpu003", "gpu004"}
    assert nodes["gpu001"].gpu_allocatable == 8 and nodes["cpu001"].gpu_allocatable == 0
    assert nodes["cpu001"].operator_pods == ()
    driver = {
        n: next(o for o in nodes[n].operator_pods if o.component == "nvidia-driver-daemonset")
        for n in ("gpu001", "gpu003")
    }
    assert (driver["gpu001"].status, driver["gpu001"].ready) == ("Running", True)
    assert (driver["gpu003"].status, driver["gpu003"].ready) == ("CrashLoopBackOff", False)
    assert {o.component for o in nodes["gpu002"].operator_pods} == {
        "nvidia-driver-daemonset",
        "nvidia-device-plugin-daemonset",
        "nvidia-dcgm-exporter",
        "mofed-ubuntu22.04-ds",
    }


async def test_cordon_and_uncordon(kube: KubeAdapter, world: lab.LabInfo) -> None:
    await kube.cordon("gpu004")
    assert node_obj(world, "gpu004")["spec"]["unschedulable"] is True
    assert {n.name: n.unschedulable for n in await kube.nodes()}["gpu004"] is True
    await kube.uncordon("gpu004")
    assert not node_obj(world, "gpu004")["spec"].get("unschedulable")


async def test_drain_blocked_by_pdb_reports_blocking_pod_and_stays_cordoned(
    kube: KubeAdapter, world: lab.LabInfo
) -> None:
    started = time.monotonic()
    report = await kube.drain("gpu001", timeout=3)
    elapsed = time.monotonic() - started
    assert report.cordoned and not report.complete and not report.dry_run
    assert [(b.namespace, b.name) for b in report.blocked] == [("ml", "trainer-ckpt-5c4b-x1")]
    assert "trainer-ckpt-pdb needs 1 healthy pods and has 1 currently" in report.blocked[0].reason
    # the second inference replica was refused (429) until the first one's replacement was Ready
    assert set(report.evicted) == {"default/debug-shell", "default/inference-7d9f-a1", "default/inference-7d9f-a2"}
    assert any("mirror pod" in s for s in report.skipped)
    assert sum("DaemonSet" in s for s in report.skipped) == 5
    assert 3 <= elapsed < 6
    assert node_obj(world, "gpu001")["spec"]["unschedulable"] is True
    left = [p for p in pods_by_node(world)["gpu001"] if not p.startswith(("gpu-operator/", "network-operator/"))]
    assert left == ["kube-system/kube-proxy", "kube-system/node-healthcheck-gpu001", "ml/trainer-ckpt-5c4b"]


async def test_drain_completes_when_no_budget_blocks(kube: KubeAdapter, world: lab.LabInfo) -> None:
    report = await kube.drain("gpu002", timeout=10)
    assert report.complete and report.evicted == ("default/inference-7d9f-b1",)
    assert "default/inference-7d9f" not in pods_by_node(world)["gpu002"]


async def test_drain_dry_run_changes_nothing_and_predicts_blocks(kube: KubeAdapter, world: lab.LabInfo) -> None:
    before = pods_by_node(world)
    report = await kube.drain("gpu001", timeout=3, dry_run=True)
    assert report.dry_run and not report.cordoned
    assert "ml/trainer-ckpt-5c4b-x1" in report.evicted and len(report.evicted) == 4
    assert [b.name for b in report.blocked] == ["trainer-ckpt-5c4b-x1"]
    assert pods_by_node(world) == before
    assert not node_obj(world, "gpu001")["spec"].get("unschedulable")


async def test_drain_waits_for_grace_period_and_reports_lingering_pods(kube: KubeAdapter, world: lab.LabInfo) -> None:
    world.reset(
        [sc.node("gpu001"), sc.node("gpu002"), sc.pod("default", "slow", "gpu001", grace=30)], kubelet_stop_seconds=30
    )
    report = await kube.drain("gpu001", timeout=1.5)
    assert [b.name for b in report.blocked] == ["slow"]
    assert "still terminating" in report.blocked[0].reason and "grace period 30s" in report.blocked[0].reason


async def test_jobs_and_restart_of_a_failed_job(kube: KubeAdapter, world: lab.LabInfo) -> None:
    jobs = {j.name: j for j in await kube.jobs("ml")}
    assert {n: j.status for n, j in jobs.items()} == {
        "eval-done": "Complete",
        "finetune-bad": "Failed",
        "train-llm": "Running",
    }
    assert jobs["train-llm"].nodes and jobs["finetune-bad"].nodes == ()
    old_uid = next(o for o in world.objects() if o["kind"] == "Job" and o["metadata"]["name"] == "finetune-bad")[
        "metadata"
    ]["uid"]
    await kube.restart_job("ml", "finetune-bad")
    job = next(o for o in world.objects() if o["kind"] == "Job" and o["metadata"]["name"] == "finetune-bad")
    assert job["metadata"]["uid"] != old_uid
    assert job["metadata"]["labels"] == {"team": "ml"}
    assert not any(c["type"] == "Failed" for c in job["status"].get("conditions") or [])
    await asyncio.sleep(0.4)  # the lab's kubelet starts the new pod
    restarted = {j.name: j for j in await kube.jobs("ml")}["finetune-bad"]
    assert (restarted.status, restarted.active, restarted.failed) == ("Running", 1, 0)


async def test_restart_of_a_job_that_fails_by_itself(kube: KubeAdapter, world: lab.LabInfo) -> None:
    world.reset([sc.node("gpu001"), sc.job("ml", "flaky", exit_after=0.2, exit_code=1)], pod_start_delay=0.05)
    for _ in range(40):
        if {j.name: j.status for j in await kube.jobs("ml")}["flaky"] == "Failed":
            break
        await asyncio.sleep(0.1)
    else:
        pytest.fail("the lab's Job never failed")
    await kube.restart_job("ml", "flaky")
    assert {j.name: j.status for j in await kube.jobs("ml")}["flaky"] in ("Pending", "Running")


async def test_restart_of_missing_job_is_a_clear_error(kube: KubeAdapter) -> None:
    with pytest.raises(BackendError, match=r'^kube: get job ml/nope: jobs.batch "nope" not found$'):
        await kube.restart_job("ml", "nope")


async def test_api_server_down_is_a_clear_error(tmp_path: Path, kube_lab: lab.LabInfo) -> None:
    dead, port = dead_kubeconfig(tmp_path / "kubeconfig", kube_lab)
    adapter = KubeAdapter(KubeSection(kubeconfig=str(dead), request_timeout=3))
    try:
        started = time.monotonic()
        with pytest.raises(BackendUnavailable) as err:
            await adapter.drain("gpu001", timeout=30)
        assert str(err.value) == (
            f"kube: API server https://127.0.0.1:{port} unreachable (get node gpu001): connection refused"
        )
        assert time.monotonic() - started < 3
    finally:
        await adapter.aclose()


async def test_hung_api_server_is_bounded_by_the_request_timeout(tmp_path: Path, kube_lab: lab.LabInfo) -> None:
    with socket.socket() as s:  # accepts connections, never answers
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        port = s.getsockname()[1]
        adapter = KubeAdapter(
            KubeSection(kubeconfig=str(kubeconfig_for(tmp_path / "kubeconfig", kube_lab, port)), request_timeout=1)
        )
        try:
            started = time.monotonic()
            with pytest.raises(BackendUnavailable, match=r"unreachable \(list nodes\): timed out$"):
                await adapter.nodes()
            assert time.monotonic() - started < 4
        finally:
            await adapter.aclose()


async def test_bad_kubeconfig_is_a_config_error(tmp_path: Path) -> None:
    adapter = KubeAdapter(KubeSection(kubeconfig=str(tmp_path / "missing")))
    try:
        with pytest.raises(
            ConfigError,
            match=r"^\[kube\] kubeconfig .*/missing does not exist \(set \[kube\] "
            r"kubeconfig or \$KUBECONFIG\)$",
        ):
            await adapter.nodes()
        (tmp_path / "garbage").write_text("clusters: [not, a, kubeconfig")
        adapter.section = KubeSection(kubeconfig=str(tmp_path / "garbage"))
        with pytest.raises(ConfigError, match=r"^\[kube\] cannot load kubeconfig .*/garbage: "):
            await adapter.nodes()
    finally:
        await adapter.aclose()


async def test_wrong_token_is_a_clear_error(tmp_path: Path, kube_lab: lab.LabInfo) -> None:
    path = tmp_path / "kubeconfig"
    lab.write_kubeconfig(path, kube_lab.url, "not-the-token", kube_lab.ca_file)
    adapter = KubeAdapter(KubeSection(kubeconfig=str(path)))
    try:
        with pytest.raises(
            BackendError,
            match=r"^kube: list nodes: unauthorized by https://127\.0\.0\.1:\d+: "
            r"Unauthorized$",
        ):
            await adapter.nodes()
    finally:
        await adapter.aclose()


async def test_restart_that_cannot_recreate_says_the_job_was_deleted(kube: KubeAdapter, world: lab.LabInfo) -> None:
    world.faults(
        {
            "method": "POST",
            "path": "/apis/batch/v1/namespaces/ml/jobs",
            "code": 500,
            "message": "etcdserver: request timed out",
            "skip_dry_run": True,
        }
    )
    with pytest.raises(BackendError) as err:
        await kube.restart_job("ml", "finetune-bad")
    assert str(err.value) == (
        "kube: job ml/finetune-bad was deleted but could not be created again: "
        "create job ml/finetune-bad: HTTP 500: etcdserver: request timed out"
    )


async def test_pod_under_two_budgets_is_reported_at_once_not_retried(kube: KubeAdapter, world: lab.LabInfo) -> None:
    web = {"app": "web"}
    world.reset(
        [
            sc.node("gpu001"),
            sc.node("gpu002"),
            sc.replicaset("default", "web", 1, web),
            sc.pdb("default", "web-a", web, max_unavailable=1),
            sc.pdb("default", "web-b", web, min_available=1),
            sc.pod("default", "web-1", "gpu001", labels=web, owner=sc.owner_ref("ReplicaSet", "default", "web")),
        ]
    )
    started = time.monotonic()
    report = await kube.drain("gpu001", timeout=20)
    assert time.monotonic() - started < 3
    assert [(b.name, b.reason) for b in report.blocked] == [
        (
            "web-1",
            "evict pod default/web-1: HTTP 500: This pod has more than one PodDisruptionBudget, which the "
            "eviction subresource does not support.",
        )
    ]


async def test_hung_credential_plugin_is_bounded(tmp_path: Path, kube_lab: lab.LabInfo) -> None:
    import json

    path = tmp_path / "kubeconfig"
    cfg = json.loads(kube_lab.kubeconfig.read_text())
    cfg["users"][0]["user"] = {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": "sleep",
            "args": ["3"],
            "interactiveMode": "Never",
        }
    }
    path.write_text(json.dumps(cfg))
    adapter = KubeAdapter(KubeSection(kubeconfig=str(path), request_timeout=1))
    try:
        started = time.monotonic()
        with pytest.raises(
            BackendUnavailable,
            match=r"loading kubeconfig .* took longer than 1s \(a hung credential "
            r"plugin\?\)$",
        ):
            await adapter.nodes()
        assert time.monotonic() - started < 2
    finally:
        await adapter.aclose()


@pytest.mark.parametrize("policy, blocked", [("IfHealthyBudget", True), ("AlwaysAllow", False)])
async def test_crashlooping_pod_under_an_unmet_budget(
    kube: KubeAdapter, world: lab.LabInfo, policy: str, blocked: bool
) -> None:
    """Two of three replicas crash-loop, so a minAvailable=2 budget is not met: by default the
    broken pod cannot be evicted either (a classic stuck drain); AlwaysAllow lets it go."""
    api = {"app": "api"}
    owner = sc.owner_ref("ReplicaSet", "default", "api")
    budget = sc.pdb("default", "api-pdb", api, min_available=2)
    budget["spec"]["unhealthyPodEvictionPolicy"] = policy
    world.reset(
        [
            sc.node("gpu001"),
            sc.node("gpu002"),
            sc.replicaset("default", "api", 3, api),
            budget,
            sc.pod("default", "api-1", "gpu001", labels=api, owner=owner, waiting="CrashLoopBackOff"),
            sc.pod("default", "api-2", "gpu002", labels=api, owner=owner, waiting="CrashLoopBackOff"),
            sc.pod("default", "api-3", "gpu002", labels=api, owner=owner),
        ]
    )
    report = await kube.drain("gpu001", timeout=1)
    assert [b.name for b in report.blocked] == (["api-1"] if blocked else []), report.blocked
    if blocked:
        assert "api-pdb needs 2 healthy pods and has 1 currently" in report.blocked[0].reason


async def test_drain_of_a_notready_node_says_why_pods_stay_terminating(kube: KubeAdapter, world: lab.LabInfo) -> None:
    world.reset([sc.node("gpu001", ready=False), sc.node("gpu002"), sc.pod("default", "stuck", "gpu001", grace=5)])
    report = await kube.drain("gpu001", timeout=1)
    assert [b.name for b in report.blocked] == ["stuck"]
    assert report.blocked[0].reason.endswith(
        "; the node is NotReady, so no kubelet will stop it (force-delete it if the node is dead)"
    )
    assert pods_by_node(world)["gpu001"] == ["~default/stuck"]


async def test_drain_grace_period_overrides_the_pods_own(kube: KubeAdapter, world: lab.LabInfo) -> None:
    world.reset(
        [sc.node("gpu001"), sc.node("gpu002"), sc.pod("default", "slow", "gpu001", grace=30)], kubelet_stop_seconds=30
    )
    started = time.monotonic()
    report = await kube.drain("gpu001", timeout=5, grace_period=0)
    assert report.complete and report.evicted == ("default/slow",)
    assert time.monotonic() - started < 2 and "gpu001" not in pods_by_node(world)

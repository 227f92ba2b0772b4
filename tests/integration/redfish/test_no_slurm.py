"""Clusters without Slurm, on the real labs: firmware-update and reimage from a config with no
[slurm] section. Kubernetes-only (the lab's Kubernetes API server + the lab BMCs): nodes are
cordoned and evicted before the BMC is touched and uncordoned after, a node found cordoned stays
cordoned, a PodDisruptionBudget that blocks the drain stops the node before its firmware is
touched. BMC-only (the lab BMCs alone): a real run needs --no-drain; a dry run shows the plan."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from redfish_lab import ALLOW_ALL, redfish_section, run_action

from dcops.actions import open_engine
from dcops.actions.config.kube import KubeSection
from dcops.actions.config.model import AuditSection, ClusterSection, DcopsConfig, NodeEntry
from dcops.actions.errors import UsageError
from dcops.actions.rbac import Policy
from tests.lab.kubeapi import lab as kube_lab_mod
from tests.lab.kubeapi.scenario import default_world

pytestmark = pytest.mark.lab
OLD_BIOS, NEW_BIOS = "2.3.1", "2.4.0"


@pytest.fixture(scope="module")
def kube_session() -> Iterator[kube_lab_mod.LabInfo]:
    was_running = kube_lab_mod.status() is not None
    try:
        info = kube_lab_mod.start()
    except kube_lab_mod.LabError as exc:
        pytest.fail(f"the lab Kubernetes API server cannot start: {exc}")
    yield info
    if not was_running:
        kube_lab_mod.stop()


@pytest.fixture
def world(kube_session: kube_lab_mod.LabInfo) -> kube_lab_mod.LabInfo:
    """gpu001..gpu004 as Kubernetes nodes; a PDB makes gpu001 undrainable (see default_world)."""
    kube_session.reset(default_world(), pod_start_delay=0.2, kubelet_stop_seconds=0.3)
    return kube_session


def config(lab, tmp_path: Path, kube: KubeSection | None) -> DcopsConfig:
    return DcopsConfig(
        cluster=ClusterSection(name="no-slurm"),
        audit=AuditSection(url=f"sqlite:///{tmp_path / 'a.db'}"),
        nodes=[NodeEntry(names="gpu[001-004]", partitions=["gpu"])],
        redfish=redfish_section(lab),
        kube=kube,
    )


def node(world: kube_lab_mod.LabInfo, name: str) -> dict:
    return next(o for o in world.objects() if o["kind"] == "Node" and o["metadata"]["name"] == name)


def pods_on(world: kube_lab_mod.LabInfo, name: str) -> list[str]:
    return sorted(
        o["metadata"]["name"]
        for o in world.objects()
        if o["kind"] == "Pod" and o["spec"].get("nodeName") == name and not o["metadata"].get("deletionTimestamp")
    )


def bios(lab, name: str) -> str:
    return lab.status()["nodes"][name]["versions"]["BIOS"]


def image(lab) -> dict:
    return {"image": lab.image_url(f"bios-{NEW_BIOS}.bin"), "component": "BIOS"}


async def test_kubernetes_only_update_cordons_evicts_then_uncordons(lab, world, tmp_path: Path) -> None:
    cfg = config(lab, tmp_path, KubeSection(kubeconfig=str(world.kubeconfig), drain_timeout=10))
    engine = await open_engine(cfg, policy=Policy.from_toml(ALLOW_ALL))
    seen: dict[str, tuple[bool, list[str]]] = {}
    try:
        kube = engine.backends.kube
        await kube.cordon("gpu003")  # someone else's cordon: must stay
        assert "inference-7d9f-b1" in pods_on(world, "gpu002")
        run = await run_action(engine, "firmware-update", {"nodes": "gpu[002-003]", **image(lab), "max_parallel": 1})
        async for ev in run.events():
            if ev.kind == "step" and ev.detail == "drained":  # BMC not touched yet: the node must be out
                seen[ev.target] = (bool(node(world, ev.target)["spec"].get("unschedulable")), pods_on(world, ev.target))
        fin = run.finished
    finally:
        await engine.aclose()
    assert fin.outcome == "ok", fin.summary
    assert seen["gpu002"][0] is True and "inference-7d9f-b1" not in seen["gpu002"][1]
    assert seen["gpu003"][0] is True
    assert not node(world, "gpu002")["spec"].get("unschedulable")  # returned to service
    assert node(world, "gpu003")["spec"].get("unschedulable") is True  # left as found
    assert bios(lab, "gpu002") == bios(lab, "gpu003") == NEW_BIOS
    assert sorted(run.result.data["updated"]) == ["gpu002", "gpu003"]


async def test_a_pdb_that_blocks_the_drain_stops_the_node_before_its_bmc(lab, world, tmp_path: Path) -> None:
    cfg = config(lab, tmp_path, KubeSection(kubeconfig=str(world.kubeconfig)))
    engine = await open_engine(cfg, policy=Policy.from_toml(ALLOW_ALL))
    try:
        run = await run_action(engine, "firmware-update", {"nodes": "gpu001", **image(lab), "drain_timeout": 2})
        fin = await run.wait()
    finally:
        await engine.aclose()
    assert fin.outcome == "failed"
    why = run.result.data["failed"]["gpu001"]
    assert "failed draining" in why and "trainer-ckpt-pdb" in why and "node left drained" in why
    assert node(world, "gpu001")["spec"].get("unschedulable") is True  # held out of service
    assert bios(lab, "gpu001") == OLD_BIOS and all(t == 0 for t in lab.status()["tasks"].values())


async def test_kubernetes_only_dry_runs_show_the_plan(lab, world, tmp_path: Path) -> None:
    cfg = config(lab, tmp_path, KubeSection(kubeconfig=str(world.kubeconfig)))
    engine = await open_engine(cfg, policy=Policy.from_toml(ALLOW_ALL))
    try:
        fw = await run_action(engine, "firmware-update", {"nodes": "gpu[001-004]", **image(lab), "dry_run": True})
        await fw.wait()
        ri = await run_action(engine, "reimage", {"nodes": "gpu[001-002]", "dry_run": True})
        await ri.wait()
    finally:
        await engine.aclose()
    assert fw.finished.outcome == "dry-run"
    assert fw.result.summary == (
        "would update 4 of 4 node(s), 4 at a time; nodes drained through Kubernetes first, returned to service after"
    )
    assert ri.finished.outcome == "dry-run" and "a real run would fail: no [ssh] section" in ri.result.summary
    assert not any(node(world, n)["spec"].get("unschedulable") for n in ("gpu001", "gpu002", "gpu003", "gpu004"))


async def test_bmc_only_needs_no_drain_and_then_updates(lab, tmp_path: Path) -> None:
    engine = await open_engine(config(lab, tmp_path, None), policy=Policy.from_toml(ALLOW_ALL))
    try:
        with pytest.raises(UsageError, match="add --no-drain to go ahead without draining"):
            await run_action(engine, "firmware-update", {"nodes": "gpu004", **image(lab)})
        dry = await run_action(engine, "firmware-update", {"nodes": "gpu004", **image(lab), "dry_run": True})
        await dry.wait()
        run = await run_action(engine, "firmware-update", {"nodes": "gpu004", **image(lab), "no_drain": True})
        fin = await run.wait()
    finally:
        await engine.aclose()
    assert dry.finished.outcome == "dry-run" and "a real run needs --no-drain" in dry.result.summary
    assert fin.outcome == "ok", fin.summary
    assert run.result.data["updated"] == ["gpu004"] and bios(lab, "gpu004") == NEW_BIOS

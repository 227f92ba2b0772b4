"""firmware-update and reimage on clusters without Slurm (simulator backends with ports removed):
they drain through whichever schedulers exist; with none, a real run needs --no-drain, which the
policy decides as the risk ``no-drain``; dry runs never fail for a missing backend. The same flows
run against the lab's Kubernetes API and BMCs in tests/integration/noslurm."""

from __future__ import annotations

import pytest

from dcops.actions.backends.bundle import Backends
from dcops.actions.backends.ports import KubePort, RedfishPort, SlurmPort, SshPort
from dcops.actions.config.model import AuditSection, ClusterSection, DcopsConfig
from dcops.actions.engine import Engine
from dcops.actions.errors import ApprovalRequired, DeniedError, UsageError
from dcops.actions.rbac import Policy
from dcops.actions.request import Request
from dcops.actions.sim import SimCluster
from dcops.actions.store.base import AuditQuery
from dcops.actions.store.sqlite import SqliteStore

ALLOW_ALL = '[roles.all]\nactions = ["*"]\napprove = ["*"]\n[[bindings]]\nprincipals = ["unix:*"]\nroles = ["all"]\n'
IDLE = "gpu[059-060]"  # idle in the simulator's story
IMAGE = {"image": "http://files.example/bios-2.4.1.bin", "component": "BIOS"}


async def _engine(tmp_path, backends: Backends, policy: str = ALLOW_ALL) -> Engine:
    cfg = DcopsConfig(cluster=ClusterSection(name="t"), audit=AuditSection(url=f"sqlite:///{tmp_path / 'a.db'}"))
    eng = Engine(cfg, backends, SqliteStore(str(tmp_path / "a.db")), Policy.from_toml(policy))
    await eng.start()
    return eng


async def _submit(eng: Engine, action: str, params: dict, principal: str = "unix:alice"):
    try:
        return await eng.submit(
            Request(
                principal=principal,
                channel="cli",
                action=action,
                params=params,
                confirm=str(len(eng.inventory.cached_names()) and 2),
            )
        )
    except ApprovalRequired as exc:
        return await eng.approve(exc.approval_id, "unix:bob", "cli")


@pytest.fixture
def sim() -> SimCluster:
    return SimCluster(nodes=64, time_scale=1000.0)


def bmc_only(sim: SimCluster) -> Backends:
    return sim.backends().without(SlurmPort, KubePort)


async def _events(run) -> list:  # noqa: ANN001
    return [ev async for ev in run.events()]


async def test_bmc_only_update_without_no_drain_is_bad_input_audited(tmp_path, sim: SimCluster) -> None:
    eng = await _engine(tmp_path, bmc_only(sim))
    before = {c.id: c.version for c in await sim.backends().redfish.firmware_inventory("gpu059")}
    try:
        with pytest.raises(UsageError) as err:
            await _submit(eng, "firmware-update", {"nodes": IDLE, **IMAGE})
        records = await eng.store.query(AuditQuery(event="invalid"))
    finally:
        await eng.aclose()
    assert {c.id: c.version for c in await sim.backends().redfish.firmware_inventory("gpu059")} == before
    assert "no scheduler to drain the nodes through" in str(err.value) and "--no-drain" in str(err.value)
    assert "\n" not in str(err.value)
    assert len(records) == 1 and records[0].action == "firmware-update" and "--no-drain" in records[0].error


async def test_bmc_only_dry_run_says_so_and_does_not_fail(tmp_path, sim: SimCluster) -> None:
    eng = await _engine(tmp_path, bmc_only(sim))
    try:
        run = await _submit(eng, "firmware-update", {"nodes": IDLE, **IMAGE, "dry_run": True})
        fin = await run.wait()
        no_redfish = await _engine(tmp_path / "b", bmc_only(sim).without(RedfishPort, SshPort))
        try:
            run2 = await _submit(no_redfish, "firmware-update", {"nodes": IDLE, **IMAGE, "dry_run": True})
            fin2 = await run2.wait()
            run3 = await _submit(no_redfish, "reimage", {"nodes": IDLE, "dry_run": True})
            fin3 = await run3.wait()
        finally:
            await no_redfish.aclose()
    finally:
        await eng.aclose()
    assert fin.outcome == "dry-run"
    assert run.result.summary.startswith("would update 2 of 2 node(s)")
    assert "no scheduler to drain through (no [slurm] or [kube]): a real run needs --no-drain" in run.result.summary
    assert fin2.outcome == "dry-run" and "no [redfish] section" in run2.result.summary
    assert fin3.outcome == "dry-run" and "a real run would fail: no [redfish] or [ssh] section" in run3.result.summary
    assert "a real run needs --no-drain" in run3.result.summary


async def test_bmc_only_update_with_no_drain_updates_in_service(tmp_path, sim: SimCluster) -> None:
    eng = await _engine(tmp_path, bmc_only(sim))
    try:
        run = await _submit(eng, "firmware-update", {"nodes": IDLE, **IMAGE, "no_drain": True})
        events = await _events(run)
        bios = {
            n: {c.id: c.version for c in await sim.backends().redfish.firmware_inventory(n)}["BIOS"]
            for n in ("gpu059", "gpu060")
        }
        started = await eng.store.query(AuditQuery(event="started"))
    finally:
        await eng.aclose()
    assert run.finished.outcome == "ok", run.finished.summary
    assert set(bios.values()) == {"2.4.1"}
    steps = [(e.target, e.detail) for e in events if e.kind == "step" and e.status == "ok"]
    assert ("gpu059", "not drained (--no-drain)") in steps
    assert any(d.startswith("updated, verified: BIOS") for _, d in steps)  # no "and resumed": never drained
    assert started[0].params.get("no_drain") is True  # the risk taken is in the audit
    assert not any(n.drain_flag for n in await sim.backends().slurm.nodes(["gpu059", "gpu060"]))


async def test_slurm_and_kubernetes_both_drain_and_resume(tmp_path, sim: SimCluster) -> None:
    eng = await _engine(tmp_path, sim.backends())
    kube = sim.backends().kube
    try:
        run = await _submit(eng, "firmware-update", {"nodes": IDLE, **IMAGE, "max_parallel": 1})
        seen: list[tuple[bool, bool]] = []
        async for ev in run.events():
            if ev.kind == "step" and ev.detail == "drained":
                slurm_now = (await sim.backends().slurm.nodes([ev.target]))[0].drain_flag
                kube_now = next(n.unschedulable for n in await kube.nodes() if n.name == ev.target)
                seen.append((slurm_now, kube_now))
        fin = run.finished
    finally:
        await eng.aclose()
    assert fin.outcome == "ok", fin.summary
    assert seen == [(True, True), (True, True)]  # out of service in both while updated
    assert not any(n.drain_flag for n in await sim.backends().slurm.nodes(["gpu059", "gpu060"]))
    assert not any(n.unschedulable for n in await kube.nodes() if n.name in ("gpu059", "gpu060"))


async def test_slurm_only_cluster_still_drains_without_kubernetes(tmp_path, sim: SimCluster) -> None:
    eng = await _engine(tmp_path, sim.backends().without(KubePort))
    try:
        run = await _submit(eng, "firmware-update", {"nodes": IDLE, **IMAGE, "dry_run": True})
        await run.wait()
    finally:
        await eng.aclose()
    assert "nodes drained through Slurm first, returned to service after" in run.result.summary


POLICY_DENY_NO_DRAIN = (
    ALLOW_ALL
    + """
[[deny]]
name = "always-drain"
reason = "firmware work on nodes in service kills jobs"
principals = ["unix:*"]
actions = ["no-drain"]
"""
)

POLICY_FIRMWARE_ONLY = """
[roles.fw]
actions = ["firmware-update", "nodes", "firmware"]
[[bindings]]
principals = ["unix:*"]
roles = ["fw"]
"""

POLICY_NO_DRAIN_NEEDS_APPROVAL = """
[roles.fw]
actions = ["firmware-update", "no-drain"]
approval = ["no-drain"]
[[bindings]]
principals = ["unix:*"]
roles = ["fw"]
"""


@pytest.mark.parametrize(
    "policy, needle",
    [
        (POLICY_DENY_NO_DRAIN, "always-drain"),
        (POLICY_FIRMWARE_ONLY, "no-drain"),
    ],
)
async def test_the_policy_can_forbid_no_drain(tmp_path, sim: SimCluster, policy: str, needle: str) -> None:
    eng = await _engine(tmp_path, bmc_only(sim), policy)
    try:
        with pytest.raises(DeniedError) as err:
            await eng.submit(
                Request(
                    principal="unix:alice",
                    channel="cli",
                    action="firmware-update",
                    params={"nodes": IDLE, **IMAGE, "no_drain": True},
                )
            )
        denied = await eng.store.query(AuditQuery(event="denied"))
        plain = await eng.submit(
            Request(
                principal="unix:alice",
                channel="cli",
                action="firmware-update",
                params={"nodes": IDLE, **IMAGE, "dry_run": True},
            )
        )
        await plain.wait()
    finally:
        await eng.aclose()
    assert needle in str(err.value) and "--no-drain takes a risk the policy must allow" in str(err.value)
    assert len(denied) == 1 and denied[0].action == "firmware-update"
    assert plain.finished.outcome == "dry-run"  # the same request without the risk is fine


async def test_a_policy_can_ask_approval_for_no_drain(tmp_path, sim: SimCluster) -> None:
    eng = await _engine(tmp_path, bmc_only(sim), POLICY_NO_DRAIN_NEEDS_APPROVAL)
    try:
        with pytest.raises(ApprovalRequired):
            await eng.submit(
                Request(
                    principal="unix:alice",
                    channel="cli",
                    action="firmware-update",
                    params={"nodes": IDLE, **IMAGE, "no_drain": True},
                )
            )
    finally:
        await eng.aclose()


async def test_reimage_on_kubernetes_only_cordons_and_uncordons(tmp_path, sim: SimCluster) -> None:
    eng = await _engine(tmp_path, sim.backends().without(SlurmPort))
    kube = sim.backends().kube
    try:
        run = await eng.submit(
            Request(
                principal="unix:alice",
                channel="cli",
                action="reimage",
                params={"nodes": "gpu059", "max_parallel": 1},
                confirm="1",
            )
        )
        events = await _events(run)
    finally:
        await eng.aclose()
    assert run.finished.outcome == "ok", run.finished.summary
    details = [e.detail for e in events if e.kind == "step" and e.status == "ok"]
    assert "step 1/7 drain: drain requested" in details
    assert any("back in the schedulers" in d for d in details) and "step 7/7 resume: back in service" in details
    assert not next(n.unschedulable for n in await kube.nodes() if n.name == "gpu059")

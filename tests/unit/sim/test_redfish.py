"""The simulated BMCs: firmware inventory and drift, update task lifecycle, power and PXE reinstall."""

from __future__ import annotations

import tomllib
from importlib import resources

import pytest

from dcops.actions.errors import BackendError
from dcops.actions.sim import ManualClock


def _baseline() -> dict[str, str]:
    return tomllib.loads(resources.files("dcops.actions.sim").joinpath("baseline.toml").read_text())


async def test_inventory_has_bmc_bios_gpus_and_hca(backends) -> None:
    ids = [c.id for c in await backends.redfish.firmware_inventory("gpu001")]
    assert ids == ["BMC", "BIOS", *(f"GPU{i}" for i in range(8)), "HCA0"]


async def test_about_ten_percent_drift_from_the_shipped_baseline(backends, sim) -> None:
    baseline = _baseline()
    drifted = []
    for name in sim.nodes:
        versions = {c.id: c.version for c in await backends.redfish.firmware_inventory(name)}
        if versions != baseline:
            drifted.append((name, {k: v for k, v in versions.items() if baseline[k] != v}))
    assert 4 <= len(drifted) <= 10
    newer = [d for d in drifted if d[1].get("BIOS", "0") > baseline["BIOS"]]
    assert len(newer) == 1
    assert any("BMC" in d[1] for d in drifted) and any(d[1].get("BIOS", "9") < baseline["BIOS"] for d in drifted)


async def test_bmc_update_goes_new_running_completed_then_needs_reset(backends, clock: ManualClock) -> None:
    uri = await backends.redfish.start_update("gpu001", "https://fw.example/bmc-7.10.31.00.bin")
    assert (await backends.redfish.task("gpu001", uri)).state == "New"
    clock.advance(3)
    running = await backends.redfish.task("gpu001", uri)
    assert running.state == "Running" and 0 < running.percent < 100
    clock.advance(10)
    done = await backends.redfish.task("gpu001", uri)
    assert done.state == "Completed" and done.reset_required and done.succeeded
    bmc = {c.id: c.version for c in await backends.redfish.firmware_inventory("gpu001")}["BMC"]
    assert bmc == "7.10.30.00", "a staged BMC image applies only after a reset"
    await backends.redfish.reset("gpu001", "ForceRestart")
    assert (await backends.redfish.system("gpu001")).power_state == "Off"
    clock.advance(10)
    assert (await backends.redfish.system("gpu001")).power_state == "On"
    versions = {c.id: c.version for c in await backends.redfish.firmware_inventory("gpu001")}
    assert versions["BMC"] == "7.10.31.00"
    assert not (await backends.redfish.task("gpu001", uri)).reset_required


async def test_gpu_update_applies_without_reset(backends, clock: ManualClock) -> None:
    uri = await backends.redfish.start_update(
        "gpu002",
        "https://fw.example/h100-vbios-96.00.99.00.01.bin",
        targets=["/redfish/v1/UpdateService/FirmwareInventory/GPU0"],
    )
    clock.advance(10)
    status = await backends.redfish.task("gpu002", uri)
    assert status.state == "Completed" and not status.reset_required
    versions = {c.id: c.version for c in await backends.redfish.firmware_inventory("gpu002")}
    assert versions["GPU0"] == "96.00.99.00.01" and versions["GPU1"] == "96.00.89.00.01"


async def test_failing_node_ends_in_exception_with_a_message(backends, clock: ManualClock) -> None:
    uri = await backends.redfish.start_update("gpu042", "https://fw.example/bios-2.3.5.bin")
    clock.advance(10)
    status = await backends.redfish.task("gpu042", uri)
    assert status.state == "Exception" and status.finished and not status.succeeded
    assert status.messages and "verification failed" in status.messages[0]


async def test_update_errors(backends) -> None:
    with pytest.raises(BackendError, match="gpu999"):
        await backends.redfish.firmware_inventory("gpu999")
    with pytest.raises(BackendError, match="which component"):
        await backends.redfish.start_update("gpu001", "https://fw.example/mystery.bin")
    uri = await backends.redfish.start_update("gpu001", "https://fw.example/bios-2.3.6.bin")
    with pytest.raises(BackendError, match="in progress"):
        await backends.redfish.start_update("gpu001", "https://fw.example/bios-2.3.6.bin")
    with pytest.raises(BackendError, match="no task"):
        await backends.redfish.task("gpu002", uri)
    with pytest.raises(BackendError, match="ResetType"):
        await backends.redfish.reset("gpu001", "Explode")


async def test_power_off_takes_node_out_of_slurm_and_ssh(backends, clock: ManualClock) -> None:
    await backends.redfish.reset("gpu003", "ForceOff")
    (node,) = await backends.slurm.nodes(["gpu003"])
    assert node.state == "down" and node.jobs == ()
    result = await backends.ssh.run("gpu003", ["hostname"])
    assert not result.ok and "timed out" in result.error
    await backends.redfish.reset("gpu003", "On")
    clock.advance(120)
    (node,) = await backends.slurm.nodes(["gpu003"])
    assert node.state == "idle"
    assert (await backends.ssh.run("gpu003", ["hostname"])).stdout == "gpu003\n"


async def test_pxe_once_reinstalls_with_a_new_image(backends, clock: ManualClock) -> None:
    before = (await backends.ssh.run("gpu012", ["cat", "/etc/dcops-image"])).stdout.strip()
    await backends.redfish.set_boot_override("gpu012", "Pxe", once=True)
    system = await backends.redfish.system("gpu012")
    assert system.boot_source_override_target == "Pxe" and system.boot_source_override_enabled == "Once"
    await backends.redfish.reset("gpu012", "ForceRestart")
    clock.advance(60)
    during = await backends.ssh.run("gpu012", ["cat", "/etc/dcops-image"])
    assert during.error and "refused" in during.error
    assert (await backends.redfish.system("gpu012")).boot_source_override_target == "None", "override consumed"
    clock.advance(600)
    after = (await backends.ssh.run("gpu012", ["cat", "/etc/dcops-image"])).stdout.strip()
    assert after and after != before
    uptime = (await backends.ssh.run("gpu012", ["uptime"])).stdout
    assert " up " in uptime and "day" not in uptime


async def test_graceful_restart_without_override_keeps_the_image(backends, clock: ManualClock) -> None:
    before = (await backends.ssh.run("gpu013", ["cat", "/etc/dcops-image"])).stdout
    await backends.redfish.reset("gpu013", "GracefulRestart")
    clock.advance(5)
    assert (await backends.redfish.system("gpu013")).power_state == "PoweringOff"
    clock.advance(300)
    assert (await backends.ssh.run("gpu013", ["cat", "/etc/dcops-image"])).stdout == before


async def test_reset_recovers_the_wedged_node(backends, clock: ManualClock) -> None:
    assert "refused" in (await backends.ssh.run("gpu009", ["hostname"])).error
    await backends.redfish.reset("gpu009", "PowerCycle")
    clock.advance(300)
    assert (await backends.ssh.run("gpu009", ["hostname"])).ok
    (node,) = await backends.slurm.nodes(["gpu009"])
    assert node.state == "idle" and not node.flags


async def test_bad_boot_target_is_refused(backends) -> None:
    with pytest.raises(BackendError, match="BootSourceOverrideTarget"):
        await backends.redfish.set_boot_override("gpu001", "Floppy")

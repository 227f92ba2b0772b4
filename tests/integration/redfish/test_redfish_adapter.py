"""The Redfish adapter against the lab BMCs (sushy-tools + the lab's firmware/tasks/sessions)."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest
from redfish_lab import redfish_section

from dcops.actions.backends.redfish import AuthFailed, build_redfish
from dcops.actions.errors import BackendError, BackendUnavailable

pytestmark = pytest.mark.lab


async def wait_task(redfish, node: str, uri: str, *, timeout: float, on_progress=None):  # noqa: ANN001, ANN201
    """Poll the port's ``task`` until the task finishes or waits for a reset (firmware-update has its own loop)."""
    deadline = time.monotonic() + timeout
    while True:
        status = await redfish.task(node, uri)
        if on_progress is not None:
            on_progress(status)
        if status.finished or status.awaiting_reset:
            return status
        assert time.monotonic() < deadline, f"task {uri} still {status.state} after {timeout} s"
        await asyncio.sleep(0.2)


async def test_inventory_of_the_fleet_matches_system_and_manager(lab, redfish):
    nodes = sorted(lab.bmcs)
    lab.set_firmware(["gpu003"], BIOS="2.9.9", BMC="1.99.0")
    inventories = await asyncio.gather(*(redfish.firmware_inventory(n) for n in nodes))
    for node, inv in zip(nodes, inventories):
        ids = [c.id for c in inv]
        assert ids == ["BMC", "BIOS", *(f"GPU{i}" for i in range(8)), "HCA0"], node
    by_id = {c.id: c.version for c in inventories[nodes.index("gpu003")]}
    assert by_id["BIOS"] == "2.9.9" and by_id["BMC"] == "1.99.0"
    system = await redfish.system("gpu003")
    assert system.bios_version == "2.9.9" and system.power_state == "On"
    manager = await redfish.get("gpu003", "/redfish/v1/Managers/" + lab.info["uuids"]["gpu003"])
    assert manager["FirmwareVersion"] == "1.99.0"


async def test_inventory_without_expand_reads_each_member(lab, redfish):
    bmc = await redfish._bmc("gpu001")
    bmc.expand = False
    lab.call("POST", "counters/clear")
    inv = await redfish.firmware_inventory("gpu001")
    assert len(inv) == 11
    assert lab.requests()["nodes"]["gpu001"]["requests"] == 1 + 1 + 11  # login, collection, members


async def test_update_is_staged_until_reset_then_verified(lab, redfish):
    uri = await redfish.simple_update("gpu002", lab.image_url("gpu-96.00.af.00.02.bin"))
    seen: list[str] = []
    status = await wait_task(redfish, "gpu002", uri, timeout=30, on_progress=lambda s: seen.append(s.state))
    assert status.state == "Completed" and status.reset_required
    assert "Running" in seen
    before = {c.id: c.version for c in await redfish.firmware_inventory("gpu002")}
    assert before["GPU5"] == "96.00.89.00.01"  # staged, not active: "reset pending" is not done
    await redfish.reset("gpu002", "ForceRestart")
    after = {c.id: c.version for c in await redfish.firmware_inventory("gpu002")}
    assert {after[f"GPU{i}"] for i in range(8)} == {"96.00.af.00.02"}
    assert after["BIOS"] == before["BIOS"]


async def test_failing_bmc_reports_exception_with_message(lab, redfish):
    lab.faults(["gpu004"], fail_update="flash write error at 0x3f000")
    uri = await redfish.simple_update("gpu004", lab.image_url("bios-2.4.0.bin"), targets=["BIOS"])
    status = await wait_task(redfish, "gpu004", uri, timeout=30)
    assert status.state == "Exception" and not status.succeeded
    assert any("flash write error" in m for m in status.messages)
    await redfish.reset("gpu004", "ForceRestart")
    assert (await redfish.system("gpu004")).bios_version == "2.3.1"


async def test_image_that_does_not_exist_fails_the_task(lab, redfish):
    uri = await redfish.simple_update("gpu001", lab.image_url("bios-9.9.9.bin"))
    status = await wait_task(redfish, "gpu001", uri, timeout=30)
    assert status.state == "Exception" and any("TransferFailed" in m for m in status.messages)


async def test_one_time_pxe_override_is_consumed_by_the_next_boot(lab, redfish):
    await redfish.set_boot_override("gpu005", "Pxe", once=True)
    sysinfo = await redfish.system("gpu005")
    assert (sysinfo.boot_source_override_target, sysinfo.boot_source_override_enabled) == ("Pxe", "Once")
    await redfish.reset("gpu005", "ForceRestart")
    sysinfo = await redfish.system("gpu005")
    assert sysinfo.boot_source_override_enabled == "Disabled"
    assert [r["node"] for r in lab.status()["reinstalls"]] == ["gpu005"]
    await redfish.reset("gpu005", "ForceRestart")  # an ordinary reboot: no second reinstall
    assert len(lab.status()["reinstalls"]) == 1


async def test_power_off_and_on(lab, redfish):
    await redfish.reset("gpu006", "ForceOff")
    deadline = time.monotonic() + 10
    while (await redfish.system("gpu006")).power_state != "Off":
        assert time.monotonic() < deadline
        await asyncio.sleep(0.3)
    await redfish.reset("gpu006", "On")
    while (await redfish.system("gpu006")).power_state != "On":
        assert time.monotonic() < deadline + 10
        await asyncio.sleep(0.3)


async def test_503_with_retry_after_is_retried(lab, redfish):
    lab.faults(["gpu007"], unavailable=2, retry_after=1)
    started = time.monotonic()
    inv = await redfish.firmware_inventory("gpu007")
    assert len(inv) == 11
    assert lab.requests()["nodes"]["gpu007"]["served_503"] == 2
    assert time.monotonic() - started >= 2.0  # waited as told, twice


async def test_503_beyond_the_retry_budget_is_a_clear_error(lab, redfish):
    redfish.max_retries = 1
    lab.faults(["gpu007"], unavailable=5, retry_after=0)
    with pytest.raises(BackendError, match=r"gpu007 .*HTTP 503"):
        await redfish.firmware_inventory("gpu007")


async def test_expired_session_logs_in_again(lab, redfish):
    await redfish.system("gpu008")
    old = (await redfish._bmc("gpu008")).token
    lab.call("POST", "sessions/expire")
    assert (await redfish.system("gpu008")).power_state == "On"
    assert (await redfish._bmc("gpu008")).token not in (None, old)


async def test_wrong_password_is_a_clear_error_and_changes_nothing(lab, tmp_path, caplog):
    secret = tmp_path / "pw"
    secret.touch(mode=0o600)
    secret.write_text("not-the-password-xyzzy\n")
    adapter = build_redfish(redfish_section(lab, password_file=str(secret)))
    caplog.set_level(logging.DEBUG)
    try:
        with pytest.raises(AuthFailed) as err:
            await adapter.simple_update("gpu009", lab.image_url("bios-2.4.0.bin"))
        with pytest.raises(AuthFailed):
            await adapter.reset("gpu009", "ForceOff")
    finally:
        await adapter.aclose()
    assert "wrong user name or password" in str(err.value) and "\n" not in str(err.value)
    assert "xyzzy" not in str(err.value) and "xyzzy" not in caplog.text
    assert lab.password() not in caplog.text
    status = lab.status()
    assert status["nodes"]["gpu009"]["power"] == "On" and status["nodes"]["gpu009"]["staged"] == {}
    assert lab.requests()["nodes"]["gpu009"]["requests"] == 2  # two refused logins, nothing else


async def test_untrusted_certificate_is_refused_by_default(lab):
    adapter = build_redfish(redfish_section(lab, ca_bundle=None))
    try:
        with pytest.raises(BackendError, match="TLS certificate verification failed.*ca_bundle"):
            await adapter.system("gpu001")
    finally:
        await adapter.aclose()


async def test_bmc_that_never_answers_times_out_alone(lab):
    adapter = build_redfish(redfish_section(lab, timeout=1.5))
    lab.faults(["gpu010"], hang=True)
    try:
        results = await asyncio.gather(
            *(adapter.system(n) for n in ("gpu009", "gpu010", "gpu011")), return_exceptions=True
        )
    finally:
        lab.faults(["gpu010"], hang=False)
        await adapter.aclose()
    assert results[0].power_state == "On" and results[2].power_state == "On"
    assert isinstance(results[1], BackendUnavailable) and "gpu010" in str(results[1])  # exit 6, not 1
    assert "no answer within 1.5 s" in str(results[1])


async def test_concurrency_is_bounded_per_bmc_and_across_the_fleet(lab):
    adapter = build_redfish(redfish_section(lab, max_parallel=4, max_per_bmc=2))
    lab.latency(0.2, 0.3)
    try:
        await asyncio.gather(*(adapter.system(n) for n in sorted(lab.bmcs)[:8]))  # sessions + system ids
        lab.call("POST", "counters/clear")
        await asyncio.gather(
            *(
                adapter.get(n, "/redfish/v1/UpdateService/FirmwareInventory/BIOS")
                for n in sorted(lab.bmcs)[:8]
                for _ in range(4)
            )
        )
    finally:
        await adapter.aclose()
    counters = lab.requests()
    assert counters["max_inflight"] == 4
    assert max(v["max_inflight"] for v in counters["nodes"].values()) == 2

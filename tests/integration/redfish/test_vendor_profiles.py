"""Vendor BMC shapes on the real lab (sushy-tools + the lab's profiles): an HGX/DGX baseboard with ~47
members, a Dell iDRAC with versioned member ids, an HPE iLO with numbered members; read actions,
compliance, drift and firmware-update on each, through the real engine and adapter (and the real
Slurm lab for the updates)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from redfish_lab import ALLOW_ALL, dcops_config, redfish_section, run_action

from dcops.actions import open_engine
from dcops.actions.backends.redfish import build_redfish
from dcops.actions.config.slurm import SlurmSection
from dcops.actions.errors import BackendError
from dcops.actions.rbac import Policy
from tests.lab.bmc.profiles import bundle

pytestmark = pytest.mark.lab
NEW_GPU, NEW_EROT, NEW_BMC = "96.00.af.00.02", "00.02.0180.0000_n00", "HGX-22.10-1-rc81"


@pytest.fixture
async def engine(lab, tmp_path):
    eng = await open_engine(dcops_config(lab, tmp_path, timeout=3.0), policy=Policy.from_toml(ALLOW_ALL))
    try:
        yield eng
    finally:
        await eng.aclose()


@pytest.fixture
async def update_engine(lab, slurm_lab, tmp_path):
    cfg = dcops_config(lab, tmp_path, timeout=5.0, slurm=SlurmSection(mode="cli", env=slurm_lab.env, timeout=20.0))
    eng = await open_engine(cfg, policy=Policy.from_toml(ALLOW_ALL))
    try:
        yield eng
    finally:
        await eng.aclose()


def hgx_baseline(tmp_path, lab, *, ignore: bool = True, bmc: str = NEW_BMC) -> str:
    url = lab.add_image(
        "HGX-H100-24.1.fwpkg",
        bundle("HGX", {"HGX_FW_GPU_SXM_*": NEW_GPU, "HGX_FW_ERoT_GPU_SXM_*": NEW_EROT, "HGX_FW_BMC_0": NEW_BMC}),
    )
    text = (
        'ignore = ["HGX_InfoROM_*", "HGX_FW_PCIeRetimer_*", "HGX_FW_NVSwitch_*", "HGX_FW_ERoT_NVSwitch_*", '
        '"HGX_FW_PCIeSwitch_0", "HGX_FW_ERoT_PCIeSwitch_0", "HGX_FW_CPLD_0", "HGX_FW_FPGA_0", "HGX_FW_ERoT_*_0", '
        '"Host*"]\n'
        if ignore
        else ""
    )
    text += (
        f'["HGX_FW_GPU_SXM_*"]\nversion = "{NEW_GPU}"\nimage = "{url}"\n'
        f'["HGX_FW_ERoT_GPU_SXM_*"]\nversion = "{NEW_EROT}"\nimage = "{url}"\n'
        f'[HGX_FW_BMC_0]\nversion = "{bmc}"\nimage = "{url}"\n'
    )
    path = tmp_path / "hgx.toml"
    path.write_text(text)
    return str(path)


# ---------------------------------------------------------------- reading


async def test_hgx_inventory_is_readable_and_drift_inside_the_node_is_a_finding(lab, engine):
    lab.profile(["gpu001", "gpu002"], "hgx")
    lab.set_firmware(["gpu001"], HGX_FW_GPU_SXM_3="96.00.74.00.01")
    run = await run_action(engine, "firmware", {"nodes": "gpu[001-002]"})
    fin = await run.wait()
    assert fin.outcome == "ok", fin.summary
    data = run.result.data
    assert len(data["components"]["gpu001"]) == 49 and data["gpu001"]["HGX_FW_GPU_SXM_3"] == "96.00.74.00.01"
    assert data["drift"]["gpu001"] == [
        "HGX_FW_GPU_SXM_3 at 96.00.74.00.01 while HGX_FW_GPU_SXM_[1-2,4-8] are at 96.00.89.00.01"
    ]
    assert "gpu002" not in data["drift"]
    rows = {(r[0], r[1]): r for r in run.result.table.rows}
    assert rows[("gpu002", "HGX_FW_GPU_SXM_[1-8]")][2:4] == [8, "96.00.89.00.01"]
    assert "differs from its 7 sibling(s)" in rows[("gpu001", "HGX_FW_GPU_SXM_3")][4]
    assert "not Updateable" in rows[("gpu002", "HGX_InfoROM_GPU_SXM_[1-8]")][4]
    assert len([r for r in run.result.table.rows if r[0] == "gpu002"]) == 15  # 49 members, 15 rows
    assert "siblings differ inside 1 node(s)" in fin.summary


async def test_a_family_baseline_covers_hgx_members_and_unknowns_count_against_compliance(lab, engine, tmp_path):
    lab.profile(["gpu001", "gpu002"], "hgx")
    lab.set_firmware(
        ["gpu001", "gpu002"],
        {
            **{f"HGX_FW_GPU_SXM_{i}": NEW_GPU for i in range(1, 9)},
            **{f"HGX_FW_ERoT_GPU_SXM_{i}": NEW_EROT for i in range(1, 9)},
            "HGX_FW_BMC_0": NEW_BMC,
        },
    )
    lab.set_firmware(["gpu002"], HGX_FW_GPU_SXM_5="96.00.89.00.01")
    strict = tmp_path / "strict.toml"
    strict.write_text(f'"HGX_FW_GPU_SXM_*" = "{NEW_GPU}"\n')
    run = await run_action(engine, "firmware-check", {"nodes": "gpu[001-002]", "baseline": str(strict)})
    fin = await run.wait()
    assert fin.summary.startswith("0/2 nodes match"), fin.summary  # 41 members unknown to the baseline
    assert run.result.data["nodes"]["gpu001"]["HGX_FW_GPU_SXM_4"] == "compliant"
    assert run.result.data["nodes"]["gpu001"]["HGX_FW_NVSwitch_0"] == "unknown"

    run = await run_action(engine, "firmware-check", {"nodes": "gpu[001-002]", "baseline": hgx_baseline(tmp_path, lab)})
    fin = await run.wait()
    assert fin.summary.startswith("1/2 nodes match"), fin.summary
    assert run.result.data["verdict"] == {"gpu001": "match", "gpu002": "off baseline"}
    assert run.result.data["nodes"]["gpu002"]["HGX_FW_GPU_SXM_5"] == "outdated"


async def test_an_unreadable_node_is_never_called_a_match(lab, engine, tmp_path):
    base = tmp_path / "b.toml"
    base.write_text('BMC = "1.10.0"\nBIOS = "2.3.1"\nGPU = "96.00.89.00.01"\nHCA = "28.39.1002"\n')
    lab.faults(["gpu002"], unavailable=100, retry_after=0)
    run = await run_action(engine, "firmware-check", {"nodes": "gpu[001-002]", "baseline": str(base)})
    fin = await run.wait()
    assert fin.summary.startswith("1/2 nodes match"), fin.summary
    assert "not compared (unreadable): gpu002" in fin.summary
    assert run.result.data["verdict"]["gpu002"] == "not compared"


async def test_idrac_members_are_keyed_by_fqdd_not_by_versioned_id(lab, engine, tmp_path):
    lab.profile(["gpu003", "gpu004"], "idrac")
    lab.set_firmware(["gpu004"], {"BIOS.Setup.1-1": "1.9.0"})
    run = await run_action(engine, "firmware", {"nodes": "gpu[003-004]"})
    fin = await run.wait()
    assert "BIOS.Setup.1-1: 1.8.2 x1, 1.9.0 x1" in fin.summary, fin.summary
    ids = {c["id"] for c in run.result.data["components"]["gpu004"]}
    assert "Installed-159-1.9.0__BIOS.Setup.1-1" in ids
    base = tmp_path / "dell.toml"
    base.write_text('ignore = ["iDRAC.*", "CPLD.*", "NIC.*"]\n"BIOS.Setup.1-1" = "1.9.0"\n')
    run = await run_action(engine, "firmware-check", {"nodes": "gpu[003-004]", "baseline": str(base)})
    fin = await run.wait()
    assert fin.summary.startswith("1/2 nodes match"), fin.summary
    assert run.result.data["nodes"]["gpu003"]["BIOS.Setup.1-1"] == "outdated"


async def test_ilo_numbered_members_expand_500_and_not_updateable(lab, engine, tmp_path):
    lab.profile(["gpu005"], "ilo")
    before = lab.requests()["nodes"]["gpu005"]["requests"]
    run = await run_action(engine, "firmware", {"nodes": "gpu005"})
    fin = await run.wait()
    assert fin.outcome == "ok", fin.summary
    keys = set(run.result.data["gpu005"])
    assert {"iLO 5", "System ROM", "Mellanox ConnectX-7 (PCI-E Slot 1)", "Mellanox ConnectX-7 (PCI-E Slot 2)"} <= keys
    assert lab.requests()["nodes"]["gpu005"]["requests"] - before >= 8  # $expand failed: one GET per member
    base = tmp_path / "ilo.toml"
    base.write_text(
        '"Redundant System ROM" = "U46 v2.72 (03/15/2023)"\n"Embedded Video*" = "2.5"\n'
        'ignore = ["iLO 5", "System ROM", "Power*", "Mellanox*"]\n'
    )
    run = await run_action(engine, "firmware-check", {"nodes": "gpu005", "baseline": str(base)})
    await run.wait()
    notes = [r[5] for r in run.result.table.rows if r[1] == "Redundant System ROM"]
    assert notes == ["outdated, and the BMC marks it not Updateable"]


# ---------------------------------------------------------------- adapter behaviour on the shapes


async def test_dgx_host_system_reset_types_and_boot_override_through_the_settings_object(lab):
    lab.profile(["gpu006"], "hgx")
    adapter = build_redfish(redfish_section(lab))
    try:
        assert await adapter.system_path("gpu006") == "/redfish/v1/Systems/DGX"
        assert await adapter.reset_types("gpu006") == ("ForceOff", "ForceRestart", "GracefulShutdown", "On")
        with pytest.raises(BackendError, match="does not offer ResetType PowerCycle .*ForceOff, ForceRestart"):
            await adapter.reset("gpu006", "PowerCycle")
        await adapter.set_boot_override("gpu006", "Pxe", once=True)  # the lab refuses Boot on the system itself
        assert lab.status()["nodes"]["gpu006"]["override"] == ["Pxe", "Once"]
        path = await adapter.update_path("gpu006")
        assert (path.multipart, path.simple_update) == (
            "/redfish/v1/UpdateService/upload",
            "/redfish/v1/UpdateService/Actions/SimpleUpdate",
        )
        assert path.method_for("http://f/HGX-H100-24.1.fwpkg") == "multipart"
        assert path.method_for("http://f/bios-1.3.0.bin") == "simple"
        assert lab.status()["sessions"]["gpu006"] == 1
    finally:
        await adapter.aclose()
    assert lab.status()["sessions"]["gpu006"] == 0  # logged out at the absolute Location it was given


async def test_basic_auth_opens_no_session_and_a_full_session_table_is_one_line(lab):
    basic = build_redfish(redfish_section(lab, auth="basic"))
    try:
        assert len(await basic.firmware_inventory("gpu007")) == 11
        assert lab.status()["sessions"]["gpu007"] == 0
    finally:
        await basic.aclose()
    lab.faults(["gpu008"], sessions_full=True)
    adapter = build_redfish(redfish_section(lab))
    lab.call("POST", "counters/clear")
    try:
        started = time.monotonic()
        with pytest.raises(BackendError, match="session table is full") as err:
            await adapter.firmware_inventory("gpu008")
        assert "\n" not in str(err.value) and time.monotonic() - started < 5
        assert lab.requests()["nodes"]["gpu008"]["requests"] == 1  # no retries
    finally:
        await adapter.aclose()


# ---------------------------------------------------------------- updates, one per profile


async def test_hgx_bundle_update_by_multipart_with_targets_and_an_ac_cycle(lab, slurm_lab, update_engine, tmp_path):
    lab.profile(["gpu009"], "hgx")
    lab.set_firmware(["gpu009"], HGX_FW_ERoT_GPU_SXM_2=NEW_EROT)  # already there: not a target
    run = await run_action(
        update_engine, "firmware-update", {"nodes": "gpu009", "baseline": hgx_baseline(tmp_path, lab)}
    )
    fin = await run.wait()
    assert fin.outcome == "ok", (fin.summary, run.result.table.rows if run.result else None)
    st = lab.status()["nodes"]["gpu009"]
    assert all(st["versions"][f"HGX_FW_GPU_SXM_{i}"] == NEW_GPU for i in range(1, 9))
    assert st["versions"]["HGX_FW_BMC_0"] == NEW_BMC and st["versions"]["HGX_FW_ERoT_GPU_SXM_7"] == NEW_EROT
    assert st["versions"]["HGX_FW_NVSwitch_0"] == "96.10.6D.00.01" and not st["staged"]
    row = run.result.table.rows[0]
    assert "HGX_FW_GPU_SXM_[1-8] 96.00.89.00.01 -> 96.00.af.00.02" in row[2]
    assert "HGX_FW_ERoT_GPU_SXM_[1,3-8]" in row[2]  # per component, not per image
    assert "gpu009" not in slurm_lab.run("sinfo", "-h", "-N", "-t", "drain", "-o", "%N").stdout


async def test_hgx_completed_critical_task_fails_naming_the_message(lab, slurm_lab, update_engine, tmp_path):
    lab.profile(["gpu010"], "hgx")
    lab.faults(["gpu010"], fail_update="ERoT authentication of the GPU image failed")
    run = await run_action(
        update_engine, "firmware-update", {"nodes": "gpu010", "baseline": hgx_baseline(tmp_path, lab)}
    )
    fin = await run.wait()
    assert fin.outcome != "ok"
    detail = run.result.data["failed"]["gpu010"]
    assert "Completed (Critical)" in detail and "ERoT authentication of the GPU image failed" in detail
    assert "node left drained" in detail


async def test_a_bmc_without_an_update_service_fails_before_the_node_is_drained(
    lab, slurm_lab, update_engine, tmp_path
):
    lab.profile(["gpu011"], "hgx")
    lab.faults(["gpu011"], no_update=True)
    run = await run_action(
        update_engine, "firmware-update", {"nodes": "gpu011", "baseline": hgx_baseline(tmp_path, lab)}
    )
    await run.wait()
    detail = run.result.data["failed"]["gpu011"]
    assert "offers neither SimpleUpdate nor MultipartHttpPushUri" in detail and "node not touched" in detail, detail
    assert "gpu011" not in slurm_lab.run("sinfo", "-h", "-N", "-t", "drain", "-o", "%N").stdout


async def test_a_baseline_for_another_platform_is_never_planned(lab, update_engine, tmp_path):
    lab.profile(["gpu012"], "hgx")
    path = hgx_baseline(tmp_path, lab, bmc="GB200Nvl-24.12-8")
    run = await run_action(update_engine, "firmware-update", {"nodes": "gpu012", "baseline": path})
    fin = await run.wait()
    assert fin.outcome == "ok", fin.summary
    assert lab.status()["nodes"]["gpu012"]["versions"]["HGX_FW_BMC_0"] == "HGX-22.10-1-rc80"
    assert "HGX_FW_BMC_0: version scheme differs" in run.result.table.rows[0][2]


async def test_idrac_job_waits_for_a_restart_and_gets_it(lab, slurm_lab, update_engine, tmp_path):
    lab.profile(["gpu013"], "idrac")
    url = lab.add_image("bios-1.9.0.bin")
    base = tmp_path / "dell.toml"
    base.write_text(f'["BIOS.Setup.1-1"]\nversion = "1.9.0"\nimage = "{url}"\n')
    run = await run_action(
        update_engine, "firmware-update", {"nodes": "gpu013", "baseline": str(base), "task_timeout": 60}
    )
    fin = await run.wait()
    assert fin.outcome == "ok", (fin.summary, run.result.table.rows if run.result else None)
    st = lab.status()["nodes"]["gpu013"]
    assert st["versions"]["BIOS.Setup.1-1"] == "1.9.0" and st["previous"] == {"BIOS.Setup.1-1": "1.8.2"}
    assert lab.status()["resets"]["gpu013"] >= 1
    assert "BIOS.Setup.1-1 1.8.2 -> 1.9.0" in run.result.table.rows[0][2]


async def test_ilo_update_by_simple_update_and_reset(lab, slurm_lab, update_engine, tmp_path):
    lab.profile(["gpu014"], "ilo")
    url = lab.add_image("ilo-rom-2.80.bin", bundle("ProLiant", {"System ROM": "U46 v2.80 (06/01/2024)"}))
    base = tmp_path / "ilo.toml"
    base.write_text(
        'ignore = ["iLO 5", "Power*", "Mellanox*", "Embedded*"]\n'
        '"Redundant System ROM" = "U46 v2.80 (06/01/2024)"\n'
        f'["System ROM"]\nversion = "U46 v2.80 (06/01/2024)"\nimage = "{url}"\n'
    )
    run = await run_action(update_engine, "firmware-update", {"nodes": "gpu014", "baseline": str(base)})
    fin = await run.wait()
    assert fin.outcome == "ok", (fin.summary, run.result.table.rows if run.result else None)
    st = lab.status()["nodes"]["gpu014"]
    assert st["versions"]["System ROM"] == "U46 v2.80 (06/01/2024)"
    assert "Redundant System ROM U46 v2.62 (10/21/2022) is outdated" in run.result.table.rows[0][2]
    assert "not Updateable" in run.result.table.rows[0][2]


async def test_dgx_host_bios_by_simple_update_at_the_target_the_service_names(lab, slurm_lab, update_engine, tmp_path):
    """The DGX's SimpleUpdate is /UpdateService/Actions/SimpleUpdate, not DMTF's usual path."""
    lab.profile(["gpu015"], "hgx")
    url = lab.add_image("bios-1.3.0.bin")
    base = tmp_path / "host.toml"
    base.write_text(f'ignore = ["HGX_*", "HostBMC_0"]\n[HostBIOS_0]\nversion = "1.3.0"\nimage = "{url}"\n')
    run = await run_action(update_engine, "firmware-update", {"nodes": "gpu015", "baseline": str(base)})
    fin = await run.wait()
    assert fin.outcome == "ok", (fin.summary, run.result.table.rows if run.result else None)
    assert lab.status()["nodes"]["gpu015"]["versions"]["HostBIOS_0"] == "1.3.0"
    assert "HostBIOS_0 1.2.3 -> 1.3.0" in run.result.table.rows[0][2]


async def test_dry_run_plan_on_three_vendor_shapes(lab, update_engine, tmp_path):
    """One plan per shape: the bundle's per-component versions and push path on HGX, Dell's FQDD by
    SimpleUpdate, and the outdated iLO member that cannot be updated, called out as such."""
    lab.profile(["gpu001"], "hgx")
    lab.profile(["gpu002"], "idrac")
    lab.profile(["gpu003"], "ilo")
    hgx = hgx_baseline(tmp_path, lab)
    run = await run_action(update_engine, "firmware-update", {"nodes": "gpu001", "baseline": hgx, "dry_run": True})
    fin = await run.wait()
    assert fin.outcome == "dry-run"
    (row,) = run.result.table.rows
    assert row[1] == "HGX_FW_BMC_0, HGX_FW_GPU_SXM_[1-8], HGX_FW_ERoT_GPU_SXM_[1-8]"
    assert row[2] == (
        "HGX_FW_BMC_0 HGX-22.10-1-rc81, HGX_FW_GPU_SXM_[1-8] 96.00.af.00.02, "
        "HGX_FW_ERoT_GPU_SXM_[1-8] 00.02.0180.0000_n00"
    )
    assert row[4] == "MultipartHttpPushUri /redfish/v1/UpdateService/upload"
    dell = tmp_path / "dell.toml"
    dell.write_text(f'["BIOS.Setup.1-1"]\nversion = "1.9.0"\nimage = "{lab.image_url("bios-1.9.0.bin")}"\n')
    run = await run_action(
        update_engine, "firmware-update", {"nodes": "gpu002", "baseline": str(dell), "dry_run": True}
    )
    await run.wait()
    assert run.result.table.rows == [
        [
            "gpu002",
            "BIOS.Setup.1-1",
            "1.9.0",
            lab.image_url("bios-1.9.0.bin"),
            "SimpleUpdate /redfish/v1/UpdateService/Actions/UpdateService.SimpleUpdate",
        ]
    ]
    ilo = tmp_path / "ilo.toml"
    ilo.write_text('"Redundant System ROM" = "U46 v2.80 (06/01/2024)"\n')
    run = await run_action(update_engine, "firmware-update", {"nodes": "gpu003", "baseline": str(ilo), "dry_run": True})
    await run.wait()
    assert run.result.data == {"nodes": []}
    assert "not Updateable" in run.result.table.rows[0][4]
    assert all(t == 0 for t in lab.status()["tasks"].values())


async def test_a_baseline_pinned_to_a_platform_is_never_applied_to_another(lab, slurm_lab, update_engine, tmp_path):
    lab.profile(["gpu016"], "idrac")
    lab.profile(["gpu001"], "hgx")
    path = tmp_path / "dgx.toml"
    path.write_text('platform = "DGXH100"\n' + Path(hgx_baseline(tmp_path, lab)).read_text())
    run = await run_action(update_engine, "firmware-check", {"nodes": "gpu[001,016]", "baseline": str(path)})
    fin = await run.wait()
    assert run.result.data["verdict"] == {"gpu001": "off baseline", "gpu016": "not compared"}
    assert "not compared (another platform): gpu016" in fin.summary
    run = await run_action(update_engine, "firmware-update", {"nodes": "gpu016", "baseline": str(path)})
    await run.wait()
    detail = run.result.data["failed"]["gpu016"]
    assert "the baseline is for platform DGXH100, this system is PowerEdge XE9680" in detail
    assert "node not touched" in detail and lab.status()["tasks"]["gpu016"] == 0
    assert "gpu016" not in slurm_lab.run("sinfo", "-h", "-N", "-t", "drain", "-o", "%N").stdout


async def test_power_status_follows_the_host_system_to_its_manager(lab, engine):
    """A DGX has managers BMC and HGX_BMC_0, an iDRAC iDRAC.Embedded.1: the host system's ManagedBy link
    says which one, no id is assumed."""
    lab.profile(["gpu001"], "hgx")
    lab.profile(["gpu002"], "idrac")
    run = await run_action(engine, "power-status", {"nodes": "gpu[001-003]"})
    fin = await run.wait()
    assert fin.outcome == "ok", fin.summary
    bmcs = {r[0]: r[3] for r in run.result.table.rows}
    assert bmcs["gpu001"] == "BMC 24.09.17" and bmcs["gpu002"] == "iDRAC.Embedded.1 6.00.30.00"
    assert bmcs["gpu003"].endswith(" 1.10.0")

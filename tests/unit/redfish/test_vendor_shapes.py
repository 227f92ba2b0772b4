"""Parsing, ordering and identity against the shapes of captured vendor BMCs (documents below are
small excerpts written after NVIDIA libredfish's Mockup-Creator captures: DGX H100, GB200, iDRAC9,
iLO 5, Lenovo XCC, Supermicro). The lab profiles test the same code end to end."""

from __future__ import annotations

import json

import httpx
import pytest
from pydantic import SecretStr

from dcops.actions.backends.models import FirmwareComponent as F
from dcops.actions.backends.redfish import RedfishAdapter, _is_host_system, _path_of, _session_limit
from dcops.actions.backends.redfish_identity import identify
from dcops.actions.config import parse_config
from dcops.actions.errors import BackendError, UsageError
from dcops.actions.ops._baseline import compare_versions, family, load_baseline, scheme
from dcops.actions.ops._firmware_view import collapse, drift, inventory_rows
from dcops.actions.ops.firmware import FirmwareUpdateParams, check_component, plan_node


def member(mid: str, name: str, version: str, **extra) -> dict:
    return {
        "@odata.id": f"/redfish/v1/UpdateService/FirmwareInventory/{mid}",
        "Id": mid,
        "Name": name,
        "Version": version,
        **extra,
    }


# ---------------------------------------------------------------- identity


def test_dell_members_are_keyed_by_fqdd_and_previous_copies_are_not_running():
    comps = identify(
        [
            member("Installed-159-1.8.2__BIOS.Setup.1-1", "BIOS", "1.8.2"),
            member("Current-159-1.8.2__BIOS.Setup.1-1", "BIOS", "1.8.2"),
            member("Previous-159-1.2.4__BIOS.Setup.1-1", "BIOS", "1.2.4"),
            member(
                "Installed-25227-6.00.30.00__iDRAC.Embedded.1-1",
                "Integrated Dell Remote Access Controller",
                "6.00.30.00",
            ),
        ]
    )
    assert [(c.key, c.role, c.version) for c in comps] == [
        ("BIOS.Setup.1-1", "active", "1.8.2"),
        ("BIOS.Setup.1-1", "previous", "1.2.4"),
        ("iDRAC.Embedded.1-1", "active", "6.00.30.00"),
    ]
    assert comps[0].id == "Installed-159-1.8.2__BIOS.Setup.1-1"  # what Targets name


def test_two_dell_nodes_on_different_bios_versions_share_one_identity():
    a = identify([member("Installed-159-1.8.2__BIOS.Setup.1-1", "BIOS", "1.8.2")])
    b = identify([member("Installed-159-1.9.0__BIOS.Setup.1-1", "BIOS", "1.9.0")])
    assert a[0].key == b[0].key and a[0].id != b[0].id


def test_ilo_numbered_members_are_keyed_by_name_and_twins_by_device_context():
    comps = identify(
        [
            member("1", "iLO 5", "2.72 Sep 04 2022"),
            member("7", "Mellanox ConnectX-7", "28.39.1002", Oem={"Hpe": {"DeviceContext": "PCI-E Slot 1"}}),
            member("8", "Mellanox ConnectX-7", "28.39.1002", Oem={"Hpe": {"DeviceContext": "PCI-E Slot 2"}}),
            member("20", "Embedded Video Controller", "2.5", Updateable=False),
        ]
    )
    assert [c.key for c in comps] == [
        "iLO 5",
        "Mellanox ConnectX-7 (PCI-E Slot 1)",
        "Mellanox ConnectX-7 (PCI-E Slot 2)",
        "Embedded Video Controller",
    ]
    assert comps[3].updateable is False


def test_lenovo_and_supermicro_backup_and_pending_copies_are_not_active():
    comps = identify(
        [
            member("BMC-Primary", "XCC", "1.0"),
            member("BMC-Backup", "XCC", "0.9"),
            member("UEFI-Pending", "UEFI", "2.0"),
            member("Golden_BIOS", "BIOS", "1.0"),
            member("Staging_BIOS", "BIOS", "1.1"),
            member("BIOS", "BIOS", "1.1"),
            member("HGX_FW_GPU_SXM_1", "HGX_FW_GPU_SXM_1", "96.00.89.00.01"),
        ]
    )
    assert [(c.key, c.role) for c in comps] == [
        ("BMC", "active"),
        ("BMC", "backup"),
        ("UEFI", "pending"),
        ("BIOS", "golden"),
        ("BIOS", "staging"),
        ("BIOS", "active"),
        ("HGX_FW_GPU_SXM_1", "active"),
    ]


# ---------------------------------------------------------------- versions


@pytest.mark.parametrize(
    "a, b, want",
    [
        ("HGX-22.10-1-rc9", "HGX-22.10-1-rc10", -1),
        ("1.0-rc9", "1.0-rc10", -1),
        ("1.2.3-b10", "1.2.3-b9", 1),
        ("96.00.89.00.01", "96.00.AF.00.02", -1),
        ("96.00.bc.00.01", "96.00.af.00.02", 1),
        ("00.02.0150.0000_n00", "00.02.0180.0000_n00", -1),
        ("2.0A", "2.53", -1),
        ("GB200Nvl-24.12-8", "HGX-22.10-1-rc77", None),
        ("HGX-22.10-1-rc77", "22.10-1", None),
        ("U46 v2.62 (10/21/2022)", "U46 v2.80 (06/01/2024)", -1),
    ],
)
def test_version_order_and_schemes(a, b, want):
    assert compare_versions(a, b) == want
    if want is not None:
        assert compare_versions(b, a) == -want


def test_schemes():
    assert scheme("HGX-22.10-1-rc80") == "hgx" and scheme("GB200Nvl-24.12-8") == "gb200nvl"
    assert scheme("96.00.af.00.02") == "" and scheme("AF-1.0") == ""  # hex is a version, not a platform


# ---------------------------------------------------------------- baselines


def test_globs_families_precedence_and_ignore(tmp_path):
    f = tmp_path / "b.toml"
    f.write_text(
        'ignore = ["HGX_InfoROM_*"]\n"HGX_FW_GPU_SXM_*" = "96.00.af.00.02"\n'
        'HGX_FW_GPU_SXM_3 = "96.00.bc.00.01"\n"HGX_FW_*" = "1.0"\nHGX_FW_NVSwitch = "96.10.6D.00.01"\n'
    )
    base = load_baseline(str(f))
    assert base.for_component("HGX_FW_GPU_SXM_1").key == "HGX_FW_GPU_SXM_*"
    assert base.for_component("HGX_FW_GPU_SXM_3").key == "HGX_FW_GPU_SXM_3"  # exact wins
    assert base.for_component("HGX_FW_ERoT_GPU_SXM_1").key == "HGX_FW_*"  # broader glob
    assert base.for_component("HGX_FW_NVSwitch_2").key == "HGX_FW_NVSwitch"  # family of siblings
    assert base.ignores("HGX_InfoROM_GPU_SXM_4") and not base.ignores("HGX_FW_GPU_SXM_4")
    assert check_component(base, F(id="HGX_InfoROM_GPU_SXM_4", version="x"))[0] == "ignored"
    assert check_component(base, F(id="Other", version="1"))[:1] == ("unknown",)
    assert family("HGX_FW_GPU_SXM_3") == "HGX_FW_GPU_SXM" and family("GPU3") == "GPU"


@pytest.mark.parametrize(
    "text, match",
    [
        ('ignore = "x"\nA = "1"', "ignore must be a list"),
        ('ignore = ["x"]', "lists no components"),
        ('platform = 3\nA = "1"', "platform must be a Model glob"),
    ],
)
def test_bad_ignore_is_one_line(tmp_path, text, match):
    f = tmp_path / "b.toml"
    f.write_text(text)
    with pytest.raises(UsageError, match=match):
        load_baseline(str(f))


def test_a_version_of_another_platform_is_unknown_with_a_reason(tmp_path):
    f = tmp_path / "b.toml"
    f.write_text('HGX_FW_BMC_0 = "GB200Nvl-24.12-8"\n')
    status, _, note = check_component(load_baseline(str(f)), F(id="HGX_FW_BMC_0", version="HGX-22.10-1-rc80"))
    assert status == "unknown" and "version scheme differs" in note


def test_bundle_plan_has_one_push_and_a_version_per_component(tmp_path):
    f = tmp_path / "b.toml"
    url = "http://f/HGX-H100-24.1.fwpkg"
    f.write_text(
        f'["HGX_FW_GPU_SXM_*"]\nversion = "96.00.af.00.02"\nimage = "{url}"\n'
        f'["HGX_FW_ERoT_GPU_SXM_*"]\nversion = "00.02.0180.0000_n00"\nimage = "{url}"\n'
        f'[HGX_FW_BMC_0]\nversion = "GB200Nvl-24.12-8"\nimage = "{url}"\n'
        f'["HGX_InfoROM_*"]\nversion = "G520.0201.00.01"\nimage = "{url}"\n'
    )
    inv = [F(id=f"HGX_FW_GPU_SXM_{i}", version="96.00.89.00.01") for i in (1, 2)] + [
        F(id="HGX_FW_ERoT_GPU_SXM_1", version="00.02.0150.0000_n00"),
        F(id="HGX_FW_ERoT_GPU_SXM_2", version="00.02.0180.0000_n00"),
        F(id="HGX_FW_BMC_0", version="HGX-22.10-1-rc80"),
        F(id="HGX_InfoROM_GPU_SXM_1", version="G520.0200.00.05", updateable=False),
    ]
    notes: list[str] = []
    plan = plan_node(FirmwareUpdateParams(nodes="n", baseline=str(f)), load_baseline(str(f)), inv, notes)
    assert len(plan) == 1 and plan[0].targets == ("HGX_FW_GPU_SXM_1", "HGX_FW_GPU_SXM_2", "HGX_FW_ERoT_GPU_SXM_1")
    assert plan[0].wanted("HGX_FW_GPU_SXM_2") == "96.00.af.00.02" and plan[0].version is None
    assert plan[0].wanted("HGX_FW_ERoT_GPU_SXM_1") == "00.02.0180.0000_n00"
    assert any("HGX_FW_BMC_0: version scheme differs" in n for n in notes)
    assert any("HGX_InfoROM_GPU_SXM_1 G520.0200.00.05 is outdated" in n and "not Updateable" in n for n in notes)


def test_a_dell_node_is_planned_and_targeted_by_member_id(tmp_path):
    f = tmp_path / "b.toml"
    f.write_text('["BIOS.Setup.1-1"]\nversion = "1.9.0"\nimage = "http://f/bios-1.9.0.bin"\n')
    inv = identify(
        [
            member("Installed-159-1.8.2__BIOS.Setup.1-1", "BIOS", "1.8.2"),
            member("Previous-159-1.9.0__BIOS.Setup.1-1", "BIOS", "1.9.0"),
        ]
    )
    plan = plan_node(FirmwareUpdateParams(nodes="n", baseline=str(f)), load_baseline(str(f)), inv)
    assert [(p.components, p.targets) for p in plan] == [
        (("BIOS.Setup.1-1",), ("Installed-159-1.8.2__BIOS.Setup.1-1",))
    ]


def test_image_mode_never_plans_a_version_of_another_scheme():
    inv = [F(id="HGX_FW_BMC_0", version="HGX-22.10-1-rc80")]
    notes: list[str] = []
    p = FirmwareUpdateParams(
        nodes="n", image="http://f/bmc.fwpkg", component="HGX_FW_BMC_*", version="GB200Nvl-24.12-8"
    )
    assert plan_node(p, None, inv, notes) == [] and "version scheme differs" in notes[0]


# ---------------------------------------------------------------- reading 40 components


def hgx(gpu3: str = "96.00.89.00.01") -> list[F]:
    return (
        [F(id=f"HGX_FW_GPU_SXM_{i}", version=gpu3 if i == 3 else "96.00.89.00.01") for i in range(1, 9)]
        + [F(id=f"HGX_FW_NVSwitch_{i}", version="96.10.6D.00.01") for i in range(4)]
        + [F(id="HGX_FW_BMC_0", version="HGX-22.10-1-rc80")]
    )


def test_drift_inside_a_node_and_grouped_rows():
    assert drift(hgx()) == []
    assert drift(hgx("96.00.74.00.01")) == [
        "HGX_FW_GPU_SXM_3 at 96.00.74.00.01 while HGX_FW_GPU_SXM_[1-2,4-8] are at 96.00.89.00.01"
    ]
    rows = inventory_rows("n1", hgx("96.00.74.00.01"))
    assert rows == [
        ["n1", "HGX_FW_GPU_SXM_[1-2,4-8]", 7, "96.00.89.00.01", ""],
        ["n1", "HGX_FW_GPU_SXM_3", 1, "96.00.74.00.01", "differs from its 7 sibling(s) at 96.00.89.00.01"],
        ["n1", "HGX_FW_NVSwitch_[0-3]", 4, "96.10.6D.00.01", ""],
        ["n1", "HGX_FW_BMC_0", 1, "HGX-22.10-1-rc80", ""],
    ]


def test_two_siblings_that_disagree_have_no_majority():
    found = drift([F(id="GPU0", version="1"), F(id="GPU1", version="2")])
    assert found == ["GPU: siblings disagree: GPU0 at 1; GPU1 at 2"]
    assert collapse(["a", "b"]) == "a, b" and collapse(["GPU0"]) == "GPU0"


# ---------------------------------------------------------------- adapter parsing (our logic over a fake transport)


def adapter(handler) -> RedfishAdapter:
    async def pw() -> SecretStr:
        return SecretStr("pw")

    a = RedfishAdapter({"n1": "https://bmc.example"}, username="u", password=pw)
    a._client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return a


def login_or(route):
    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path.endswith("/Sessions"):
            return httpx.Response(
                201,
                headers={"X-Auth-Token": "t", "Location": "https://bmc.example/redfish/v1/SessionService/Sessions/9"},
            )
        return route(request)

    return handler


async def test_task_states_per_dsp0266():
    docs = {
        "/m/1": httpx.Response(202),  # still running, no body
        "/m/2": httpx.Response(
            200,
            json={
                "TaskState": "Completed",
                "TaskStatus": "Critical",
                "Messages": [
                    {"MessageId": "Update.1.0.UpdateInProgress", "Message": "in progress"},
                    {"MessageId": "Update.1.0.ApplyFailed", "Message": "flash write error", "Severity": "Critical"},
                    {"MessageId": "Base.1.8.Success", "Message": "done"},
                ],
            },
        ),
        "/m/3": httpx.Response(
            200,
            json={
                "TaskState": "Pending",
                "Messages": [
                    {
                        "MessageId": "Base.1.8.ResetRequired",
                        "MessageArgs": ["/redfish/v1/Systems/1/Actions/x", "GracefulRestart"],
                    }
                ],
            },
        ),
        "/m/4": httpx.Response(204),
        "/redfish/v1/TaskService/Tasks/5/Monitor": httpx.Response(404),  # gone once the task ended
        "/redfish/v1/TaskService/Tasks/5": httpx.Response(200, json={"TaskState": "Completed", "TaskStatus": "OK"}),
    }
    a = adapter(login_or(lambda r: docs.get(r.url.path, httpx.Response(204))))
    try:
        running = await a.task("n1", "/m/1")
        assert running.state == "Running" and not running.finished
        failed = await a.task("n1", "/m/2")
        assert (
            failed.finished
            and not failed.succeeded
            and failed.messages[-1] == "Update.1.0.ApplyFailed: flash write error"
        )
        waiting = await a.task("n1", "/m/3")
        assert waiting.awaiting_reset and waiting.reset_type == "GracefulRestart"
        assert (await a.task("n1", "/m/4")).succeeded
        assert (await a.task("n1", "/redfish/v1/TaskService/Tasks/5/Monitor")).succeeded
    finally:
        await a.aclose()


async def test_absolute_session_location_is_logged_out_on_the_bmc():
    deleted: list[str] = []

    def route(r: httpx.Request) -> httpx.Response:
        if r.method == "DELETE":
            deleted.append(str(r.url))
            return httpx.Response(204)
        return httpx.Response(200, json={"Members": []})

    a = adapter(login_or(route))
    await a.get("n1", "/redfish/v1/Systems")
    await a.aclose()
    assert deleted == ["https://bmc.example/redfish/v1/SessionService/Sessions/9"]


async def test_expand_500_falls_back_to_one_get_per_member():
    seen: list[str] = []

    def route(r: httpx.Request) -> httpx.Response:
        seen.append(str(r.url.path) + ("?expand" if "expand" in str(r.url) else ""))
        if "expand" in str(r.url):
            return httpx.Response(500, json={"error": {"message": "internal"}})
        if r.url.path.endswith("FirmwareInventory"):
            return httpx.Response(
                200, json={"Members": [{"@odata.id": "/redfish/v1/UpdateService/FirmwareInventory/1"}]}
            )
        return httpx.Response(200, json=member("1", "System ROM", "U46 v2.72"))

    a = adapter(login_or(route))
    try:
        assert [c.key for c in await a.firmware_inventory("n1")] == ["System ROM"]
        assert [c.key for c in await a.firmware_inventory("n1")] == ["System ROM"]  # no second $expand try
        assert sum(s.endswith("?expand") for s in seen) == 1
    finally:
        await a.aclose()


def test_helpers():
    assert _path_of("https://h:443/redfish/v1/Sessions/1") == "/redfish/v1/Sessions/1"
    assert _path_of("/redfish/v1/x") == "/redfish/v1/x"
    assert _is_host_system({"Id": "DGX", "Actions": {"#ComputerSystem.Reset": {}}})
    assert not _is_host_system({"Id": "HGX_Baseboard_0", "Actions": {"#ComputerSystem.Reset": {}}})
    full = httpx.Response(
        503,
        content=json.dumps(
            {"error": {"@Message.ExtendedInfo": [{"MessageId": "Base.1.8.SessionLimitExceeded"}]}}
        ).encode(),
    )
    assert _session_limit(full) and not _session_limit(httpx.Response(503))


def test_redfish_paths_resolve_relative_to_the_config_file(tmp_path):
    cfg = parse_config(
        {"cluster": {"name": "x"}, "redfish": {"ca_bundle": "pki/ca.pem", "password_file": "~/pw"}}, base_dir=tmp_path
    )
    assert cfg.redfish.ca_bundle == str(tmp_path / "pki" / "ca.pem")
    assert not cfg.redfish.password_file.startswith(str(tmp_path))  # ~ is the home directory


def test_plain_http_bmc_gets_a_warning(caplog):
    async def pw() -> SecretStr:
        return SecretStr("pw")

    a = RedfishAdapter({"n1": "http://bmc.example", "n2": "https://bmc2.example"}, username="u", password=pw)
    assert any("plain http" in r.getMessage() for r in caplog.records)
    assert [w.split(" is plain")[0] for w in a.take_warnings()] == ["redfish: the BMC of n1"]
    assert a.take_warnings() == []  # once, not per request


def test_the_readme_hgx_baseline_loads_and_covers_the_lab_hgx_profile(tmp_path):
    """The README's example is a real baseline: every HGX member is covered or ignored."""
    from pathlib import Path

    from tests.lab.bmc.profiles import PROFILES

    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text()
    block = readme.split("A real HGX H100 baseline:\n\n```toml\n", 1)[1].split("```", 1)[0]
    f = tmp_path / "hgx.toml"
    f.write_text(block)
    base = load_baseline(str(f))
    parts = [p for p in PROFILES["hgx"].parts if p.key.startswith("HGX_")]
    assert all(base.ignores(p.key) or base.covers(p.key) for p in parts)
    assert base.for_component("HGX_FW_ERoT_NVSwitch_2").version == "00.02.0180.0000_n00"
    assert base.for_component("HGX_FW_NVSwitch_2").version == "96.10.6D.00.01"
    assert base.platform_mismatch("DGXH100") is None
    assert "for platform DGXH100, this system is PowerEdge XE9680" in base.platform_mismatch("PowerEdge XE9680")


def test_update_method_choice():
    from dcops.actions.backends.models import UpdatePath

    dgx = UpdatePath(simple_update="/redfish/v1/UpdateService/Actions/SimpleUpdate", multipart="/up")
    gb200 = UpdatePath(multipart="/redfish/v1/UpdateService/update-multipart")
    assert dgx.method_for("http://f/x.fwpkg") == "multipart" and dgx.method_for("http://f/bios-1.bin") == "simple"
    assert gb200.method_for("http://f/bios-1.bin") == "multipart"  # all there is
    assert UpdatePath().method_for("http://f/x.fwpkg") is None


def test_image_mode_with_a_bundle_and_a_glob():
    from dcops.actions.ops.firmware import version_from_image

    assert version_from_image("http://f/HGX-H100-24.1.fwpkg") is None  # a release, not a version
    inv = [F(id=f"HGX_FW_GPU_SXM_{i}", version="96.00.89.00.01") for i in (1, 2)] + [F(id="HGX_FW_BMC_0", version="x")]
    p = FirmwareUpdateParams(nodes="n", image="http://f/HGX-H100-24.1.fwpkg", component="HGX_FW_GPU_SXM_*")
    (inst,) = plan_node(p, None, inv)
    assert inst.targets == ("HGX_FW_GPU_SXM_1", "HGX_FW_GPU_SXM_2") and inst.version is None  # verify: "a change"


def test_slot_siblings_on_dell_and_ilo_are_one_family():
    assert family("NIC.Slot.5-1") == family("NIC.Slot.6-1") == "NIC.Slot"
    assert family("Mellanox ConnectX-7 (PCI-E Slot 1)") == family("Mellanox ConnectX-7 (PCI-E Slot 2)")
    found = drift(
        [
            F(id="7", key="Mellanox ConnectX-7 (PCI-E Slot 1)", version="28.39.1002"),
            F(id="8", key="Mellanox ConnectX-7 (PCI-E Slot 2)", version="28.40.1000"),
        ]
    )
    assert found and "siblings disagree" in found[0]


async def test_service_root_and_reset_action_are_read_once_per_bmc_not_per_step():
    """A rolling update asks for the update path, the system, the reset types and then resets (an AC
    cycle: twice): the service root and the system's Reset action are read once for all of that, the
    system document is read again only for what changes (power state), never re-discovered."""
    gets: list[str] = []
    system = {
        "Id": "1",
        "PowerState": "On",
        "Actions": {
            "#ComputerSystem.Reset": {
                "target": "/redfish/v1/Systems/1/Actions/ComputerSystem.Reset",
                "ResetType@Redfish.AllowableValues": ["ForceOff", "On", "ForceRestart"],
            }
        },
    }
    docs = {
        "/redfish/v1": {"Systems": {"@odata.id": "/redfish/v1/Systems"}, "UpdateService": {"@odata.id": "/us"}},
        "/redfish/v1/Systems": {"Members": [{"@odata.id": "/redfish/v1/Systems/1"}]},
        "/redfish/v1/Systems/1": system,
        "/us": {"Actions": {"#UpdateService.SimpleUpdate": {"target": "/us/Actions/SimpleUpdate"}}},
    }
    posted: list[tuple[str, object]] = []

    def route(r: httpx.Request) -> httpx.Response:
        if r.method == "POST":
            posted.append((r.url.path, json.loads(r.content)))
            return httpx.Response(204)
        gets.append(r.url.path)
        return httpx.Response(200, json=docs[r.url.path]) if r.url.path in docs else httpx.Response(404)

    a = adapter(login_or(route))
    try:
        assert (await a.update_path("n1")).simple_update == "/us/Actions/SimpleUpdate"
        assert await a.reset_types("n1") == ("ForceOff", "On", "ForceRestart")
        await a.reset("n1", "ForceOff")
        await a.reset("n1", "On")
        with pytest.raises(BackendError, match="does not offer ResetType GracefulRestart"):
            await a.reset("n1", "GracefulRestart")  # still checked against what the system offers
        assert (await a.system("n1")).power_state == "On"
    finally:
        await a.aclose()
    assert gets.count("/redfish/v1") == 1 and gets.count("/redfish/v1/Systems") == 1
    assert gets.count("/redfish/v1/Systems/1") == 2  # the Reset action once, then system() for its state
    assert posted == [
        ("/redfish/v1/Systems/1/Actions/ComputerSystem.Reset", {"ResetType": "ForceOff"}),
        ("/redfish/v1/Systems/1/Actions/ComputerSystem.Reset", {"ResetType": "On"}),
    ]

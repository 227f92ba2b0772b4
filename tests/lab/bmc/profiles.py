"""Vendor shapes a lab BMC can serve, chosen per node (``LabBmcs.profile(nodes, name)``).

Small, derived data written for the lab after reading Mockup-Creator captures of real BMCs
(NVIDIA libredfish tests/mockups: DGX H100 "viking", GB200, GH200, Dell iDRAC9, HPE iLO 5) and
docs/redfish.md; nothing is copied from them. Each profile says how its FirmwareInventory names members,
where its systems/managers/update service are, and how its firmware becomes active:

- ``generic``: the lab's original DMTF-like shape (BMC, BIOS, GPU0..7, HCA0; SimpleUpdate; reset).
- ``hgx``: a DGX H100-like BMC: systems ``DGX`` and ``HGX_Baseboard_0``, managers ``BMC`` and
  ``HGX_BMC_0``, ~47 ``HGX_*`` members; SimpleUpdate at ``/UpdateService/Actions/SimpleUpdate`` and
  a ``MultipartHttpPushUri`` taking ``.fwpkg`` bundles with ``UpdateParameters.Targets``; the task
  monitor answers 202 with an empty body while running; failures are Completed + Critical; baseboard
  firmware activates on an AC power cycle (ForceOff, then On) and not on a host restart; reset types
  only from ResetActionInfo (ForceOff, ForceRestart, GracefulShutdown, On); boot override only
  through the ``@Redfish.Settings`` object ``/Systems/DGX/SD`` with If-Match.
- ``idrac``: member ids ``Installed-<ComponentID>-<version>__<FQDD>`` plus ``Previous-…`` after an
  update; the update job waits (TaskState Pending) for a host restart, then completes.
- ``ilo``: members numbered 1..N by slot, identity in the Name (two CX-7 told apart by DeviceContext);
  some members not Updateable; ``$expand`` answers 500.
"""

from __future__ import annotations

import fnmatch
import json
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Part:
    key: str  # the lab's stable name for the component (FQDD on iDRAC, Name(+ctx) on iLO)
    name: str
    version: str
    family: str = ""  # image family (first word of a .bin image name) that updates it
    updateable: bool = True
    extra: tuple[tuple[str, str], ...] = ()  # (component id on iDRAC,) (device context on iLO)


@dataclass(frozen=True)
class Profile:
    name: str
    parts: tuple[Part, ...]
    system_id: str | None = None  # None: the sushy system's uuid
    manager_id: str | None = None
    baseboard: bool = False
    simple_update: str | None = "/redfish/v1/UpdateService/Actions/UpdateService.SimpleUpdate"
    multipart: str | None = None
    activation: str = "reset"  # reset | ac | pending
    reset_ask: str = "ForceRestart"  # the ResetType its ResetRequired message names
    reset_info: tuple[str, ...] = ()  # AllowableValues only via ResetActionInfo (empty: sushy's list)
    settings_object: bool = False
    expand_fails: bool = False
    empty_monitor: bool = False
    critical_completed: bool = False
    platform: str = ""
    model: str = ""  # the host system's Model
    ids: str = "plain"  # plain | dell | numbered
    defaults: dict[str, str] = field(default_factory=dict, compare=False)

    def default_versions(self) -> dict[str, str]:
        return {p.key: p.version for p in self.parts}

    def part(self, key: str) -> Part:
        return next(p for p in self.parts if p.key == key)

    # ---------------------------------------------------------------- member ids
    def members(self, versions: dict[str, str], previous: dict[str, str]) -> list[tuple[str, Part, str, str]]:
        """(member id, part, version, role) for what the inventory lists now."""
        out: list[tuple[str, Part, str, str]] = []
        for i, p in enumerate(self.parts, start=1):
            v = versions[p.key]
            if self.ids == "dell":
                cid = dict(p.extra).get("cid", "0")
                out.append((f"Installed-{cid}-{v}__{p.key}", p, v, "Installed"))
                if p.key in previous:
                    out.append((f"Previous-{cid}-{previous[p.key]}__{p.key}", p, previous[p.key], "Previous"))
            elif self.ids == "numbered":
                out.append((str(i), p, v, "Installed"))
            else:
                out.append((p.key, p, v, "Installed"))
        return out

    def key_of_member(self, member: str) -> str | None:
        member = member.rstrip("/").rsplit("/", 1)[-1]
        if self.ids == "dell":
            if not member.startswith("Installed-") or "__" not in member:
                return None
            return member.split("__", 1)[1]
        if self.ids == "numbered":
            return self.parts[int(member) - 1].key if member.isdigit() and 0 < int(member) <= len(self.parts) else None
        return member if any(p.key == member for p in self.parts) else None

    # ---------------------------------------------------------------- what an image installs
    def resolve(self, image_name: str, content: bytes, targets: list[str]) -> dict[str, str]:
        """{part key: version} the image would install; ValueError (the task's failure text) if none."""
        wanted = None
        if targets:
            keys = [self.key_of_member(t) for t in targets]
            if None in keys:
                raise ValueError(f"targets {targets} are not members of this inventory")
            wanted = set(keys)
        manifest = _manifest(content)
        if manifest is not None:
            if manifest.get("platform") != self.platform:
                raise ValueError(f"package is for platform {manifest.get('platform')!r}, this is {self.platform!r}")
            comps: dict[str, str] = {}
            for pattern, version in manifest["components"].items():
                for p in self.parts:
                    if fnmatch.fnmatchcase(p.key, pattern):
                        comps[p.key] = str(version)
        else:
            stem = image_name.rsplit("/", 1)[-1]
            for suffix in (".bin", ".fwpkg", ".img", ".exe"):
                stem = stem.removesuffix(suffix)
            fam, _, version = stem.partition("-")
            comps = {p.key: version for p in self.parts if p.family and p.family == fam.lower()} if version else {}
        if wanted is not None:
            if not wanted <= set(comps):
                raise ValueError(f"image does not apply to {sorted(wanted - set(comps))}")
            comps = {k: v for k, v in comps.items() if k in wanted}
        if not comps:
            raise ValueError(f"image {image_name} applies to nothing on this {self.name} BMC")
        return comps


def _manifest(content: bytes) -> dict[str, Any] | None:
    try:
        doc = json.loads(content)
    except (ValueError, UnicodeDecodeError):
        return None
    return doc if isinstance(doc, dict) and isinstance(doc.get("components"), dict) else None


def bundle(platform: str, components: dict[str, str]) -> bytes:
    """A lab ``.fwpkg``: a JSON manifest of component globs -> versions (what the lab BMC installs)."""
    return json.dumps({"platform": platform, "components": components}).encode()


def _hgx_parts() -> tuple[Part, ...]:
    parts = [
        Part("HGX_FW_BMC_0", "HGX_FW_BMC_0", "HGX-22.10-1-rc80"),
        Part("HGX_FW_CPLD_0", "HGX_FW_CPLD_0", "0.1C"),
        Part("HGX_FW_FPGA_0", "HGX_FW_FPGA_0", "2.0A"),
        Part("HGX_FW_ERoT_BMC_0", "HGX_FW_ERoT_BMC_0", "00.02.0150.0000_n00"),
        Part("HGX_FW_ERoT_FPGA_0", "HGX_FW_ERoT_FPGA_0", "00.02.0150.0000_n00"),
    ]
    parts += [Part(f"HGX_FW_GPU_SXM_{i}", f"HGX_FW_GPU_SXM_{i}", "96.00.89.00.01") for i in range(1, 9)]
    parts += [Part(f"HGX_FW_ERoT_GPU_SXM_{i}", f"HGX_FW_ERoT_GPU_SXM_{i}", "00.02.0150.0000_n00") for i in range(1, 9)]
    parts += [
        Part(f"HGX_InfoROM_GPU_SXM_{i}", f"HGX_InfoROM_GPU_SXM_{i}", "G520.0200.00.05", updateable=False)
        for i in range(1, 9)
    ]
    parts += [Part(f"HGX_FW_NVSwitch_{i}", f"HGX_FW_NVSwitch_{i}", "96.10.6D.00.01") for i in range(4)]
    parts += [Part(f"HGX_FW_ERoT_NVSwitch_{i}", f"HGX_FW_ERoT_NVSwitch_{i}", "00.02.0150.0000_n00") for i in range(4)]
    parts += [
        Part("HGX_FW_PCIeSwitch_0", "HGX_FW_PCIeSwitch_0", "1.7.5F"),
        Part("HGX_FW_ERoT_PCIeSwitch_0", "HGX_FW_ERoT_PCIeSwitch_0", "00.02.0150.0000_n00"),
    ]
    parts += [Part(f"HGX_FW_PCIeRetimer_{i}", f"HGX_FW_PCIeRetimer_{i}", "1.31.8") for i in range(8)]
    parts += [Part("HostBIOS_0", "HostBIOS_0", "1.2.3", family="bios"), Part("HostBMC_0", "HostBMC_0", "24.09.17")]
    return tuple(parts)


PROFILES: dict[str, Profile] = {
    "generic": Profile("generic", ()),  # the original lab shape, served by view.py's own code
    "hgx": Profile(
        "hgx",
        _hgx_parts(),
        system_id="DGX",
        manager_id="BMC",
        baseboard=True,
        simple_update="/redfish/v1/UpdateService/Actions/SimpleUpdate",
        multipart="/redfish/v1/UpdateService/upload",
        activation="ac",
        reset_ask="PowerCycle",
        reset_info=("ForceOff", "ForceRestart", "GracefulShutdown", "On"),
        settings_object=True,
        empty_monitor=True,
        critical_completed=True,
        platform="HGX",
        model="DGXH100",
    ),
    "idrac": Profile(
        "idrac",
        (
            Part("BIOS.Setup.1-1", "BIOS", "1.8.2", "bios", extra=(("cid", "159"),)),
            Part(
                "iDRAC.Embedded.1-1",
                "Integrated Dell Remote Access Controller",
                "6.00.30.00",
                "idrac",
                extra=(("cid", "25227"),),
            ),
            Part("CPLD.Embedded.1", "System CPLD", "1.0.5", "cpld", extra=(("cid", "27763"),)),
            Part("NIC.Slot.5-1", "Mellanox ConnectX-6 Dx", "24.40.10.00", "nic", extra=(("cid", "0"),)),
            Part("NIC.Slot.6-1", "Mellanox ConnectX-6 Dx", "24.40.10.00", "nic", extra=(("cid", "0"),)),
        ),
        system_id="System.Embedded.1",
        manager_id="iDRAC.Embedded.1",
        activation="pending",
        reset_ask="GracefulRestart",
        ids="dell",
        platform="PowerEdge",
        model="PowerEdge XE9680",
    ),
    "ilo": Profile(
        "ilo",
        (
            Part("iLO 5", "iLO 5", "2.72 Sep 04 2022", "ilo", extra=(("ctx", "System Board"),)),
            Part("System ROM", "System ROM", "U46 v2.72 (03/15/2023)", "rom", extra=(("ctx", "System Board"),)),
            Part(
                "Redundant System ROM",
                "Redundant System ROM",
                "U46 v2.62 (10/21/2022)",
                updateable=False,
                extra=(("ctx", "System Board"),),
            ),
            Part(
                "Power Management Controller Firmware",
                "Power Management Controller Firmware",
                "1.0.8",
                "pmc",
                extra=(("ctx", "System Board"),),
            ),
            Part(
                "Mellanox ConnectX-7 (PCI-E Slot 1)",
                "Mellanox ConnectX-7",
                "28.39.1002",
                "cx7",
                extra=(("ctx", "PCI-E Slot 1"),),
            ),
            Part(
                "Mellanox ConnectX-7 (PCI-E Slot 2)",
                "Mellanox ConnectX-7",
                "28.39.1002",
                "cx7",
                extra=(("ctx", "PCI-E Slot 2"),),
            ),
            Part(
                "Embedded Video Controller",
                "Embedded Video Controller",
                "2.5",
                updateable=False,
                extra=(("ctx", "Embedded Device"),),
            ),
        ),
        system_id="1",
        manager_id="1",
        ids="numbered",
        expand_fails=True,
        platform="ProLiant",
        model="ProLiant DL380 Gen10",
    ),
}

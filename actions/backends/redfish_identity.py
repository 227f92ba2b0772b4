"""What a FirmwareInventory member IS, independent of how a vendor spells its member id.

The member id is not an identity on every BMC (shapes from Mockup-Creator captures of real BMCs,
NVIDIA libredfish tests/mockups, and DMTF's public mockups):

- OpenBMC / NVIDIA HGX / DGX, DMTF: the id is the identity (``HGX_FW_GPU_SXM_3``, ``BMC``).
- Dell iDRAC: ``Installed-<ComponentID>-<Version>__<FQDD>`` (also ``Current-``, ``Previous-``,
  ``Available-``): the version is part of the id, so two nodes on different BIOS versions have
  different ids for the same BIOS. The identity is the FQDD (``BIOS.Setup.1-1``); ``Previous-``
  is the rollback copy, ``Available-`` a staged package: neither is what runs.
- HPE iLO: members are numbered 1..N by slot and the numbering shifts when a card is added. The
  identity is the Name (``System ROM``), qualified by the device context when two share a name.
- Lenovo XCC: ``BMC-Primary`` / ``BMC-Backup`` / ``UEFI-Pending``; Supermicro: ``Backup_BMC``,
  ``Golden_BIOS``, ``Staging_BIOS``: the primary copy runs; backups, golden and pending images do not.

``identify`` turns the member documents of one BMC into components with ``key`` (the identity)
and ``role`` ("active" for what runs, else "previous", "pending", "backup", ...). Only active
components count for compliance, drift and verification; the others stay in ``--json``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

from .models import FirmwareComponent

_DELL = re.compile(r"^(Installed|Current|Previous|Available)-(\d+)-(.+?)__(.+)$")
_DELL_ROLE = {"Installed": "active", "Current": "active", "Previous": "previous", "Available": "available"}
_SUFFIX_ROLES = (("-Primary", "active"), ("-Pending", "pending"), ("-Backup", "backup"))
_PREFIX_ROLES = (("Backup_", "backup"), ("Golden_", "golden"), ("Staging_", "staging"))


def member_id(doc: dict[str, Any]) -> str:
    return str(doc.get("Id") or str(doc.get("@odata.id", "")).rstrip("/").rsplit("/", 1)[-1])


def _key_and_role(doc: dict[str, Any]) -> tuple[str, str]:
    mid = member_id(doc)
    m = _DELL.match(mid)
    if m:
        return m.group(4), _DELL_ROLE[m.group(1)]
    if mid.isdigit():  # iLO-style slot numbers: the Name is the identity
        return str(doc.get("Name") or doc.get("SoftwareId") or mid).strip(), "active"
    for suffix, role in _SUFFIX_ROLES:
        if mid.endswith(suffix):
            return mid.removesuffix(suffix), role
    for prefix, role in _PREFIX_ROLES:
        if mid.startswith(prefix):
            return mid.removeprefix(prefix), role
    return mid, "active"


def _context(doc: dict[str, Any]) -> str:
    hpe = ((doc.get("Oem") or {}).get("Hpe") or {}) if isinstance(doc.get("Oem"), dict) else {}
    return str(hpe.get("DeviceContext") or doc.get("Description") or "").strip()


def identify(docs: Sequence[dict[str, Any]]) -> list[FirmwareComponent]:
    """The components of one BMC's inventory, each keyed by what it is (see the module docstring).

    Two active members with one identity (two iLO NICs both named "Mellanox ConnectX-7") are told
    apart by their device context, then by their member id; a Dell ``Installed-`` and ``Current-``
    pair for one FQDD is one component."""
    rows = []
    for doc in docs:
        key, role = _key_and_role(doc)
        rows.append((doc, key, role))
    seen: set[tuple[str, str]] = set()
    unique = []
    for doc, key, role in rows:  # Dell lists Installed- and Current- for one FQDD
        if member_id(doc).startswith("Current-") and (key, role) in {
            (k, r) for d, k, r in rows if member_id(d).startswith("Installed-")
        }:
            continue
        unique.append((doc, key, role))
    dup = Counter((k, r) for _, k, r in unique)
    out = []
    for doc, key, role in unique:
        if dup[(key, role)] > 1:
            ctx = _context(doc)
            key = f"{key} ({ctx})" if ctx else key
        if (key, role) in seen:
            key = f"{key} #{member_id(doc)}"
        seen.add((key, role))
        out.append(
            FirmwareComponent(
                id=member_id(doc),
                key=key,
                role=role,
                name=str(doc.get("Name") or ""),
                version=str(doc.get("Version") or ""),
                updateable=bool(doc.get("Updateable", True)),
                uri=str(doc.get("@odata.id") or ""),
            )
        )
    return out

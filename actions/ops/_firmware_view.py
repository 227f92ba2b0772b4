"""Reading 40 firmware components per node: families of numbered siblings and drift inside a node.

An HGX baseboard lists eight GPUs, eight ERoTs, eight InfoROMs, four NVSwitches, eight retimers
... each its own FirmwareInventory member. A report shows a family whose members agree as one row
(``HGX_FW_GPU_SXM_[1-8]``, the glob a baseline would use), and calls out the members that differ
from their siblings: GPU 3 on another VBIOS than GPUs 1, 2, 4-8 of the same baseboard is a finding
on its own, baseline or not.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from ..backends.models import FirmwareComponent
from ._baseline import family

_INSTANCE = re.compile(r"^(.*?[_.\-]?)(\d+)$")


def _instance(key: str) -> tuple[str, int] | None:
    m = _INSTANCE.match(key)
    return (m.group(1), int(m.group(2))) if m and m.group(1) else None


def _ranges(numbers: Iterable[int]) -> str:
    nums = sorted(set(numbers))
    out: list[str] = []
    start = prev = nums[0]
    for n in nums[1:] + [None]:
        if n is not None and n == prev + 1:
            prev = n
            continue
        out.append(f"{start}" if start == prev else f"{start}-{prev}")
        if n is not None:
            start = prev = n
    return ",".join(out)


def collapse(keys: Sequence[str]) -> str:
    """``HGX_FW_GPU_SXM_1, .._2, .._4, HGX_FW_BMC_0`` -> ``HGX_FW_GPU_SXM_[1-2,4], HGX_FW_BMC_0``:
    numbered siblings in brackets (the glob a baseline would use), families in order of appearance."""
    groups: dict[str, list[int]] = {}
    for k in keys:
        inst = _instance(k)
        if inst is None:
            groups.setdefault(k, [])
        else:
            groups.setdefault(inst[0], []).append(inst[1])
    out = []
    for prefix, nums in groups.items():
        if not nums:
            out.append(prefix)
        elif len(nums) == 1:
            out.append(
                f"{prefix}{nums[0]}"
                if prefix + str(nums[0]) in keys
                else next(k for k in keys if (_instance(k) or ("", -1)) == (prefix, nums[0]))
            )
        else:
            out.append(f"{prefix}[{_ranges(nums)}]")
    return ", ".join(out)


def families(comps: Iterable[FirmwareComponent]) -> dict[str, list[FirmwareComponent]]:
    """Active components by family, in inventory order."""
    out: dict[str, list[FirmwareComponent]] = {}
    for c in comps:
        if c.active:
            out.setdefault(family(c.key), []).append(c)
    return out


def majority(members: Sequence[FirmwareComponent]) -> str | None:
    """The version most siblings run, when more than half of them run it."""
    top, n = Counter(c.version for c in members).most_common(1)[0]
    return top if n * 2 > len(members) else None


def drift(comps: Iterable[FirmwareComponent]) -> list[str]:
    """Findings for siblings in one node that run different versions (no baseline needed)."""
    found = []
    for fam, members in families(comps).items():
        versions = Counter(c.version for c in members)
        if len(members) < 2 or len(versions) < 2:
            continue
        top = majority(members)
        if top is not None:
            odd = [c for c in members if c.version != top]
            rest = [c.key for c in members if c.version == top]
            for v in sorted({c.version for c in odd}):
                these = [c.key for c in odd if c.version == v]
                found.append(
                    f"{collapse(these)} at {v or '?'} while {collapse(rest)} "
                    f"{'is' if len(rest) == 1 else 'are'} at {top}"
                )
        else:
            found.append(
                f"{fam}: siblings disagree: "
                + "; ".join(
                    f"{collapse([c.key for c in members if c.version == v])} at {v or '?'}" for v in sorted(versions)
                )
            )
    return found


def inventory_rows(node: str, comps: Sequence[FirmwareComponent]) -> list[list[Any]]:
    """Long-form rows ``[node, component(s), count, version, note]``: a family that agrees is one row,
    a member that differs from its siblings is a row of its own with a note."""
    rows: list[list[Any]] = []
    for members in families(comps).values():
        top = majority(members) if len(members) > 1 else None
        by_version: dict[str, list[FirmwareComponent]] = {}
        for c in members:
            by_version.setdefault(c.version, []).append(c)
        for version, these in sorted(by_version.items(), key=lambda kv: (kv[0] != top, kv[0])):
            note = ""
            if len(by_version) > 1 and version != top:
                note = (
                    f"differs from its {len(members) - len(these)} sibling(s) at {top}" if top else "siblings disagree"
                )
            stuck = [c.key for c in these if not c.updateable]
            if stuck:
                which = "not Updateable" if len(stuck) == len(these) else f"not Updateable: {collapse(stuck)}"
                note = "; ".join(n for n in (note, which) if n)
            rows.append([node, collapse([c.key for c in these]), len(these), version, note])
    return rows


def component_dicts(comps: Iterable[FirmwareComponent]) -> list[dict[str, Any]]:
    return [c.model_dump() for c in comps]

"""Firmware baselines: which version each component should run and which image gets it there.

A baseline file is TOML (or JSON). Each key names components by their identity (what the
inventory calls the component: the FirmwareInventory id on most BMCs, the FQDD on Dell iDRACs,
the Name on HPE iLOs; see :mod:`dcops.actions.backends.redfish_identity`); a value is a version string,
or a table with ``version`` and the ``image`` URL that installs it. A key is one of:

- an exact identity: ``HGX_FW_BMC_0``, ``BIOS.Setup.1-1``, ``BIOS``;
- a glob (``*``, ``?``, ``[..]``, fnmatch rules, case-sensitive): ``HGX_FW_GPU_SXM_*`` pins one
  version for all eight GPUs;
- a family: the identity without its trailing instance numbers (and an iLO slot in parentheses),
  so ``GPU`` covers GPU0..GPU7, ``HGX_FW_NVSwitch`` covers HGX_FW_NVSwitch_0..3 and ``NIC.Slot``
  covers Dell's NIC.Slot.5-1 and NIC.Slot.6-1.

When several keys match, the exact one wins, then the most specific pattern (the one with the
most literal characters). ``ignore = ["HGX_InfoROM_*", ...]`` lists globs of components the
baseline does not care about; every other component the baseline does not cover counts against
compliance ("unknown"). ``platform = "DGXH100"`` (a glob on the system's Model) keeps the baseline
off other platforms: their nodes are never planned and never "match"::

    platform = "DGXH100"
    ignore = ["HGX_InfoROM_*", "HGX_FW_PCIeRetimer_*"]
    HGX_FW_BMC_0 = "HGX-22.10-1-rc80"
    ["HGX_FW_GPU_SXM_*"]
    version = "96.00.af.00.02"
    image = "http://files.example/HGX-H100-24.1.fwpkg"

Several entries may share one image (an HGX ``.fwpkg`` bundle carries GPU, ERoT, NVSwitch ...
firmware): the update pushes it once with every outdated component as a target and checks each
component against its own version afterwards.

Version comparison is hand-written because firmware versions are neither PEP 440 nor semver: GPU
VBIOS versions are dotted hex (96.00.af.00.02), BMC versions dotted decimal, HGX ones carry a
platform prefix and a release-candidate number (HGX-22.10-1-rc80), some carry letters. Runs of
digits compare as numbers (rc9 < rc10); two versions with different platform prefixes
(GB200Nvl-24.12-8 vs HGX-22.10-1-rc77) are of different schemes and never compare.
"""

from __future__ import annotations

import fnmatch
import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from ..errors import UsageError

Compliance = Literal["compliant", "outdated", "newer", "unknown", "ignored"]
_SPLIT = re.compile(r"[.\-_ ]+")
_HEX = re.compile(r"^[0-9a-fA-F]+$")
_RUNS = re.compile(r"\d+|[^\d]+")
_GLOB = re.compile(r"[*?\[]")
_INSTANCE = re.compile(r"([_.\-]?\d+)+$")
_CONTEXT = re.compile(r"\s*\([^()]*\)$")
# a platform prefix: a leading word with a letter that cannot be hex (HGX-, GB200Nvl-), then a separator
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9]*?[G-Zg-z][A-Za-z0-9]*)[-_ ]")


@dataclass(frozen=True)
class Wanted:
    key: str  # the baseline key that matched (BIOS, GPU, HGX_FW_GPU_SXM_*, ...)
    version: str
    image: str | None = None


def family(component_id: str) -> str:
    """GPU3 -> GPU, HGX_FW_GPU_SXM_3 -> HGX_FW_GPU_SXM, NIC.Slot.5-1 -> NIC.Slot (Dell FQDD),
    ``Mellanox ConnectX-7 (PCI-E Slot 2)`` -> ``Mellanox ConnectX`` (iLO name + slot), BIOS -> BIOS."""
    return _INSTANCE.sub("", _CONTEXT.sub("", component_id)) or component_id


def scheme(version: str) -> str:
    """The platform prefix of a version (``HGX-22.10-1-rc80`` -> ``hgx``), or "" when it has none."""
    m = _SCHEME.match(version.strip())
    return m.group(1).lower() if m else ""


def _specificity(pattern: str) -> int:
    return len(_GLOB.sub("", pattern.replace("*", "")))


@dataclass(frozen=True)
class Baseline:
    entries: dict[str, Wanted]
    source: str = ""
    ignore: tuple[str, ...] = ()
    platform: str | None = None  # glob on the system's Model (``DGXH100``, ``*XE9680*``)
    _patterns: tuple[str, ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        pats = sorted((k for k in self.entries if _GLOB.search(k)), key=_specificity, reverse=True)
        object.__setattr__(self, "_patterns", tuple(pats))

    def for_component(self, component_id: str) -> Wanted | None:
        """The entry for a component: exact key, else the most specific glob or family that covers it."""
        exact = self.entries.get(component_id)
        if exact is not None:
            return exact
        candidates: list[tuple[int, Wanted]] = []
        for pat in self._patterns:
            if fnmatch.fnmatchcase(component_id, pat):
                candidates.append((_specificity(pat), self.entries[pat]))
                break  # patterns are sorted most specific first
        fam = family(component_id)
        if fam != component_id and fam in self.entries:
            candidates.append((len(fam), self.entries[fam]))
        return max(candidates, key=lambda c: c[0])[1] if candidates else None

    def platform_mismatch(self, model: str) -> str | None:
        """Why this baseline must not be applied to a system of this Model, or None when it may."""
        if self.platform is None or fnmatch.fnmatchcase(model, self.platform):
            return None
        return f"the baseline is for platform {self.platform}, this system is {model or 'of unknown model'}"

    def ignores(self, component_id: str) -> bool:
        return any(fnmatch.fnmatchcase(component_id, g) for g in self.ignore)

    def covers(self, component_id: str) -> bool:
        return self.for_component(component_id) is not None

    def matches(self, key: str, component_id: str) -> bool:
        """Whether baseline key ``key`` names this component (exactly, as a glob or as its family)."""
        return (
            key == component_id
            or family(component_id) == key
            or (bool(_GLOB.search(key)) and fnmatch.fnmatchcase(component_id, key))
        )


def load_baseline(path: str) -> Baseline:
    p = Path(path).expanduser()
    try:
        text = p.read_text()
    except OSError as exc:
        raise UsageError(f"baseline file {path}: {exc.strerror or exc}") from None
    try:
        raw = json.loads(text) if p.suffix == ".json" else tomllib.loads(text)
    except (tomllib.TOMLDecodeError, ValueError) as exc:
        raise UsageError(
            f"baseline file {path} is not valid {'JSON' if p.suffix == '.json' else 'TOML'}: {str(exc).splitlines()[0]}"
        ) from None
    if not isinstance(raw, dict):
        raise UsageError(f"baseline file {path} must be a table of component = version")
    platform = raw.pop("platform", None)
    if platform is not None and not (isinstance(platform, str) and platform):
        raise UsageError(f'baseline file {path}: platform must be a Model glob, e.g. platform = "DGXH100"')
    ignore = raw.pop("ignore", [])
    if not isinstance(ignore, list) or not all(isinstance(g, str) and g for g in ignore):
        raise UsageError(
            f'baseline file {path}: ignore must be a list of component globs, e.g. ignore = ["HGX_InfoROM_*"]'
        )
    entries: dict[str, Wanted] = {}
    for key, value in raw.items():
        if isinstance(value, str):
            entries[key] = Wanted(key, value)
        elif isinstance(value, dict) and isinstance(value.get("version"), str):
            image = value.get("image")
            if image is not None and not (isinstance(image, str) and image.startswith(("http://", "https://"))):
                raise UsageError(f"baseline file {path}: {key}.image must be an http(s) URL")
            entries[key] = Wanted(key, value["version"], image)
        else:
            raise UsageError(
                f"baseline file {path}: {key} must be a version string or a table with 'version' (and 'image')"
            )
        if _GLOB.search(key):
            try:
                re.compile(fnmatch.translate(key))
            except re.error:
                raise UsageError(f"baseline file {path}: {key!r} is not a valid glob") from None
    if not entries:
        raise UsageError(f"baseline file {path} lists no components")
    return Baseline(entries, str(p), tuple(ignore), platform)


def _field_key(x: str, y: str) -> tuple[list[int | str], list[int | str]]:
    """Sort keys of one dot/dash-separated field of two versions: hex when either is hex-only with a
    letter and both are hex, else digit runs as numbers (rc9 < rc10), letters case-insensitively."""
    if (
        _HEX.match(x)
        and _HEX.match(y)
        and not (x.isdigit() and y.isdigit())
        and (x.isdigit() or y.isdigit() or not (x.isalpha() or y.isalpha()))
    ):
        return [int(x, 16)], [int(y, 16)]

    def runs(s: str) -> list[int | str]:
        return [int(r) if r.isdigit() else r.lower() for r in _RUNS.findall(s)]

    return runs(x), runs(y)


def compare_versions(a: str, b: str) -> int | None:
    """-1, 0, 1 like cmp; None when the two cannot be ordered (different schemes, letters vs numbers)."""
    if a.strip().lower() == b.strip().lower():
        return 0
    if scheme(a) != scheme(b):
        return None
    ta, tb = _SPLIT.split(a.strip()), _SPLIT.split(b.strip())
    for x, y in zip(ta, tb):
        kx, ky = _field_key(x, y)
        for rx, ry in zip(kx, ky):
            if type(rx) is not type(ry):
                return None
            if rx != ry:
                return -1 if rx < ry else 1  # type: ignore[operator]
        if len(kx) != len(ky):
            return -1 if len(kx) < len(ky) else 1
    if len(ta) == len(tb):
        return 0
    return -1 if len(ta) < len(tb) else 1


def compliance(installed: str | None, wanted: Wanted | None) -> Compliance:
    if not installed or wanted is None:
        return "unknown"
    order = compare_versions(installed, wanted.version)
    return {0: "compliant", -1: "outdated", 1: "newer"}.get(order, "unknown")  # type: ignore[arg-type,return-value]


def incomparable_reason(installed: str, wanted: str) -> str:
    """Why two versions do not compare, in words for a report."""
    sa, sb = scheme(installed), scheme(wanted)
    if sa != sb:
        return (
            f"version scheme differs ({installed} is {sa or 'unprefixed'}, the baseline's {wanted} is "
            f"{sb or 'unprefixed'}): not the same platform"
        )
    return f"{installed} and {wanted} cannot be ordered"

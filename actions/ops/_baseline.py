"""Firmware baselines: which version each component should run and which image gets it there.

A baseline file is TOML (or JSON) keyed by FirmwareInventory id, or by a family that covers
numbered ids (``GPU`` covers GPU0..GPU7, ``HCA`` covers HCA0); a value is a version string, or a
table with ``version`` and the ``image`` URL that installs it::

    BMC = "1.12.0"
    [BIOS]
    version = "2.4.0"
    image = "http://files.example/bios-2.4.0.bin"
    [GPU]
    version = "96.00.af.00.02"
    image = "http://files.example/gpu-96.00.af.00.02.bin"

Version comparison is hand-written because firmware versions are not PEP 440 nor semver: GPU
VBIOS versions are dotted hex (96.00.af.00.02), BMC versions dotted decimal, some carry letters.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ..errors import UsageError

Compliance = Literal["compliant", "outdated", "newer", "unknown"]
_SPLIT = re.compile(r"[.\-_ ]+")
_HEX = re.compile(r"^[0-9a-fA-F]+$")


@dataclass(frozen=True)
class Wanted:
    key: str                 # the baseline key that matched (BIOS, GPU, ...)
    version: str
    image: str | None = None


def family(component_id: str) -> str:
    """GPU3 -> GPU, HCA0 -> HCA, BIOS -> BIOS."""
    return component_id.rstrip("0123456789") or component_id


@dataclass(frozen=True)
class Baseline:
    entries: dict[str, Wanted]
    source: str = ""

    def for_component(self, component_id: str) -> Wanted | None:
        return self.entries.get(component_id) or self.entries.get(family(component_id))

    def covers(self, component_id: str) -> bool:
        return self.for_component(component_id) is not None


def load_baseline(path: str) -> Baseline:
    p = Path(path).expanduser()
    try:
        text = p.read_text()
    except OSError as exc:
        raise UsageError(f"baseline file {path}: {exc.strerror or exc}") from None
    try:
        raw = json.loads(text) if p.suffix == ".json" else tomllib.loads(text)
    except (tomllib.TOMLDecodeError, ValueError) as exc:
        raise UsageError(f"baseline file {path} is not valid {'JSON' if p.suffix == '.json' else 'TOML'}: "
                         f"{str(exc).splitlines()[0]}") from None
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
            raise UsageError(f"baseline file {path}: {key} must be a version string or a table with "
                             f"'version' (and 'image')")
    if not entries:
        raise UsageError(f"baseline file {path} lists no components")
    return Baseline(entries, str(p))


def _key(token: str, hexadecimal: bool) -> int | str:
    if hexadecimal:
        return int(token, 16)
    return int(token) if token.isdigit() else token.lower()


def compare_versions(a: str, b: str) -> int | None:
    """-1, 0, 1 like cmp; None when the two cannot be ordered (e.g. different schemes)."""
    if a.strip().lower() == b.strip().lower():
        return 0
    ta, tb = _SPLIT.split(a.strip()), _SPLIT.split(b.strip())
    for x, y in zip(ta, tb):
        hexadecimal = bool(_HEX.match(x) and _HEX.match(y)) and not (x.isdigit() and y.isdigit())
        kx, ky = _key(x, hexadecimal), _key(y, hexadecimal)
        if type(kx) is not type(ky):
            return None
        if kx != ky:
            return -1 if kx < ky else 1   # type: ignore[operator]
    if len(ta) == len(tb):
        return 0
    return -1 if len(ta) < len(tb) else 1


def compliance(installed: str | None, wanted: Wanted | None) -> Compliance:
    if not installed or wanted is None:
        return "unknown"
    order = compare_versions(installed, wanted.version)
    return {0: "compliant", -1: "outdated", 1: "newer"}.get(order, "unknown")  # type: ignore[arg-type]

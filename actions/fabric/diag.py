"""Reading what ``mlxlink -d DEV --show_ber`` and ``ibstat DEV`` print on a host.

Both tools print aligned ``Label : value`` lines (mlxlink) or indented ``Label: value`` lines under
``CA '...'`` / ``Port N:`` headings (ibstat); mlxlink may colour its output and writes BER as
``<coef>E-<exp>`` where ``15E-255`` means zero. The parsers keep only the fields triage judges
and fail soft: a field that is missing stays None and is reported as missing evidence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_BER = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*[eE]\s*([-+]?\d+)\s*$")


def parse_ber(text: str) -> float | None:
    """mlxlink's ``2E-6`` / ``15E-255`` (zero) notation, or a plain float."""
    m = _BER.match(text)
    if m:
        exponent = int(m.group(2))
        return 0.0 if exponent <= -200 else float(f"{m.group(1)}e{exponent}")
    try:
        return float(text)
    except ValueError:
        return None


def _int(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        return int(text.replace(",", "").split()[0])
    except (ValueError, IndexError):
        return None


@dataclass(frozen=True)
class MlxlinkBer:
    state: str | None = None
    physical_state: str | None = None
    speed: str | None = None
    width: str | None = None
    fec: str | None = None
    minutes_since_clear: float | None = None
    symbol_errors: int | None = None
    symbol_ber: float | None = None
    effective_errors: int | None = None
    effective_ber: float | None = None
    raw_errors_per_lane: tuple[int, ...] = ()
    raw_ber: float | None = None
    link_down: int | None = None
    link_error_recovery: int | None = None


def parse_mlxlink(text: str) -> MlxlinkBer:
    fields: dict[str, str] = {}
    for line in _ANSI.sub("", text).splitlines():
        label, sep, value = line.partition(":")
        if sep and label.strip() and not label.startswith(" " * 8):
            fields.setdefault(label.strip().lower(), value.strip())
    get = fields.get
    minutes = get("time since last clear [min]")
    lanes = tuple(x for x in (_int(v) for v in (get("raw physical errors per lane") or "").split(",")) if x is not None)
    return MlxlinkBer(
        state=get("state"),
        physical_state=get("physical state"),
        speed=get("speed"),
        width=get("width"),
        fec=get("fec"),
        minutes_since_clear=float(minutes) if minutes and _is_float(minutes) else None,
        symbol_errors=_int(get("symbol errors")),
        symbol_ber=_ber(get("symbol ber")),
        effective_errors=_int(get("effective physical errors")),
        effective_ber=_ber(get("effective physical ber")),
        raw_errors_per_lane=lanes,
        raw_ber=_ber(get("raw physical ber")),
        link_down=_int(get("link down counter")),
        link_error_recovery=_int(get("link error recovery counter")),
    )


def _ber(text: str | None) -> float | None:
    return parse_ber(text) if text else None


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class IbstatPort:
    device: str
    port: int
    state: str | None = None
    physical_state: str | None = None
    rate: str | None = None

    @property
    def active(self) -> bool:
        return (self.state or "").lower() == "active" and (self.physical_state or "").lower() == "linkup"


def parse_ibstat(text: str) -> dict[tuple[str, int], IbstatPort]:
    """Ports by (device, port) from ``ibstat`` or ``ibstat DEV`` output."""
    ports: dict[tuple[str, int], dict[str, str]] = {}
    device: str | None = None
    current: tuple[str, int] | None = None
    for line in text.splitlines():
        s = line.strip()
        if m := re.match(r"^CA '([^']+)'", s):
            device, current = m.group(1), None
        elif (m := re.match(r"^Port (\d+):$", s)) and device:
            current = (device, int(m.group(1)))
            ports[current] = {}
        elif current and ":" in s:
            key, _, value = s.partition(":")
            ports[current][key.strip().lower()] = value.strip()
    return {
        k: IbstatPort(
            device=k[0], port=k[1], state=v.get("state"), physical_state=v.get("physical state"), rate=v.get("rate")
        )
        for k, v in ports.items()
    }

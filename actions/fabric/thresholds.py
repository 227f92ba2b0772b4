"""What counts as a bad InfiniBand link: BER thresholds by speed, media and FEC, and UFM's
counter-growth rules. Values are NVIDIA's (UFM PDR plugin ``Field_BER_Thresholds.csv``, UFM's
port-isolation rule of thumb); the config file's ``[thresholds]`` table may override the counter
rules by the keys in :data:`DEFAULTS`. The numbers and where they come from: docs/infiniband.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

Level = Literal["normal", "warning", "error"]

# windows UFM uses for its symbol-error isolation rule
SHORT_WINDOW = 12 * 60
LONG_WINDOW = 125 * 60


@dataclass(frozen=True)
class Band:
    """BER at or above ``error`` is an error, at or above ``warning`` a warning."""

    error: float
    warning: float
    normal: float

    def level(self, ber: float) -> Level:
        if ber >= self.error:
            return "error"
        if ber >= self.warning:
            return "warning"
        return "normal"


@dataclass(frozen=True)
class BerThresholds:
    raw: Band  # pre-FEC
    effective: Band  # post-FEC
    symbol: Band
    source: str  # which row of the table applied, for the evidence line


_SYMBOL = Band(1e-14, 5e-15, 1e-15)
_NDR_EFFECTIVE = Band(1e-11, 5e-12, 1e-12)
_TABLE: dict[tuple[str, str], tuple[Band, Band]] = {
    ("NDR", "copper"): (Band(1e-6, 5e-7, 1e-7), _NDR_EFFECTIVE),
    ("NDR", "optical"): (Band(1e-5, 5e-6, 1e-6), _NDR_EFFECTIVE),
    ("HDR", "copper"): (Band(1e-7, 5e-8, 1e-8), Band(1e-13, 5e-14, 1e-14)),
    ("HDR", "optical"): (Band(1e-7, 5e-8, 1e-8), Band(1e-13, 5e-14, 1e-14)),
    ("EDR", "copper"): (Band(1e-12, 5e-13, 1e-13), Band(1e-12, 5e-13, 1e-13)),
    ("EDR", "optical"): (Band(1e-12, 5e-13, 1e-13), Band(1e-12, 5e-13, 1e-13)),
}
_SPEC = Band(1e-12, 5e-13, 1e-13)  # the IB spec's 1e-12 when nothing better is known


def media_class(media: str | None) -> str:
    """DAC (passive copper) and ACC (active copper) share thresholds; AOC/transceivers are optical."""
    m = (media or "DAC").lower()
    return "optical" if m in ("aoc", "optical", "optic", "fiber", "transceiver", "active-optical") else "copper"


def no_fec(fec: str | None) -> bool:
    return fec is not None and fec.lower().replace("-", "_").startswith(("no_fec", "no fec", "nofec"))


def ber_thresholds(speed: str, media: str | None, fec: str | None = None) -> BerThresholds:
    """Thresholds for a link; without FEC the raw BER *is* the effective BER and is judged as such."""
    key = (speed.upper(), media_class(media))
    raw, effective = _TABLE.get(key, (_SPEC, _SPEC))
    source = f"{key[0]} {key[1]}" if key in _TABLE else f"IB spec (no table row for {key[0]} {key[1]})"
    if no_fec(fec):
        raw, source = effective, source + ", no FEC"
    return BerThresholds(raw=raw, effective=effective, symbol=_SYMBOL, source=source)


DEFAULTS: dict[str, float] = {
    "ib_symbol_ber_short": 1e-14,  # UFM: symbol errors over 12 min > bandwidth x 720 s x 1e-14
    "ib_symbol_ber_long": 1e-15,  # UFM: symbol errors over 125 min > bandwidth x 7500 s x 1e-15
    "ib_link_downed": 1,  # link_downed growth over 125 min that counts as flapping
    "ib_port_errors": 10,  # receive / integrity / overrun errors over 125 min: a bad port
    "ib_xmit_wait_per_s": 1e6,  # PortXmitWait ticks per second over 12 min: congestion
    "ib_isolate_min": 10,  # isolate at most max(this, share x ports) links at once
    "ib_isolate_share": 0.005,
}


@dataclass(frozen=True)
class CounterRules:
    symbol_short: float  # max symbol errors in SHORT_WINDOW before the link is bad
    symbol_long: float  # max symbol errors in LONG_WINDOW
    link_downed: float
    port_errors: float
    xmit_wait_per_s: float

    @classmethod
    def for_link(cls, bits_per_second: float, overrides: Mapping[str, float] | None = None) -> CounterRules:
        t = {**DEFAULTS, **{k: float(v) for k, v in (overrides or {}).items() if k in DEFAULTS}}
        return cls(
            symbol_short=bits_per_second * SHORT_WINDOW * t["ib_symbol_ber_short"],
            symbol_long=bits_per_second * LONG_WINDOW * t["ib_symbol_ber_long"],
            link_downed=t["ib_link_downed"],
            port_errors=t["ib_port_errors"],
            xmit_wait_per_s=t["ib_xmit_wait_per_s"],
        )


def isolation_limit(ports: int, overrides: Mapping[str, float] | None = None) -> int:
    """UFM's cap on links isolated at once: max(10, 0.5 % of ports)."""
    t = {**DEFAULTS, **(overrides or {})}
    return max(int(t["ib_isolate_min"]), int(ports * t["ib_isolate_share"]))

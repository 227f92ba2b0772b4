"""Judging one InfiniBand link from the evidence of its ends: healthy, degrading, bad cable, bad
port, flapping or congestion — with the lines that led there and what could not be looked at.

The rules follow NVIDIA's guidance (docs/infiniband.md): symbol errors and receive-remote-physical errors
point at the cable; link_downed rising means the link flaps; xmit wait alone is congestion, not a
fault; BER is judged against the thresholds for the link's speed, media and FEC. Precedence when
several hold: flapping, bad cable, bad port, degrading, congestion. Pure functions of their input,
so every verdict is unit-tested without a fabric.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from .counters import PortGrowth, fmt_count
from .diag import IbstatPort, MlxlinkBer
from .thresholds import LONG_WINDOW, SHORT_WINDOW, BerThresholds, CounterRules
from .topology import Endpoint, Link

HEALTHY, DEGRADING, BAD_CABLE, BAD_PORT, FLAPPING, CONGESTION = (
    "healthy",
    "degrading",
    "bad cable",
    "bad port",
    "flapping",
    "congestion",
)
UNKNOWN = "unknown"  # not one source answered for either end: never call that healthy
SEVERITY = {FLAPPING: 4, BAD_CABLE: 4, BAD_PORT: 3, DEGRADING: 2, CONGESTION: 1, HEALTHY: 0, UNKNOWN: 0}
_PORT_ERRORS = (
    "port_errors_received_total",
    "local_link_integrity_errors_total",
    "excessive_buffer_overrun_errors_total",
)


@dataclass
class EndEvidence:
    """What is known about one end; ``*_missing`` says why a source gave nothing."""

    end: Endpoint
    growth: PortGrowth | None = None
    growth_missing: str | None = None
    mlxlink: MlxlinkBer | None = None
    ibstat: IbstatPort | None = None
    ssh_missing: str | None = None


@dataclass
class Verdict:
    link: Link
    kind: str
    evidence: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    suspect: Endpoint | None = None
    magnitude: float = 0.0  # how far past its limit the worst signal is (for ranking)

    @property
    def score(self) -> float:
        return SEVERITY[self.kind] * 1000 + min(999.0, 100 * math.log10(1 + self.magnitude))

    @property
    def is_fault(self) -> bool:
        return self.kind in (FLAPPING, BAD_CABLE, BAD_PORT)


@dataclass
class _Findings:
    cable: list[tuple[Endpoint, float]] = field(default_factory=list)
    degrading: list[Endpoint] = field(default_factory=list)
    downed: list[Endpoint] = field(default_factory=list)
    port: list[tuple[Endpoint, float]] = field(default_factory=list)
    port_down: list[Endpoint] = field(default_factory=list)
    congested: list[tuple[Endpoint, float]] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)


def _counters(e: EndEvidence, rules: CounterRules, f: _Findings) -> None:
    g = e.growth
    if g is None:
        return
    sym_s, sym_l = g.get("symbol_error_total", SHORT_WINDOW), g.get("symbol_error_total", LONG_WINDOW)
    if sym_s > rules.symbol_short or sym_l > rules.symbol_long:
        ratio = max(sym_s / max(rules.symbol_short, 1e-9), sym_l / max(rules.symbol_long, 1e-9))
        f.cable.append((e.end, ratio))
        f.lines.append(
            f"{e.end}: symbol errors +{fmt_count(sym_s)} in 12 min, +{fmt_count(sym_l)} in 125 min "
            f"(limits {rules.symbol_short:.2f} / {rules.symbol_long:.2f}) -> points at the cable"
        )
    elif sym_s > rules.symbol_short / 2 or sym_l > rules.symbol_long / 2:  # UFM's warning: half the error
        f.degrading.append(e.end)
        f.lines.append(
            f"{e.end}: symbol errors +{fmt_count(sym_s)} in 12 min, +{fmt_count(sym_l)} in 125 min "
            f"(below the limits {rules.symbol_short:.2f} / {rules.symbol_long:.2f}) -> degrading"
        )
    rpe = g.get("port_receive_remote_physical_errors_total", LONG_WINDOW)
    if rpe > rules.port_errors:
        f.cable.append((e.end, rpe / rules.port_errors))
        f.lines.append(f"{e.end}: receive remote physical errors +{fmt_count(rpe)} in 125 min -> points at the cable")
    elif rpe > rules.port_errors / 2:
        f.degrading.append(e.end)
        f.lines.append(f"{e.end}: receive remote physical errors +{fmt_count(rpe)} in 125 min")
    downed = g.get("link_downed_total", LONG_WINDOW)
    if downed >= rules.link_downed:
        f.downed.append(e.end)
        recov = g.get("link_error_recovery_total", LONG_WINDOW)
        f.lines.append(
            f"{e.end}: link downed +{fmt_count(downed)} in 125 min "
            f"(+{fmt_count(g.get('link_downed_total', SHORT_WINDOW))} in 12 min), "
            f"link error recovery +{fmt_count(recov)}"
        )
    port_errs = sum(g.get(c, LONG_WINDOW) for c in _PORT_ERRORS)
    if port_errs > rules.port_errors:
        f.port.append((e.end, port_errs / rules.port_errors))
        f.lines.append(
            f"{e.end}: port receive / integrity / overrun errors +{fmt_count(port_errs)} in 125 min "
            f"(limit {rules.port_errors:g})"
        )
    wait_rate = g.get("port_transmit_wait_total", SHORT_WINDOW) / SHORT_WINDOW
    if wait_rate > rules.xmit_wait_per_s:
        f.congested.append((e.end, wait_rate / rules.xmit_wait_per_s))
        f.lines.append(
            f"{e.end}: xmit wait {wait_rate:,.0f}/s over 12 min (limit {rules.xmit_wait_per_s:,.0f}/s) "
            f"-> congestion, not a fault"
        )


def _ber(e: EndEvidence, ber: BerThresholds, f: _Findings) -> None:
    m = e.mlxlink
    if m is None:
        return
    since = f" over {m.minutes_since_clear:.0f} min since the last clear" if m.minutes_since_clear is not None else ""
    for label, value, band in (
        ("effective BER", m.effective_ber, ber.effective),
        ("raw BER", m.raw_ber, ber.raw),
        ("symbol BER", m.symbol_ber, ber.symbol),
    ):
        if value is None:
            continue
        level = band.level(value)
        if level == "error":
            f.cable.append((e.end, value / band.error))
            f.lines.append(
                f"{e.end}: mlxlink {label} {value:.1e}{since} >= error threshold {band.error:.0e} "
                f"({ber.source}) -> points at the cable"
            )
        elif level == "warning":
            f.degrading.append(e.end)
            f.lines.append(
                f"{e.end}: mlxlink {label} {value:.1e}{since} >= warning threshold {band.warning:.0e} ({ber.source})"
            )
    if m.state and m.state.lower() != "active":
        f.port_down.append(e.end)
        f.lines.append(f"{e.end}: mlxlink reports the port {m.state} ({m.physical_state or '?'}) now")


def _state(e: EndEvidence, f: _Findings) -> None:
    if e.ibstat is not None and not e.ibstat.active:
        if e.end not in f.port_down:
            f.port_down.append(e.end)
        f.lines.append(f"{e.end}: ibstat shows the port {e.ibstat.state} / {e.ibstat.physical_state} now")


def judge(link: Link, ends: list[EndEvidence], rules: CounterRules, ber: BerThresholds) -> Verdict:
    f = _Findings()
    missing: list[str] = []
    for e in ends:
        _counters(e, rules, f)
        _ber(e, ber, f)
        _state(e, f)
        if e.growth is None:
            missing.append(f"{e.end}: no counters ({e.growth_missing or 'not collected'})")
        if e.end.is_host and e.mlxlink is None and e.ibstat is None:
            missing.append(f"{e.end}: no mlxlink/ibstat ({e.ssh_missing or 'not run'})")
    have_counters = [e.end for e in ends if e.growth is not None]

    if f.downed:
        # link down is seen by both ends; one end only (while the other end's counters are known) is
        # still a flap, said as such
        on_all = len(f.downed) == len(ends)
        only = "" if on_all or len(have_counters) < len(ends) else " only"
        where = "both ends" if on_all else ", ".join(map(str, f.downed))
        kind, suspect, magnitude = FLAPPING, None, 10.0 * len(f.downed)
        head = f"link downed rising on {where}{only}"
    elif f.cable:
        suspect, magnitude = max(f.cable, key=lambda x: x[1])
        kind, head = BAD_CABLE, f"errors past the limits on {', '.join(sorted({str(e) for e, _ in f.cable}))}"
    elif f.port or f.port_down:
        suspect, magnitude = max(f.port, key=lambda x: x[1]) if f.port else (f.port_down[0], 1.0)
        kind, head = BAD_PORT, f"port errors without physical-layer errors on {suspect}"
    elif f.degrading:
        kind, suspect, magnitude = DEGRADING, f.degrading[0], 1.0
        head = "errors rising but below the limits"
    elif f.congested:
        suspect, magnitude = max(f.congested, key=lambda x: x[1])
        kind, head = CONGESTION, "xmit wait only: congestion, not a fault"
    elif not any(e.growth is not None or e.mlxlink is not None or e.ibstat is not None for e in ends):
        kind, suspect, magnitude, head = UNKNOWN, None, 0.0, "no evidence from either end (see missing)"
    elif any(e.end.is_host and e.growth is None for e in ends):
        # nothing bad in what answered, but a host end's counters (Prometheus) are missing: a clean
        # BER snapshot says nothing about errors rising over the windows, so this is not "healthy"
        kind, suspect, magnitude, head = UNKNOWN, None, 0.0, "no fault seen, but counters missing (see missing)"
    else:
        kind, suspect, magnitude, head = HEALTHY, None, 0.0, "no error counter rising, BER within thresholds"
    return Verdict(
        link=link, kind=kind, evidence=[head] + f.lines, missing=missing, suspect=suspect, magnitude=magnitude
    )

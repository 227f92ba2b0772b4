"""One test per verdict, on hand-made evidence (the lab tests drive the same rules end to end)."""

from __future__ import annotations

from dcops.actions.fabric.counters import PortGrowth
from dcops.actions.fabric.diag import IbstatPort, MlxlinkBer
from dcops.actions.fabric.thresholds import LONG_WINDOW, SHORT_WINDOW, CounterRules, ber_thresholds, isolation_limit
from dcops.actions.fabric.topology import Endpoint, Link
from dcops.actions.fabric.verdict import EndEvidence, judge

A = Endpoint("gpu023", 1, "mlx5_0")
B = Endpoint("gpu024", 1, "mlx5_0")
LINK = Link(a=A, b=B)
RULES = CounterRules.for_link(LINK.bits_per_second)
BER = ber_thresholds("NDR", "DAC")


def growth(short: dict[str, float] | None = None, long: dict[str, float] | None = None) -> PortGrowth:
    return PortGrowth({SHORT_WINDOW: short or {}, LONG_WINDOW: long or short or {}})


def clean_mlxlink() -> MlxlinkBer:
    return MlxlinkBer(state="Active", raw_ber=1e-9, effective_ber=0.0, symbol_ber=0.0, minutes_since_clear=60)


def test_ufm_limits_at_ndr():
    assert round(RULES.symbol_short, 2) == 2.88 and round(RULES.symbol_long, 2) == 3.0
    assert isolation_limit(128) == 10 and isolation_limit(10_000) == 50


def test_healthy():
    v = judge(
        LINK,
        [
            EndEvidence(A, growth({"port_transmit_wait_total": 5000}), mlxlink=clean_mlxlink()),
            EndEvidence(B, growth(), mlxlink=clean_mlxlink()),
        ],
        RULES,
        BER,
    )
    assert v.kind == "healthy" and not v.missing and v.suspect is None


def test_rising_symbol_errors_on_one_end_is_a_bad_cable():
    v = judge(LINK, [EndEvidence(A, growth({"symbol_error_total": 500})), EndEvidence(B, growth())], RULES, BER)
    assert v.kind == "bad cable" and v.suspect == A and v.is_fault
    assert any("symbol errors +500 in 12 min" in line for line in v.evidence)


def test_raw_ber_past_the_ndr_copper_error_threshold_is_a_bad_cable():
    bad = MlxlinkBer(state="Active", raw_ber=2.4e-6, effective_ber=0.0)
    v = judge(
        LINK, [EndEvidence(A, growth(), mlxlink=clean_mlxlink()), EndEvidence(B, growth(), mlxlink=bad)], RULES, BER
    )
    assert v.kind == "bad cable" and v.suspect == B
    assert any("raw BER 2.4e-06" in line and "NDR copper" in line for line in v.evidence)


def test_the_same_raw_ber_on_optics_is_only_a_warning():
    ber = ber_thresholds("NDR", "optical")
    m = MlxlinkBer(raw_ber=2.4e-6)
    v = judge(LINK, [EndEvidence(A, growth(), mlxlink=m), EndEvidence(B, growth())], RULES, ber)
    assert v.kind == "healthy" and ber.raw.level(2.4e-6) == "normal"
    assert ber_thresholds("NDR", "AOC").raw.level(6e-6) == "warning"


def test_no_fec_judges_raw_ber_as_effective():
    assert ber_thresholds("EDR", "DAC", "No-FEC").raw.error == 1e-12
    assert ber_thresholds("HDR", "DAC", "No_FEC").raw.error == 1e-13
    assert ber_thresholds("XDR", "DAC").source.startswith("IB spec")


def test_link_downed_on_both_ends_is_flapping():
    flap = {"link_downed_total": 3, "link_error_recovery_total": 9}
    v = judge(LINK, [EndEvidence(A, growth(flap)), EndEvidence(B, growth(flap))], RULES, BER)
    assert v.kind == "flapping" and "both ends" in v.evidence[0]


def test_flapping_outranks_the_symbol_errors_that_come_with_it():
    v = judge(
        LINK,
        [
            EndEvidence(A, growth({"link_downed_total": 2, "symbol_error_total": 90})),
            EndEvidence(B, growth({"link_downed_total": 2})),
        ],
        RULES,
        BER,
    )
    assert v.kind == "flapping" and any("symbol errors" in line for line in v.evidence)


def test_xmit_wait_only_is_congestion_not_a_fault():
    v = judge(LINK, [EndEvidence(A, growth({"port_transmit_wait_total": 2e9})), EndEvidence(B, growth())], RULES, BER)
    assert v.kind == "congestion" and not v.is_fault and v.suspect == A


def test_port_errors_without_physical_errors_is_a_bad_port():
    v = judge(
        LINK,
        [EndEvidence(A, growth(long={"local_link_integrity_errors_total": 40})), EndEvidence(B, growth())],
        RULES,
        BER,
    )
    assert v.kind == "bad port" and v.suspect == A


def test_a_port_that_is_down_now_is_a_bad_port():
    down = IbstatPort("mlx5_0", 1, state="Down", physical_state="Polling")
    v = judge(LINK, [EndEvidence(A, growth(), ibstat=down), EndEvidence(B, growth())], RULES, BER)
    assert v.kind == "bad port" and any("ibstat shows the port Down / Polling" in line for line in v.evidence)


def test_small_symbol_error_growth_is_degrading():
    v = judge(LINK, [EndEvidence(A, growth(long={"symbol_error_total": 2})), EndEvidence(B, growth())], RULES, BER)
    assert v.kind == "degrading"


def test_missing_sources_are_named_and_the_verdict_uses_what_is_there():
    v = judge(
        LINK,
        [
            EndEvidence(A, growth({"symbol_error_total": 500})),
            EndEvidence(B, growth_missing="no Prometheus series", ssh_missing="ssh: connection refused"),
        ],
        RULES,
        BER,
    )
    assert v.kind == "bad cable"
    assert "gpu024:mlx5_0:1: no counters (no Prometheus series)" in v.missing
    assert any("connection refused" in m for m in v.missing)


def test_ranking_puts_faults_first():
    bad = judge(LINK, [EndEvidence(A, growth({"symbol_error_total": 5000})), EndEvidence(B, growth())], RULES, BER)
    worse = judge(LINK, [EndEvidence(A, growth({"symbol_error_total": 50000})), EndEvidence(B, growth())], RULES, BER)
    busy = judge(
        LINK, [EndEvidence(A, growth({"port_transmit_wait_total": 2e9})), EndEvidence(B, growth())], RULES, BER
    )
    assert worse.score > bad.score > busy.score


def test_no_evidence_at_all_is_unknown_not_healthy():
    v = judge(
        LINK,
        [
            EndEvidence(A, growth_missing="no series", ssh_missing="ssh: timeout"),
            EndEvidence(B, growth_missing="no series", ssh_missing="ssh: timeout"),
        ],
        RULES,
        BER,
    )
    assert v.kind == "unknown" and len(v.missing) == 4 and not v.is_fault

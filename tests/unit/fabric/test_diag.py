from __future__ import annotations

import pytest

from dcops.actions.fabric.diag import parse_ber, parse_ibstat, parse_mlxlink

MLXLINK = """
Operational Info
----------------
State                              : \x1b[32mActive\x1b[0m
Physical state                     : LinkUp
Speed                              : IB-NDR
Width                              : 4x
FEC                                : Standard_RS-FEC - (544,514)

Physical Counters and BER Info
------------------------------
Time Since Last Clear [Min]        : 393.7
Symbol Errors                      : 1234
Symbol BER                         : 3E-13
Effective Physical Errors          : 1234
Effective Physical BER             : 3E-13
Raw Physical Errors Per Lane       : 42,18,9,11
Raw Physical BER                   : 2E-6
Link Down Counter                  : 2
Link Error Recovery Counter        : 5
"""

IBSTAT = """CA 'mlx5_0'
\tCA type: MT4129
\tNumber of ports: 1
\tFirmware version: 28.39.1002
\tPort 1:
\t\tState: Active
\t\tPhysical state: LinkUp
\t\tRate: 400
\t\tLink layer: InfiniBand
CA 'mlx5_1'
\tCA type: MT4129
\tPort 1:
\t\tState: Down
\t\tPhysical state: Polling
\t\tRate: 10
"""


@pytest.mark.parametrize(
    "text, value", [("2E-6", 2e-6), ("15E-255", 0.0), ("1.5E-12", 1.5e-12), ("0", 0.0), ("N/A", None)]
)
def test_ber_notation(text, value):
    assert parse_ber(text) == value


def test_mlxlink_show_ber():
    m = parse_mlxlink(MLXLINK)
    assert (m.state, m.physical_state, m.speed, m.width) == ("Active", "LinkUp", "IB-NDR", "4x")
    assert m.fec.startswith("Standard_RS-FEC") and m.minutes_since_clear == 393.7
    assert (m.symbol_errors, m.symbol_ber, m.effective_ber, m.raw_ber) == (1234, 3e-13, 3e-13, 2e-6)
    assert m.raw_errors_per_lane == (42, 18, 9, 11) and (m.link_down, m.link_error_recovery) == (2, 5)


def test_mlxlink_without_counters_leaves_fields_missing():
    m = parse_mlxlink("Operational Info\nState : Active\n")
    assert m.state == "Active" and m.raw_ber is None and m.symbol_errors is None


def test_ibstat_ports():
    ports = parse_ibstat(IBSTAT)
    assert ports[("mlx5_0", 1)].active and ports[("mlx5_0", 1)].rate == "400"
    down = ports[("mlx5_1", 1)]
    assert not down.active and (down.state, down.physical_state) == ("Down", "Polling")

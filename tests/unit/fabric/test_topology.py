from __future__ import annotations

import pytest

from dcops.actions.errors import ConfigError, UsageError
from dcops.actions.fabric.ibnetdiscover import parse as parse_ibnetdiscover
from dcops.actions.fabric.topology import Endpoint, Topology

TEXT = """
# two cables
gpu023:mlx5_0:1  <->  ibsw-r03-a:7   speed=NDR width=4x media=DAC length_m=2
gpu023:mlx5_1:1  <->  gpu024:mlx5_1:1  speed=HDR media=optical   # back to back
ibsw-r03-a:33    <->  ibsw-s01:3
"""


def test_parse_and_select_ports():
    topo = Topology.from_text(TEXT)
    assert len(topo.links) == 3
    found = topo.select("gpu023")
    assert [str(e) for e, _ in found] == ["gpu023:mlx5_0:1", "gpu023:mlx5_1:1"]
    ((end, link),) = topo.select("gpu023:mlx5_0:1")
    assert str(link.other(end)) == "ibsw-r03-a:7" and link.length_m == 2 and link.bits_per_second == 400e9
    ((_, hdr),) = topo.select("gpu024:mlx5_1")
    assert hdr.speed == "HDR" and hdr.host_nodes == ["gpu023", "gpu024"] and hdr.bits_per_second == 200e9
    assert topo.link_of(Endpoint("ibsw-s01", 3)).media == "DAC"  # defaults


def test_round_trip_through_text():
    topo = Topology.from_text(TEXT)
    again = Topology.from_text(topo.to_text())
    assert again.links == topo.links


@pytest.mark.parametrize(
    "line, message",
    [
        ("gpu001:mlx5_0:1 ibsw:1", "expected 'ENDPOINT <-> ENDPOINT"),
        ("gpu001:mlx5_0:x <-> ibsw:1", "not an endpoint"),
        ("gpu001:mlx5_0:1 <-> ibsw:1 speed=ZDR", "unknown speed"),
        ("gpu001:mlx5_0:1 <-> ibsw:1 colour=red", "unknown attribute 'colour'"),
        ("gpu001:mlx5_0:1 <-> ibsw:1 media", "expected key=value"),
    ],
)
def test_bad_lines_name_file_and_line(line, message):
    with pytest.raises(ConfigError, match=rf"^topo.txt:2: .*{message}"):
        Topology.from_text("# header\n" + line, source="topo.txt")


def test_a_port_cabled_twice_is_refused():
    with pytest.raises(ConfigError, match="cabled twice"):
        Topology.from_text("a:mlx5_0:1 <-> sw:1\nb:mlx5_0:1 <-> sw:1")


def test_unknown_port_lists_what_the_node_has():
    topo = Topology.from_text(TEXT)
    with pytest.raises(UsageError, match="gpu023 has gpu023:mlx5_0:1, gpu023:mlx5_1:1"):
        topo.select("gpu023:mlx5_7")
    with pytest.raises(UsageError, match="no cabled HCA port of 'gpu999'"):
        topo.select("gpu999")
    with pytest.raises(UsageError, match="is not a port"):
        topo.select("gpu023:mlx5_0:one")


def test_simulator_style_dicts():
    topo = Topology.from_dicts(
        [{"a": "gpu001:mlx5_0:1", "b": "ibsw-r01-a:1", "speed": "NDR", "media": "DAC", "rate_gbps": 400, "length_m": 2}]
    )
    assert str(topo.links[0]) == "gpu001:mlx5_0:1 <-> ibsw-r01-a:1"


IBNET = """
#
# Topology file: generated on Sun Nov 29 05:00:00 2026
#
vendid=0x2c9
devid=0xd2f0
sysimgguid=0x946dae0300a1b200
switchguid=0x946dae0300a1b200(946dae0300a1b200)
Switch\t48 "S-946dae0300a1b200"\t\t# "MF0;ibsw-r03-a:MQM9700/U1" enhanced port 0 lid 3 lmc 0
[7]\t"H-946dae0300c0ffee"[1](946dae0300c0ffef) \t\t# "gpu023 mlx5_0" lid 47 4xNDR
[33]\t"S-946dae0300b00000"[3]\t\t# "MF0;ibsw-s01:MQM9700/U1" lid 5 4xNDR

vendid=0x2c9
devid=0xd2f0
switchguid=0x946dae0300b00000(946dae0300b00000)
Switch\t64 "S-946dae0300b00000"\t\t# "MF0;ibsw-s01:MQM9700/U1" enhanced port 0 lid 5 lmc 0
[3]\t"S-946dae0300a1b200"[33]\t\t# "MF0;ibsw-r03-a:MQM9700/U1" lid 3 4xNDR

vendid=0x2c9
devid=0x1021
caguid=0x946dae0300c0ffee
Ca\t1 "H-946dae0300c0ffee"\t\t# "gpu023 mlx5_0"
[1](946dae0300c0ffef) \t"S-946dae0300a1b200"[7]\t\t# lid 47 lmc 0 "MF0;ibsw-r03-a:MQM9700/U1" lid 3 4xHDR
"""


def test_ibnetdiscover_output_becomes_a_topology():
    topo = parse_ibnetdiscover(IBNET)
    assert sorted(str(l) for l in topo.links) == ["gpu023:mlx5_0:1 <-> ibsw-r03-a:7", "ibsw-r03-a:33 <-> ibsw-s01:3"]
    ((_, link),) = topo.select("gpu023:mlx5_0:1")
    assert link.speed == "NDR" and link.width == "4x"
    assert Topology.from_text(topo.to_text()).links == topo.links


def test_ibnetdiscover_garbage_names_the_line():
    with pytest.raises(ValueError, match="line 2: not ibnetdiscover output"):
        parse_ibnetdiscover('Switch 1 "S-1" # "x"\nhello world')

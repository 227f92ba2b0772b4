"""Next actions offered for each verdict: commands in the shared grammar, only where they help."""

from __future__ import annotations

from dcops.actions import load_actions, parse_command
from dcops.actions.fabric.topology import Endpoint, Link
from dcops.actions.fabric.triage import _plan
from dcops.actions.fabric.verdict import Verdict

HOST_A, HOST_B, SWITCH = Endpoint("gpu003", 1, "mlx5_0"), Endpoint("gpu004", 1, "mlx5_0"), Endpoint("leaf01", 3)


def test_bad_cable_between_hosts_drains_both_and_resets_both_after_a_reseat():
    steps, cmds = _plan(Verdict(Link(HOST_A, HOST_B), "bad cable", ["x"]), {"gpu003": ["17"], "gpu004": []})
    assert steps[0] == "drain both ends (1 running job(s) finish first)"
    assert cmds == [
        'drain gpu[003-004] --reason "triage-cable: bad cable gpu003:mlx5_0:1 <-> gpu004:mlx5_0:1"',
        "reset-counters gpu003 --device mlx5_0 --port 1",
        "reset-counters gpu004 --device mlx5_0 --port 1",
    ]
    load_actions()
    assert [parse_command(c).action for c in cmds] == ["drain", "reset-counters", "reset-counters"]


def test_bad_port_touches_only_the_suspect():
    _, cmds = _plan(Verdict(Link(HOST_A, HOST_B), "bad port", ["x"], suspect=HOST_B), {})
    assert cmds == [
        'drain gpu004 --reason "triage-cable: bad port gpu004:mlx5_0:1"',
        "reset-counters gpu004 --device mlx5_0 --port 1",
    ]
    steps, cmds = _plan(Verdict(Link(HOST_A, SWITCH), "bad port", ["x"], suspect=SWITCH), {})
    assert cmds == [] and "leaf01:3" in steps[0]


def test_congestion_and_health_offer_nothing_to_run():
    for kind in ("congestion", "healthy", "unknown"):
        assert _plan(Verdict(Link(HOST_A, SWITCH), kind, ["x"]), {}) == ([], [])
    steps, cmds = _plan(Verdict(Link(HOST_A, SWITCH), "degrading", ["x"]), {})
    assert cmds == [] and steps[0].startswith("no drain yet")

"""The fleet's shard selectors split a large fleet's PromQL answers by the last character of a name;
every name must fall in exactly one shard, or a node would show twice or never. Prometheus anchors
regexes at both ends (RE2), as `re.fullmatch` does."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from dcops.actions.ops.fleet import _INSTANCE_SHARDS, _NAME_SHARDS, _SHARD_FROM, _selectors

NAMES = ["gpu00001", "gpu00010", "dgx-h100-01", "n01-ib", "rack1-gpu01", "cn9", "cn011", "login", "", "a.b", "x_"]
INSTANCES = [
    "gpu001.dc1.example.com:9100",
    "10.9.8.7:9100",
    "gpu001",
    "gpu001:9100",
    "node-a.lab",
    "[fe80::1]:9100",
    ":9100",
    "",
    "n01-ib.cluster:9100",
    "host",
]


def shards_matching(patterns: list[str], text: str) -> int:
    return sum(1 for p in patterns if re.fullmatch(p, text, re.S))


def test_every_name_and_instance_falls_in_exactly_one_shard() -> None:
    for name in NAMES:
        assert shards_matching(_NAME_SHARDS, name) == 1, name
    for inst in INSTANCES:
        assert shards_matching(_INSTANCE_SHARDS, inst) == 1, inst


@given(st.text(max_size=30))
def test_any_text_falls_in_exactly_one_shard(text: str) -> None:
    assert shards_matching(_NAME_SHARDS, text) == 1
    assert shards_matching(_INSTANCE_SHARDS, text) == 1


def test_a_small_fleet_sends_one_query_a_large_one_a_selector_per_shard() -> None:
    assert _selectors("Hostname", _NAME_SHARDS, _SHARD_FROM - 1) == [""]
    big = _selectors("Hostname", _NAME_SHARDS, _SHARD_FROM)
    assert len(big) == len(_NAME_SHARDS) == 11
    assert big[0] == '{Hostname=~".*0"}'

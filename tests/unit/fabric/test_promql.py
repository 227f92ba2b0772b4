"""Escaping of user-typed label values into PromQL, checked against Prometheus' own parser rules
(via the promql-parser package the simulator uses) and against a regex engine."""

from __future__ import annotations

import re

import promql_parser
from hypothesis import given
from hypothesis import strategies as st

from dcops.actions.fabric.counters import node_of_instance
from dcops.actions.metrics.promql import AnyOf, quote, regex_literal, selector


@given(st.text(max_size=40))
def test_any_string_round_trips_through_a_label_matcher(value):
    expr = promql_parser.parse(selector("up", {"instance": value}))
    (matcher,) = [m for m in expr.matchers.matchers if m.name == "instance"]
    assert matcher.value == value


@given(
    st.lists(
        st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=12), min_size=1, max_size=4
    )
)
def test_regex_alternatives_match_only_themselves(values):
    pattern = "(" + "|".join(regex_literal(v) for v in values) + ")"
    for v in values:
        assert re.fullmatch(pattern, v)
    assert not re.fullmatch(pattern, values[0] + "x")


def test_injection_attempt_stays_inside_the_string():
    q = selector("up", {"instance": 'a"} or vector(1) #'})
    assert q == 'up{instance="a\\"} or vector(1) #"}'
    assert type(promql_parser.parse(q)).__name__ == "VectorSelector"


def test_node_alternatives_allow_a_port_or_domain():
    q = selector("node_infiniband_symbol_error_total", {"instance": AnyOf.of(["gpu001", "gpu.2"], r"([.:].*)?")})
    assert q == 'node_infiniband_symbol_error_total{instance=~"(gpu001|gpu\\\\.2)([.:].*)?"}'
    assert quote("a\nb") == '"a\\nb"'


def test_instance_to_node():
    assert node_of_instance("gpu001:9100") == "gpu001"
    assert node_of_instance("gpu001.cluster.local:9100") == "gpu001"
    assert node_of_instance("gpu001") == "gpu001"
    assert node_of_instance("10.0.0.5:9100", {"10.0.0.5:9100": "gpu005"}) == "gpu005"

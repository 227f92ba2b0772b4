"""The PromQL evaluator against a tiny hand-made source, so expected values are exact."""

from __future__ import annotations

import math
from collections.abc import Sequence

import pytest

from dcops.actions.errors import UsageError
from dcops.actions.sim.promql import Evaluator, LabelMatcher, parse

STEP = 15.0


class FakeSource:
    """Two counters growing 2/s and 5/s (one reset at t=600), and a gauge per GPU."""

    scrape_interval = STEP

    def __init__(self) -> None:
        self.series = [
            ({"__name__": "errs_total", "host": "a", "dev": "0"}, lambda t: 2.0 * t),
            ({"__name__": "errs_total", "host": "a", "dev": "1"}, lambda t: 5.0 * (t - 600 if t >= 600 else t)),
            ({"__name__": "errs_total", "host": "b", "dev": "0"}, lambda t: 0.0),
            ({"__name__": "temp", "host": "a", "gpu": "0"}, lambda t: 60.0),
            ({"__name__": "temp", "host": "a", "gpu": "1"}, lambda t: 70.0),
            ({"__name__": "temp", "host": "b", "gpu": "0"}, lambda t: 40.0),
            ({"__name__": "cap", "host": "a"}, lambda t: 100.0),
            ({"__name__": "cap", "host": "b"}, lambda t: 50.0),
        ]

    def select(self, matchers: Sequence[LabelMatcher]):
        return [(labels, fn) for labels, fn in self.series if all(m.matches(labels) for m in matchers)]


def q(query: str, t: float = 900.0):
    result = Evaluator(FakeSource()).instant(parse(query), t)
    if isinstance(result, float):
        return result
    return sorted(((tuple(sorted(labels.items())), round(v, 6)) for labels, v in result))


def values(query: str, t: float = 900.0) -> list[float]:
    return sorted(v for _, v in q(query, t))


def test_selectors_and_matchers() -> None:
    assert values('temp{host="a"}') == [60.0, 70.0]
    assert values('temp{host!="a"}') == [40.0]
    assert values('temp{gpu=~"0|1", host=~"a"}') == [60.0, 70.0]
    assert values('temp{gpu!~"1"}') == [40.0, 60.0]
    assert values('{__name__=~"te.*"}') == [40.0, 60.0, 70.0]
    assert q("nosuch_metric") == []


def test_rate_over_counters_handles_resets() -> None:
    rates = dict(q('rate(errs_total{host="a"}[5m])'))
    assert rates[(("dev", "0"), ("host", "a"))] == pytest.approx(2.0)
    assert rates[(("dev", "1"), ("host", "a"))] == pytest.approx(5.0)
    across_reset = dict(q('rate(errs_total{dev="1"}[5m])', t=700.0))
    assert across_reset[(("dev", "1"), ("host", "a"))] == pytest.approx(5.0, rel=0.35)
    assert values('increase(errs_total{dev="0", host="a"}[10m])') == [pytest.approx(1200.0)]
    assert values('irate(errs_total{dev="0", host="a"}[1m])') == [pytest.approx(2.0)]
    assert values('delta(temp{gpu="1"}[5m])') == [0.0]


def test_offset_looks_back() -> None:
    assert values('errs_total{dev="0", host="a"} offset 5m') == [1200.0]
    assert values('rate(errs_total{dev="0", host="a"}[5m] offset 10m)') == [pytest.approx(2.0)]


def test_over_time_functions() -> None:
    assert values('max_over_time(errs_total{dev="0", host="a"}[1m])') == [1800.0]
    assert values('avg_over_time(temp{host="b"}[5m])') == [40.0]


def test_aggregations() -> None:
    assert values("sum(temp)") == [170.0]
    assert q("sum by (host) (temp)") == [((("host", "a"),), 130.0), ((("host", "b"),), 40.0)]
    assert q("max without (gpu) (temp)") == [((("host", "a"),), 70.0), ((("host", "b"),), 40.0)]
    assert values("avg(temp)") == [pytest.approx(170 / 3)]
    assert values("min(temp)") == [40.0]
    assert values("count(temp)") == [3.0]
    top = Evaluator(FakeSource()).instant(parse("topk(1, temp)"), 900.0)
    assert [(labels["gpu"], labels["host"], v) for labels, v in top] == [("1", "a", 70.0)]
    assert values("bottomk(2, temp)") == [40.0, 60.0]


def test_scalar_and_comparison_operators() -> None:
    assert q("1 + 2 * 3") == 7.0
    assert q("(1 + 2) * 3") == 9.0
    assert q("2 > bool 1") == 1.0
    assert values("temp > 50") == [60.0, 70.0]
    assert values("temp > bool 50") == [0.0, 1.0, 1.0]
    assert values("temp / 10") == [4.0, 6.0, 7.0]
    assert values("100 - temp") == [30.0, 40.0, 60.0]
    assert values("-temp") == [-70.0, -60.0, -40.0]
    kept = q("temp >= 60")
    assert all(dict(labels)["__name__"] == "temp" for labels, _ in kept), "a filter keeps the metric name"


def test_vector_matching() -> None:
    ratio = q("sum by (host) (temp) / on(host) cap")
    assert ratio == [((("host", "a"),), 1.3), ((("host", "b"),), 0.8)]
    per_gpu = q("temp / on(host) group_left cap")
    assert sorted(v for _, v in per_gpu) == [0.6, 0.7, 0.8]
    ignoring = q('errs_total{dev="0"} - ignoring(dev) errs_total{dev="0"}')
    assert [v for _, v in ignoring] == [0.0, 0.0]
    assert values("temp and on(host) cap > 60") == [60.0, 70.0]
    assert values("temp unless on(host) cap > 60") == [40.0]
    with pytest.raises(UsageError, match="duplicate series"):
        q("cap / on(host) temp")


def test_bad_promql_is_a_one_line_bad_data_error() -> None:
    for bad in ("sum(", "rate(temp)", "temp{", "temp[5m", "1 +", "nosuch_fn(temp)"):
        with pytest.raises(UsageError) as info:
            parse(bad)
        message = str(info.value)
        assert message.startswith("bad_data: parse error") and "\n" not in message, message
    with pytest.raises(UsageError, match="not supported"):
        q("label_join(temp, 'x', ',', 'host')")
    with pytest.raises(UsageError, match="range vector"):
        q("temp[5m]")
    with pytest.raises(UsageError, match="subqueries"):
        q("rate(errs_total[5m])[30m:1m]")


def test_range_query_evaluates_every_step() -> None:
    series = Evaluator(FakeSource()).range(parse('rate(errs_total{dev="0", host="a"}[1m])'), 600.0, 900.0, 60.0)
    assert len(series) == 1
    labels, points = series[0]
    assert labels == {"dev": "0", "host": "a"}
    assert [t for t, _ in points] == [600.0, 660.0, 720.0, 780.0, 840.0, 900.0]
    assert all(math.isclose(v, 2.0) for _, v in points)
    with pytest.raises(UsageError, match="11,000"):
        Evaluator(FakeSource()).range(parse("temp"), 0.0, 1e6, 1.0)

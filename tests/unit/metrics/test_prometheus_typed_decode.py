"""The adapter's typed decode (pydantic-core parses a vector or matrix answer straight into floats)
gives exactly what the generic path gives, including Prometheus' special values, and anything of
another shape still goes the generic way (which names what is wrong)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from dcops.actions.backends import prometheus
from dcops.actions.backends.prometheus import PrometheusAdapter
from dcops.actions.errors import BackendError

VECTOR = {
    "status": "success",
    "data": {
        "resultType": "vector",
        "result": [
            {"metric": {"Hostname": "gpu001", "gpu": "0"}, "value": [1733300000.5, "37.5"]},
            {"metric": {"Hostname": "gpu002"}, "value": [1733300000.5, "NaN"]},
            {"metric": {"Hostname": "gpu003"}, "value": [1733300000, "+Inf"]},
            {"metric": {}, "value": [1733300000, "-Inf"]},
            {"metric": {"Hostname": "gpu004"}, "value": [1733300000, "1e3"]},
        ],
    },
}
MATRIX = {
    "status": "success",
    "data": {
        "resultType": "matrix",
        "result": [
            {"metric": {"Hostname": "gpu001"}, "values": [[1733300000, "1"], [1733300240, "2.5"]]},
            {"metric": {"Hostname": "gpu002"}, "values": [[1733300000, "NaN"]]},
            {"metric": {"Hostname": "gpu003"}, "values": []},
        ],
    },
}


def adapter(body: dict) -> PrometheusAdapter:
    return PrometheusAdapter(
        "http://prom.test:9090", timeout=2, transport=httpx.MockTransport(lambda req: httpx.Response(200, json=body))
    )


def same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


async def both_ways(monkeypatch, call):  # noqa: ANN001, ANN201
    typed = await call()
    monkeypatch.setattr(prometheus, "_typed", lambda *a: None)  # force the generic path
    generic = await call()
    return typed, generic


async def test_vector_typed_equals_generic(monkeypatch) -> None:
    prom = adapter(VECTOR)
    typed, generic = await both_ways(monkeypatch, lambda: prom.query("x"))
    assert [s.labels for s in typed] == [s.labels for s in generic] == [r["metric"] for r in VECTOR["data"]["result"]]
    assert all(same(a.value, b.value) and a.timestamp == b.timestamp for a, b in zip(typed, generic, strict=True))
    assert typed[0].value == 37.5 and math.isnan(typed[1].value) and typed[2].value == math.inf
    assert typed[3].value == -math.inf and typed[4].value == 1000.0
    assert all(isinstance(s.value, float) and isinstance(s.timestamp, float) for s in typed)


async def test_matrix_typed_equals_generic(monkeypatch) -> None:
    prom = adapter(MATRIX)
    end = datetime(2026, 12, 4, tzinfo=UTC)
    typed, generic = await both_ways(monkeypatch, lambda: prom.query_range("x", end - timedelta(minutes=4), end, 240))
    assert [s.labels for s in typed] == [s.labels for s in generic]
    assert [len(s.points) for s in typed] == [2, 1, 0]
    assert typed[0].points == ((1733300000.0, 1.0), (1733300240.0, 2.5)) == generic[0].points
    assert isinstance(typed[0].points, tuple) and math.isnan(typed[1].points[0][1])


async def test_other_shapes_take_the_generic_path() -> None:
    scalar = {"status": "success", "data": {"resultType": "scalar", "result": [1733300000, "4"]}}
    assert [s.value for s in await adapter(scalar).query("4")] == [4.0]
    # a label value that is not a string is not silently accepted by the typed parse
    odd = {"status": "success", "data": {"resultType": "vector", "result": [{"metric": {"a": 1}, "value": [1, "2"]}]}}
    assert prometheus._typed(httpx.Response(200, json=odd), prometheus._VECTOR, "vector") is None
    assert prometheus._typed(httpx.Response(200, json=VECTOR), prometheus._VECTOR, "vector") is not None
    assert prometheus._typed(httpx.Response(400, json=VECTOR), prometheus._VECTOR, "vector") is None
    assert prometheus._typed(httpx.Response(200, json=VECTOR), prometheus._MATRIX, "matrix") is None
    # a range query answered with a vector is refused by name
    with pytest.raises(BackendError, match="answered a range query with 'vector'"):
        await adapter(VECTOR).query_range("x", datetime.now(UTC) - timedelta(minutes=4), datetime.now(UTC), 240)

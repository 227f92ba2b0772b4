"""The adapter's mapping of Prometheus answers to one-line errors, for answers the lab's real
Prometheus cannot be made to give on demand (a proxy's HTML 502, a query timeout, odd result
types). The real-server behaviour is tested in tests/integration/metrics."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import httpx
import pytest

from dcops.actions.backends.prometheus import PrometheusAdapter
from dcops.actions.errors import BackendError, UsageError


def adapter(handler) -> PrometheusAdapter:
    return PrometheusAdapter("http://prom.test:9090/", timeout=2, transport=httpx.MockTransport(handler))


async def test_a_proxy_error_page_is_one_line_with_the_status():
    prom = adapter(lambda req: httpx.Response(502, text="<html>\n<h1>502 Bad Gateway</h1>\n</html>"))
    with pytest.raises(BackendError, match=r"^prometheus at http://prom.test:9090 answered HTTP 502: <html>$"):
        await prom.query("up")


async def test_query_timeout_on_the_server():
    body = {"status": "error", "errorType": "timeout", "error": "query timed out in expression evaluation"}
    prom = adapter(lambda req: httpx.Response(503, json=body))
    with pytest.raises(BackendError, match="gave up on the query: query timed out"):
        await prom.query("up")


async def test_execution_errors_are_the_users_query():
    body = {"status": "error", "errorType": "execution", "error": "found duplicate series for the match group"}
    prom = adapter(lambda req: httpx.Response(422, json=body))
    with pytest.raises(UsageError, match="^prometheus rejected the query: found duplicate series"):
        await prom.query("a * on(x) b")


async def test_params_sent_and_special_values_read():
    seen = {}

    def handler(req: httpx.Request) -> httpx.Response:
        seen.update(req.url.params)
        return httpx.Response(
            200,
            json={
                "status": "success",
                "data": {
                    "resultType": "vector",
                    "result": [
                        {"metric": {"gpu": "0"}, "value": [1700000000.5, "NaN"]},
                        {"metric": {"gpu": "1"}, "value": [1700000000.5, "+Inf"]},
                    ],
                },
            },
        )

    prom = adapter(handler)
    samples = await prom.query('up{job="x"}', at=datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC))
    assert seen == {"query": 'up{job="x"}', "timeout": "2s", "time": "1700000000.000"}
    assert math.isnan(samples[0].value) and samples[1].value == math.inf


async def test_string_results_keep_their_text():
    prom = adapter(
        lambda req: httpx.Response(
            200, json={"status": "success", "data": {"resultType": "string", "result": [1.0, "hi"]}}
        )
    )
    (s,) = await prom.query('"hi"')
    assert s.labels == {"string": "hi"} and math.isnan(s.value)


async def test_range_query_bounds_are_checked_before_asking():
    prom = adapter(lambda req: pytest.fail("no request expected"))
    t = datetime(2026, 1, 1, tzinfo=UTC)
    with pytest.raises(UsageError, match="step must be positive"):
        await prom.query_range("up", t, t, 0)
    with pytest.raises(UsageError, match="end is before its start"):
        await prom.query_range("up", t, t.replace(year=2025), 60)

"""The Prometheus adapter against the lab's real Prometheus: instant and range queries, the
server's own message for bad PromQL, clear errors when the server is down or silent, and label
values escaped so user input cannot change a query."""

from __future__ import annotations

import asyncio
import socket
from datetime import UTC, datetime, timedelta

import pytest

from dcops.actions.backends.prometheus import PrometheusAdapter
from dcops.actions.errors import BackendError, BackendUnavailable, UsageError
from dcops.actions.metrics.promql import AnyOf, selector

pytestmark = pytest.mark.lab


async def test_instant_query_returns_one_sample_per_gpu(prom):
    samples = await prom.query(selector("DCGM_FI_DEV_GPU_TEMP", {"Hostname": "gpu001"}))
    assert sorted(int(s.labels["gpu"]) for s in samples) == list(range(8))
    assert all(20 <= s.value <= 100 and s.labels["modelName"].startswith("NVIDIA H100") for s in samples)


async def test_range_query_sees_backfilled_hours(prom):
    end = datetime.now(UTC)
    series = await prom.query_range(
        selector("node_infiniband_port_transmit_wait_total", {"instance": "gpu002", "device": "mlx5_0"}),
        end - timedelta(hours=3),
        end,
        60,
    )
    assert len(series) == 1
    points = series[0].points
    assert len(points) >= 170  # 3 h at 1 min, history + live
    assert points[0][0] <= end.timestamp() - 2.9 * 3600
    values = [v for _, v in points]
    assert values == sorted(values) and values[-1] > values[0]  # one counter, no reset at the seam


async def test_scalar_and_range_selector_results(prom):
    (two,) = await prom.query("1 + 1")
    assert two.value == 2 and two.labels == {}
    raw = await prom.query('node_infiniband_state_id{instance="gpu003",device="mlx5_0"}[10m]')
    assert len(raw) >= 9 and {s.labels["instance"] for s in raw} == {"gpu003"}  # backfilled at 1/min


async def test_bad_promql_gives_the_servers_message(prom):
    with pytest.raises(UsageError) as err:
        await prom.query("sum(rate(node_infiniband_symbol_error_total[5m])")
    msg = str(err.value)
    assert "prometheus rejected the query" in msg and "parse error" in msg and "\n" not in msg


async def test_too_many_points_is_refused_before_asking(prom):
    end = datetime.now(UTC)
    with pytest.raises(UsageError, match="larger --step"):
        await prom.query_range("up", end - timedelta(days=1), end, 1)


async def test_server_down_is_one_clear_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    adapter = PrometheusAdapter(f"http://127.0.0.1:{port}", timeout=3)
    try:
        with pytest.raises(
            BackendUnavailable, match=rf"prometheus at http://127.0.0.1:{port} is not reachable: connection refused"
        ):
            await adapter.query("up")
    finally:
        await adapter.aclose()


async def test_silent_server_hits_the_timeout():
    async def never_answer(reader, writer):
        await asyncio.sleep(30)

    server = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    adapter = PrometheusAdapter(f"http://127.0.0.1:{port}", timeout=0.5)
    try:
        with pytest.raises(BackendError, match=r"did not answer within 0.5s"):
            await adapter.query("up")
    finally:
        await adapter.aclose()
        server.close()


async def test_quotes_in_a_label_value_cannot_inject(prom):
    evil = 'gpu001"} or vector(1) #'
    assert await prom.query(selector("up", {"instance": evil})) == []
    assert len(await prom.query(selector("up", {"instance": "gpu001", "job": "node"}))) == 1


async def test_regex_matchers_match_literally(prom):
    literal_dot = await prom.query(selector("up", {"job": "node", "instance": AnyOf.of(["gpu00."])}))
    assert literal_dot == []  # "." is not a wildcard
    both = await prom.query(selector("up", {"job": "node", "instance": AnyOf.of(["gpu001", "gpu064"])}))
    assert sorted(s.labels["instance"] for s in both) == ["gpu001", "gpu064"]


async def test_sysfs_counters_reach_prometheus_through_node_exporter(prom, metrics_lab):
    before = metrics_lab.counter("gpu005", "mlx5_1", "symbol_error")
    metrics_lab.add_counters("gpu005", "mlx5_1", symbol_error=7)
    q = selector("node_infiniband_symbol_error_total", {"instance": "gpu005", "device": "mlx5_1"})
    metrics_lab.wait_value(q, before + 7)
    (sample,) = await prom.query(q)
    assert sample.value == before + 7


async def test_dcgm_scenario_reaches_prometheus(prom, metrics_lab):
    metrics_lab.set_gpus("gpu006", {4: {"xid": 48, "temp": 93}})
    q = selector("DCGM_FI_DEV_XID_ERRORS", {"Hostname": "gpu006", "gpu": "4"})
    metrics_lab.wait_value(q, 48)
    (temp,) = await prom.query(selector("DCGM_FI_DEV_GPU_TEMP", {"Hostname": "gpu006", "gpu": "4"}))
    assert temp.value == 93

"""The simulated Prometheus: exporter label sets, the story's signals, monotonic counters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dcops.actions.errors import UsageError

DCGM_LABELS = {"__name__", "gpu", "UUID", "device", "modelName", "pci_bus_id", "Hostname", "instance", "job"}


async def test_dcgm_series_carry_the_exporter_labels(backends) -> None:
    samples = await backends.prometheus.query('DCGM_FI_DEV_GPU_TEMP{Hostname="gpu001"}')
    assert len(samples) == 8
    assert set(samples[0].labels) == DCGM_LABELS
    assert samples[0].labels["modelName"] == "NVIDIA H100 80GB HBM3"
    assert samples[0].labels["UUID"].startswith("GPU-")


async def test_xid_79_on_gpu017_gpu3(backends) -> None:
    samples = await backends.prometheus.query("DCGM_FI_DEV_XID_ERRORS == 79")
    assert [(s.labels["Hostname"], s.labels["gpu"]) for s in samples] == [("gpu017", "3")]


async def test_bad_cable_tops_the_symbol_error_rate(backends) -> None:
    top = await backends.prometheus.query("topk(1, rate(node_infiniband_symbol_error_total[5m]))")
    assert top[0].labels["instance"] == "gpu023:9100" and top[0].labels["device"] == "mlx5_0"
    # effective BER ~ errors/s over 400 Gb/s: above NDR's 1e-11 error threshold
    assert top[0].value / 400e9 > 1e-11


async def test_flapping_and_congested_ports(backends) -> None:
    flapping = await backends.prometheus.query("increase(node_infiniband_link_downed_total[1h]) > 0")
    assert {s.labels["instance"] for s in flapping} == {"gpu031:9100"}
    waits = await backends.prometheus.query("topk(1, rate(node_infiniband_port_transmit_wait_total[5m]))")
    assert waits[0].labels["instance"] == "gpu040:9100"
    congested_errors = await backends.prometheus.query(
        'rate(node_infiniband_symbol_error_total{instance="gpu040:9100", device="mlx5_0"}[5m])'
    )
    assert congested_errors[0].value < 0.01, "congestion is not a cable fault"


async def test_counters_are_monotonic(backends, sim) -> None:
    end = datetime.fromtimestamp(sim.now(), UTC)
    for name in (
        "node_infiniband_symbol_error_total",
        "node_infiniband_port_data_received_bytes_total",
        "node_infiniband_port_transmit_wait_total",
        "DCGM_FI_DEV_NVLINK_CRC_FLIT_ERROR_COUNT_TOTAL",
    ):
        series = await backends.prometheus.query_range(
            f'{name}{{instance=~"gpu02[0-9]:.*"}}', end - timedelta(hours=2), end, 60
        )
        assert series, name
        for s in series:
            values = [v for _, v in s.points]
            assert values == sorted(values), (name, s.labels)


async def test_down_node_reports_nothing_but_up_zero(backends) -> None:
    assert await backends.prometheus.query('DCGM_FI_DEV_GPU_UTIL{Hostname="gpu009"}') == []
    down = await backends.prometheus.query("up == 0")
    assert {s.labels["instance"].split(":")[0] for s in down} == {"gpu009"}


async def test_busy_and_idle_nodes_differ(backends) -> None:
    busy = await backends.prometheus.query('avg(DCGM_FI_DEV_GPU_UTIL{Hostname="gpu001"})')
    idle = await backends.prometheus.query('avg(DCGM_FI_DEV_GPU_UTIL{Hostname="gpu012"})')
    assert busy[0].value > 50 and idle[0].value == 0


async def test_values_are_deterministic(backends, sim) -> None:
    at = datetime.fromtimestamp(sim.now() - 3600, UTC)
    first = await backends.prometheus.query("sum(DCGM_FI_DEV_POWER_USAGE)", at=at)
    again = await backends.prometheus.query("sum(DCGM_FI_DEV_POWER_USAGE)", at=at)
    assert first[0].value == again[0].value and first[0].timestamp == at.timestamp()


async def test_scalar_result_and_errors(backends) -> None:
    (sample,) = await backends.prometheus.query("2 * 21")
    assert sample.value == 42 and sample.labels == {}
    assert await backends.prometheus.query("no_such_metric_anywhere") == []
    with pytest.raises(UsageError, match="^bad_data: parse error"):
        await backends.prometheus.query("sum(rate(")

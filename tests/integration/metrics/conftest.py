"""Session fixtures for the metrics integration tests: one real lab (Prometheus, 64 node_exporters on
fake sysfs, the DCGM-format exporter, 3 h of backfilled history) for the whole session, since
Prometheus needs seconds to first data. If the lab cannot start, every test here fails (no skip)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from actions.backends.prometheus import PrometheusAdapter
from tests.lab.metrics import lab as metrics_lab_mod
from tests.lab.metrics.lab import MetricsLab


@pytest.fixture(scope="session")
def metrics_lab() -> Iterator[MetricsLab]:
    lab = metrics_lab_mod.start(nodes=64)
    try:
        yield lab
    finally:
        metrics_lab_mod.stop()


@pytest.fixture
async def prom(metrics_lab: MetricsLab) -> AsyncIterator[PrometheusAdapter]:
    adapter = PrometheusAdapter(metrics_lab.prometheus_url, timeout=10.0)
    try:
        yield adapter
    finally:
        await adapter.aclose()

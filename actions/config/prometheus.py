"""[prometheus]: where GPU (DCGM exporter) and InfiniBand (node_exporter) metrics are queried."""

from __future__ import annotations

from pydantic import Field

from ._base import Section


class PrometheusSection(Section):
    url: str = "http://127.0.0.1:9090"
    timeout: float = 15.0  # seconds per query
    max_concurrency: int = Field(4, ge=1, le=64)  # queries in flight at once from one console
    node_label: str = "Hostname"  # DCGM exporter label that carries the node name
    instance_map: dict[str, str] = {}  # node_exporter instance -> node name, when not derivable

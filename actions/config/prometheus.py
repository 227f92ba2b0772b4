"""[prometheus]: where GPU (DCGM exporter) and InfiniBand (node_exporter) metrics are queried."""

from __future__ import annotations

from ._base import Section


class PrometheusSection(Section):
    url: str = "http://127.0.0.1:9090"
    timeout: float = 15.0
    node_label: str = "Hostname"           # DCGM exporter label that carries the node name
    instance_map: dict[str, str] = {}      # node_exporter instance -> node name, when not derivable

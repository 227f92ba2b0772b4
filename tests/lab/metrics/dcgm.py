"""A DCGM-exporter-format endpoint for every lab node: ``GET /nodes/<node>/metrics``.

NVIDIA's dcgm-exporter needs real GPUs, so the lab serves the same text format (same metric names,
label set and types) for simulated ones. Values are the world's healthy baseline, overridden by
the scenario file the tests write (``scenario.json`` beside the server, re-read when it changes):

    {"gpus": {"gpu017": {"3": {"xid": 79, "temp": 91}}}, "absent": ["gpu009"]}

An ``absent`` node answers 503, as a node whose exporter is down makes its scrape fail.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from aiohttp import web

from .world import DCGM_FIELDS, GPUS, World, gpu_sample


class Scenario:
    """The test-controlled overrides, cached until the file's mtime changes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._mtime: float | None = None
        self._data: dict[str, Any] = {}

    def get(self) -> dict[str, Any]:
        try:
            mtime = self.path.stat().st_mtime_ns
        except FileNotFoundError:
            return {}
        if mtime != self._mtime:
            self._data = json.loads(self.path.read_text() or "{}")
            self._mtime = mtime
        return self._data


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def render(world: World, node: str, t: float, overrides: dict[str, dict[str, float]]) -> str:
    """One node's exposition: families grouped, HELP/TYPE lines first, as dcgm-exporter writes them."""
    samples = [(world.gpu_labels(node, g), gpu_sample(world, node, g, t, overrides.get(str(g)))) for g in range(GPUS)]
    out: list[str] = []
    for key, (metric, kind) in DCGM_FIELDS.items():
        out.append(f"# HELP {metric} {key}")
        out.append(f"# TYPE {metric} {kind}")
        for labels, values in samples:
            lbl = ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items())
            out.append(f"{metric}{{{lbl}}} {values[key]}")
    return "\n".join(out) + "\n"


def make_app(world: World, scenario_path: Path) -> web.Application:
    scenario = Scenario(scenario_path)

    async def metrics(request: web.Request) -> web.Response:
        node = request.match_info["node"]
        if node not in world.nodes:
            raise web.HTTPNotFound(text=f"no node {node}")
        data = scenario.get()
        if node in data.get("absent", ()):
            raise web.HTTPServiceUnavailable(text="dcgm: host engine not reachable")
        body = render(world, node, time.time(), data.get("gpus", {}).get(node, {}))
        return web.Response(text=body, content_type="text/plain", charset="utf-8")

    async def health(_: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/nodes/{node}/metrics", metrics)
    app.router.add_get("/health", health)
    return app

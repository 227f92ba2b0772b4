"""Charts for metric query results, as Unicode sparklines in a Slack message.

Why text and not an image: an image needs a plotting library and a file upload (files.* API
round trips and a public URL) for what an operator reads at a glance: the shape of a GPU's
temperature or a port's error counter over the last hours. A sparkline per series, with its min,
max and last value, says that in the message itself and survives chat.update.

Accepted shapes: the ``query --range`` result ``{"series": [{"labels": {...}, "points": [[ts, v],
...]}, ...]}``, and Prometheus' own matrix ``[{"metric": {...}, "values": [[ts, "v"], ...]}, ...]``.
Anything else (instant samples, tables) gets no chart.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

BARS = "▁▂▃▄▅▆▇█"
MAX_SERIES = 8
WIDTH = 40


def sparkline(values: Sequence[float], width: int = WIDTH) -> str:
    """Values resampled to ``width`` buckets (mean per bucket), scaled to eight bar heights."""
    vals = [v for v in values if v is not None and math.isfinite(v)]
    if not vals:
        return ""
    if len(vals) > width:
        step = len(vals) / width
        vals = [
            sum(chunk) / len(chunk)
            for i in range(width)
            if (chunk := vals[int(i * step) : max(int((i + 1) * step), int(i * step) + 1)])
        ]
    lo, hi = min(vals), max(vals)
    span = hi - lo
    if span == 0:
        return BARS[0] * len(vals)
    return "".join(BARS[min(len(BARS) - 1, int((v - lo) / span * len(BARS)))] for v in vals)


def _number(v: Any) -> float | None:
    if isinstance(v, (list, tuple)) and len(v) == 2:
        v = v[1]
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def _names(label_sets: list[dict[str, Any]]) -> list[str]:
    """Name each series by the labels that tell it apart (gpu="3"), not by the UUIDs, models and
    instances every series of a node shares; one series alone is named by its metric."""
    common = set.intersection(*(set(ls.items()) for ls in label_sets)) if label_sets else set()
    names = []
    for ls in label_sets:
        own = sorted((k, v) for k, v in ls.items() if (k, v) not in common and k != "__name__")
        names.append(",".join(f"{k}={v}" for k, v in own) or str(ls.get("__name__", "series")))
    return names


def _series(data: Any) -> list[tuple[str, list[float]]]:
    items: list[Any]
    if isinstance(data, dict) and isinstance(data.get("series"), list):
        items = data["series"]
    elif isinstance(data, list) and data and all(isinstance(x, dict) and "values" in x for x in data):
        items = data
    else:
        return []
    found: list[tuple[dict[str, Any], list[float]]] = []
    for item in items:
        if not isinstance(item, dict):
            continue
        values = item.get("points", item.get("values"))
        if not isinstance(values, (list, tuple)):
            continue
        labels = item.get("labels", item.get("metric"))
        if not isinstance(labels, dict):
            labels = {"__name__": str(item.get("name") or "series")}
        nums = [n for n in (_number(v) for v in values) if n is not None]
        if nums:
            found.append((labels, nums))
    return list(zip(_names([ls for ls, _ in found]), [vals for _, vals in found]))


def _fmt(v: float) -> str:
    return f"{v:.3g}"


def chart_for(data: Any) -> str | None:
    """A code block with one sparkline per series, or None when ``data`` holds no series."""
    series = _series(data)
    if not series:
        return None
    width = max(len(name) for name, _ in series[:MAX_SERIES])
    lines = [
        f"{name.ljust(width)}  {sparkline(vals)}  min {_fmt(min(vals))} max {_fmt(max(vals))} last {_fmt(vals[-1])}"
        for name, vals in series[:MAX_SERIES]
    ]
    if len(series) > MAX_SERIES:
        lines.append(f"… and {len(series) - MAX_SERIES} more series")
    return "```\n" + "\n".join(lines) + "\n```"

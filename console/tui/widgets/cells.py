"""How fleet values look in a cell: text plus a tone the table maps to the theme's colours.

Tones rather than colours so that every theme (dark, light, high-contrast) colours states the
same way from its own palette, and so a cell's meaning survives a monochrome terminal (each
cell also carries a word or symbol, never colour alone).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .vtable import Cell, Row

_BARS = "▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[float] | None, lo: float = 0.0, hi: float = 100.0, width: int = 8) -> str:
    """The last ``width`` values as block characters, scaled between ``lo`` and ``hi``."""
    if not values:
        return ""
    tail = list(values)[-width:]
    span = (hi - lo) or 1.0
    out = []
    for v in tail:
        if v is None:
            out.append(" ")
            continue
        frac = min(max((float(v) - lo) / span, 0.0), 1.0)
        out.append(_BARS[min(int(frac * len(_BARS)), len(_BARS) - 1)])
    return "".join(out)


def bar(fraction: float, width: int = 10) -> str:
    """A text progress bar (per-node progress in the operations screen)."""
    fraction = min(max(fraction, 0.0), 1.0)
    full = round(fraction * width)
    return "█" * full + "░" * (width - full)


_STATE_TONES = {
    "idle": "muted",
    "allocated": "ok",
    "mixed": "ok",
    "completing": "ok",
    "draining": "warn",
    "drained": "bad",
    "down": "bad",
    "fail": "bad",
    "unknown": "warn",
    "maint": "warn",
    "reserved": "accent",
    "planned": "accent",
}


def state_cell(value: Any, row: Row) -> Cell:
    text = str(value or "")
    return text, _STATE_TONES.get(text.lower().rstrip("*~#"))


def flags_cell(value: Any, row: Row) -> Cell:
    text = ",".join(value) if isinstance(value, (list, tuple)) else str(value or "")
    return text, "warn" if text else None


def muted_cell(value: Any, row: Row) -> Cell:
    if isinstance(value, (list, tuple)):  # a typed row's list (partitions): shown as Slurm writes it
        return ",".join(str(v) for v in value), "muted"
    return ("" if value is None else str(value)), "muted"


def _history(row: Row, key: str) -> Sequence[float] | None:
    h = row.get(key)
    return h if isinstance(h, (list, tuple)) else None


def util_cell(value: Any, row: Row) -> Cell:
    if value is None:
        return "-", "muted"
    spark = sparkline(_history(row, "util_history"))
    return f"{float(value):3.0f}% {spark}", "primary"


def temp_cell(value: Any, row: Row) -> Cell:
    if value is None:
        return "-", "muted"
    spark = sparkline(_history(row, "temp_history"), lo=30, hi=95)
    v = float(value)
    tone = "bad" if v >= 87 else "warn" if v >= 80 else None
    return f"{v:3.0f}C {spark}", tone


def xid_cell(value: Any, row: Row) -> Cell:
    if value in (None, 0, "", [], ()):
        return "", None
    if isinstance(value, (list, tuple)):
        value = ",".join(str(v) for v in value)
    return f"XID {value}", "bad"


def outcome_cell(value: Any, row: Row) -> Cell:
    text = str(value or "")
    tone = {
        "ok": "ok",
        "allow": "ok",
        "granted": "ok",
        "running": "primary",
        "pending": "accent",
        "failed": "bad",
        "deny": "bad",
        "denied": "bad",
        "interrupted": "bad",
        "invalid": "warn",
        "cancelled": "warn",
        "dry-run": "muted",
        "skipped": "muted",
        "expired": "muted",
        "used": "muted",
        "planned": "muted",
        "planning": "muted",
    }.get(text.lower())
    return text, tone


def k8s_cell(value: Any, row: Row) -> Cell:
    text = str(value or "")
    if not text:
        return "-", "muted"
    return text, {"ready": "ok", "cordoned": "warn"}.get(text, "bad")


def operators_cell(value: Any, row: Row) -> Cell:
    """GPU / Network Operator pods on the node: ok, or the components not ready with their reason."""
    text = str(value or "")
    if not text:
        return "-", "muted"
    return text, "ok" if text == "ok" else "bad"


def ib_errors_cell(value: Any, row: Row) -> Cell:
    """InfiniBand error rate (symbol errors + link downs per second over 10 min)."""
    if value is None:
        return "-", "muted"
    v = float(value)
    if v == 0:
        return "ok", "ok"
    return f"{v:.2g}/s", "bad" if v >= 0.01 else "warn"

"""Turning an action's :class:`actions.events.Table` into VirtualTable columns and rows.

Widths come from the data (the header and the first rows), capped, because the console shows
tables of actions it does not know in advance (every ``:`` read action, node tabs).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from actions.events import Table

from . import cells
from .vtable import Cell, Column, Row

ROW_KEY = "_row"
_SAMPLE = 200
_MAX_WIDTH = 48
# Columns every front end names the same way get the same look everywhere.
_RENDERERS = {"state": cells.state_cell, "outcome": cells.outcome_cell, "event": cells.outcome_cell,
              "decision": cells.outcome_cell, "status": cells.outcome_cell, "reason": cells.muted_cell,
              "detail": cells.muted_cell, "time": cells.muted_cell}


def _text(value: Any, row: Row) -> Cell:
    if value is None:
        return "", None
    if isinstance(value, float):
        return f"{value:.4g}", None
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value), None
    return str(value), None


def table_columns(table: Table, widths: Mapping[str, int] | None = None) -> list[Column]:
    cols = []
    for i, name in enumerate(table.columns):
        sample = [_text(r[i], {})[0] for r in table.rows[:_SAMPLE] if i < len(r)]
        width = (widths or {}).get(name) or min(max([len(name), *map(len, sample)]), _MAX_WIDTH)
        numeric = bool(sample) and all(isinstance(r[i], (int, float)) for r in table.rows[:_SAMPLE] if i < len(r) and r[i] is not None)
        cols.append(Column(name, name.upper(), width, _RENDERERS.get(name, _text), align="right" if numeric else "left"))
    return cols


def table_rows(table: Table) -> list[dict[str, Any]]:
    return [{ROW_KEY: n, **dict(zip(table.columns, r))} for n, r in enumerate(table.rows)]

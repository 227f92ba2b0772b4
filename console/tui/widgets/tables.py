"""Turning an action's :class:`dcops.actions.events.Table` into VirtualTable columns and rows, and an
action's declared row model (:mod:`dcops.actions.result_rows`) into columns.

Widths come from the data (the header and the first rows), capped, because the console shows
tables of actions it does not know in advance (every ``:`` read action, node tabs). A screen that
knows its action (Jobs) builds its columns from the action's row model instead, so a column the op
adds or renames shows up or fails here, never silently goes blank.
"""

from __future__ import annotations

import types
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any, Literal, Union, get_args, get_origin

from dcops.actions.events import Table
from dcops.actions.result_rows import Row as ResultRow

from . import cells
from .vtable import Cell, Column, Row

ROW_KEY = "_row"
_SAMPLE = 200
_MAX_WIDTH = 48
# Columns every front end names the same way get the same look everywhere.
_RENDERERS = {
    "state": cells.state_cell,
    "outcome": cells.outcome_cell,
    "event": cells.outcome_cell,
    "decision": cells.outcome_cell,
    "status": cells.outcome_cell,
    "reason": cells.muted_cell,
    "detail": cells.muted_cell,
    "time": cells.muted_cell,
}


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
        numeric = bool(sample) and all(
            isinstance(r[i], (int, float)) for r in table.rows[:_SAMPLE] if i < len(r) and r[i] is not None
        )
        cols.append(
            Column(name, name.upper(), width, _RENDERERS.get(name, _text), align="right" if numeric else "left")
        )
    return cols


def table_rows(table: Table) -> list[dict[str, Any]]:
    return [{ROW_KEY: n, **dict(zip(table.columns, r))} for n, r in enumerate(table.rows)]


def row_columns(model: type[ResultRow], looks: Mapping[str, tuple[Any, ...] | int] | None = None) -> list[Column]:
    """VirtualTable columns for an action's row model, in the model's order, headed by its titles.
    ``looks`` gives a column a width, or (width, renderer[, header]) by field name; naming a field
    the model does not have is an error, so the screen and the op cannot drift apart unnoticed."""
    looks = dict(looks or {})
    columns = model.columns()
    unknown = set(looks) - {c.key for c in columns}
    if unknown:
        raise KeyError(f"{model.__name__} has no column(s) {sorted(unknown)}")
    out = []
    for c in columns:
        look = looks.get(c.key)
        width, render, header = (((look,) if isinstance(look, int) else tuple(look or ())) + (None,) * 3)[:3]
        out.append(
            Column(
                c.key,
                header or c.title.upper(),
                width or max(len(c.title), 8),
                render or _RENDERERS.get(c.key, _text),
                align="right" if c.kind == "number" else "left",
            )
        )
    return out


def row_dicts(rows: Sequence[ResultRow]) -> list[dict[str, Any]]:
    """Typed rows as the VirtualTable's row mappings: real values (lists stay lists, numbers stay
    numbers, so sorting and selection use them), rendered by the columns.

    A model whose ``model_dump()`` is its fields as they are (see :func:`_dumps_as_is`) is copied
    shallowly: pydantic's dump rebuilds every list and dict, ~4 us and ~1.7 KB a fleet row, 40 ms
    and 17 MB of copies per 10,000-node refresh on a worker thread that shares the GIL with the
    keys. The copy shares its lists with the typed row; no screen changes a row's lists in place."""
    out = []
    for r in rows:
        out.append(dict(r.__dict__) if _dumps_as_is(type(r)) else r.model_dump())
    return out


_SCALARS = (str, int, float, bool, type(None))


@cache
def _dumps_as_is(model: type[ResultRow]) -> bool:
    """True when ``model_dump()`` of this model equals its ``__dict__``: no computed field, no
    serializer, no extra fields, and every field a scalar or a list/tuple/dict/union of scalars
    (a nested model or dataclass is dumped to a dict, so it does not qualify)."""
    decorators = model.__pydantic_decorators__
    if model.model_computed_fields or decorators.field_serializers or decorators.model_serializers:
        return False
    if model.model_config.get("extra") == "allow":
        return False
    return all(_plain(f.annotation) and not f.metadata for f in model.model_fields.values())


def _plain(annotation: Any) -> bool:
    if annotation in _SCALARS:
        return True
    origin = get_origin(annotation)
    if origin is Literal:
        return True
    if origin in (list, tuple, dict, Union, types.UnionType):
        return all(a is Ellipsis or _plain(a) for a in get_args(annotation))
    return False

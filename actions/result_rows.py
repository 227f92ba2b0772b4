"""Typed result rows: each action declares a pydantic model for the rows of its answer, as it
declares its params.

Why: the front ends used to receive a ``Table`` of display strings and read it back by column
name (the fleet screen split the ``nodes`` table's comma-joined jobs; the jobs screen kept its own
list of column names that had to match ``ops/jobs.py``). Now an action yields
``Result(rows=[...], row_model=NodeRow)``; the display :class:`~dcops.actions.events.Table` (CLI text,
CSV, the Slack table, the TUI's generic result screen) is *generated* from the model, ``--json``
carries the rows as objects, ``dcops help ACTION --json`` prints the model's JSON schema, and a
screen that needs real values (a list of job ids, a number to sort) reads the typed row.

A field's ``title`` is its column heading (default: the name with ``_`` as spaces). A field marked
with :func:`hidden` is data only (in ``--json``, not a table column). ``TABLE`` may name the
columns and their order explicitly, which lets a computed field (a "3/8" GPU cell built from two
integers) stand where the eye expects it while the data stays typed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Optional, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator

_HIDDEN = "x-dcops-hidden"


def hidden(default: Any = None, **kwargs: Any) -> Any:
    """A field that is data, not a table column (a sparkline's history, a raw record)."""
    extra = dict(kwargs.pop("json_schema_extra", None) or {})
    extra[_HIDDEN] = True
    return Field(default, json_schema_extra=extra, **kwargs)


@dataclass(frozen=True)
class RowColumn:
    """One display column of a row model: the attribute it reads, its heading, and its value kind
    ("number" right-aligns and sorts numerically, "list" is joined with commas)."""

    key: str
    title: str
    kind: str = "text"


def _kind(annotation: Any) -> str:
    origin = get_origin(annotation)
    if origin is Union or str(origin) in ("types.UnionType", "<class 'types.UnionType'>"):
        kinds = {_kind(a) for a in get_args(annotation) if a is not type(None)}
        return kinds.pop() if len(kinds) == 1 else "text"
    if origin in (list, tuple, set, frozenset) or annotation in (list, tuple):
        return "list"
    if annotation is bool:
        return "bool"
    if isinstance(annotation, type) and issubclass(annotation, (int, float)):
        return "number"
    return "text"


class Row(BaseModel):
    """Base of every action's result row: frozen (a result is an answer, not a buffer) and strict
    about unknown fields (a typo in an op is an error, not a silently missing column)."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)  # built on first use: CLI start

    TABLE: ClassVar[tuple[str, ...]] = ()  # display columns in order; empty: every non-hidden field

    @model_validator(mode="before")
    @classmethod
    def _drop_computed(cls, values: Any) -> Any:
        """A row read back from ``--json`` carries its computed cells too: they are recomputed, not
        refused (any other unknown key still is)."""
        if isinstance(values, dict) and cls.model_computed_fields:
            return {k: v for k, v in values.items() if k not in cls.model_computed_fields}
        return values

    @classmethod
    def columns(cls) -> list[RowColumn]:
        fields = cls.model_fields
        computed = cls.model_computed_fields
        keys = list(cls.TABLE) or [
            k
            for k, f in fields.items()
            if not (isinstance(f.json_schema_extra, dict) and f.json_schema_extra.get(_HIDDEN))
        ]
        out = []
        for key in keys:
            if key in fields:
                f = fields[key]
                out.append(RowColumn(key, f.title or key.replace("_", " "), _kind(f.annotation)))
            elif key in computed:
                c = computed[key]
                out.append(RowColumn(key, c.title or key.replace("_", " "), _kind(c.return_type)))
            else:
                raise TypeError(f"{cls.__name__}.TABLE names {key!r}, which is neither a field nor a computed field")
        return out

    def cells(self, columns: Sequence[RowColumn] | None = None) -> list[Any]:
        """This row's display cells: lists joined with commas as the tables always showed them."""
        out = []
        for col in columns if columns is not None else self.columns():
            value = getattr(self, col.key)
            if isinstance(value, (list, tuple, set, frozenset)):
                value = ",".join(str(v) for v in value)
            out.append(value)
        return out


def table_of(model: type[Row], rows: Iterable[Row], title: str = "") -> Any:
    """The display table of typed rows (generated, never hand-written)."""
    from .events import Table

    columns = model.columns()
    return Table(columns=[c.title for c in columns], rows=[r.cells(columns) for r in rows], title=title)


def rows_schema(models: Sequence[type[Row]]) -> dict[str, Any]:
    """JSON schema of a result's rows (``dcops help ACTION --json``): an array of the model, or of
    any of the models when an action answers in more than one shape (a dry run's plan, a run's
    outcome)."""
    if not models:
        return {}
    item: Any = models[0] if len(models) == 1 else Union[tuple(models)]  # noqa: UP007 - a runtime Union
    return TypeAdapter(list[item]).json_schema(mode="serialization")  # what is sent, computed cells too


_JOINED: dict[tuple[type[Row], type[Row]], type[Row]] = {}


def joined_model(first: type[Row], second: type[Row]) -> type[Row]:
    """The row model of two per-node answers side by side (drain through Slurm AND Kubernetes):
    ``node``, the first model's fields, then the second's. A node only one side answered for has
    the other side's fields None. Built once per pair, so an action can declare it."""
    key = (first, second)
    if key not in _JOINED:
        from pydantic import create_model

        fields: dict[str, Any] = {"node": (str, Field(title="node"))}
        for model in (first, second):
            for name, f in model.model_fields.items():
                if name != "node" and name not in fields:
                    fields[name] = (
                        Optional[f.annotation],  # noqa: UP045 - a runtime type, not an annotation
                        Field(None, title=f.title, description=f.description),
                    )
        joined = create_model(f"{first.__name__}And{second.__name__}", __base__=Row, **fields)
        joined.TABLE = (
            "node",
            *[c.key for c in first.columns() if c.key != "node"],
            *[c.key for c in second.columns() if c.key != "node"],
        )
        _JOINED[key] = joined
    return _JOINED[key]


def join_rows(first: Sequence[Row], second: Sequence[Row], model: type[Row]) -> list[Row]:
    """One row per node, in the first answer's order, then nodes only the second answered for."""
    extra = {r.node: r.model_dump(exclude=set(type(r).model_computed_fields)) for r in second}  # type: ignore[attr-defined]
    out = []
    for r in first:
        values = r.model_dump(exclude=set(type(r).model_computed_fields))
        out.append(model(**{**extra.pop(values["node"], {}), **values}))
    out += [model(**values) for values in extra.values()]
    return out

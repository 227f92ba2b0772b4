"""Screens that know their action build their columns from its declared row model (issue 17): a
field the op renames makes these fail, instead of a column that silently stays blank."""

from __future__ import annotations

from typing import Literal

import pytest
from pydantic import BaseModel, computed_field, field_serializer

from dcops.actions import load_actions
from dcops.actions.result_models import FleetRow, JobRow
from dcops.actions.result_rows import Row
from dcops.console.tui.screens.job import FIELDS
from dcops.console.tui.screens.jobs import job_columns
from dcops.console.tui.widgets.tables import _dumps_as_is, row_columns, row_dicts


def test_jobs_columns_come_from_the_jobs_row_model() -> None:
    model = load_actions().get("jobs").rows[0]
    assert model is JobRow
    assert [c.key for c in job_columns()] == [c.key for c in model.columns()]
    assert {key for key, _ in FIELDS} <= set(model.model_fields)  # the job detail reads real fields
    numbers = {c.key for c in model.columns() if c.kind == "number"}
    assert numbers and all(c.align == "right" for c in job_columns() if c.key in numbers)


def test_a_look_for_a_column_the_model_lacks_is_an_error() -> None:
    class Tiny(Row):
        node: str

    with pytest.raises(KeyError, match="nodelist"):
        row_columns(Tiny, {"nodelist": 40})


# ------------------------------------------------------------------ typed rows -> row mappings
class _Inner(BaseModel):
    a: int


class _Nested(Row):
    node: str
    inner: _Inner


class _Computed(Row):
    node: str
    n: int

    @computed_field  # type: ignore[prop-decorator]
    @property
    def double(self) -> int:
        return 2 * self.n


class _Serialized(Row):
    node: str
    when: float

    @field_serializer("when")
    def _when(self, v: float) -> str:
        return f"{v:.0f}s"


class _Plain(Row):
    node: str
    tags: list[str]
    history: list[float] = []
    pair: tuple[int, str] | None = None
    mode: Literal["a", "b"] = "a"
    counts: dict[str, int] = {}


@pytest.mark.parametrize(
    "row",
    [
        FleetRow(
            node="gpu00001",
            partitions=["gpu"],
            state="idle",
            flags=["drain"],
            reason="NHC: xid",
            jobs=2,
            k8s="ready",
            operators="ok",
            gpu_util=50.5,
            gpu_temp=None,
            xid=79,
            ib_errors=0.25,
            util_history=[1.0, 2.5],
        ),
        _Plain(node="n1", tags=["x"], history=[1.5], pair=(1, "a"), mode="b", counts={"k": 1}),
        _Nested(node="n1", inner=_Inner(a=1)),
        _Computed(node="n1", n=2),
        _Serialized(node="n1", when=3.0),
    ],
    ids=lambda r: type(r).__name__,
)
def test_row_mappings_are_exactly_what_model_dump_gives(row: Row) -> None:
    """The shallow-copy shortcut is taken only where it gives model_dump()'s answer: a nested model,
    a computed field or a serializer take model_dump (and the answers still match)."""
    assert row_dicts([row]) == [row.model_dump()]
    assert [type(v) for v in row_dicts([row])[0].values()] == [type(v) for v in row.model_dump().values()]
    shortcut = type(row) in (FleetRow, _Plain)
    assert _dumps_as_is(type(row)) is shortcut

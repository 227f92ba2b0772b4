"""Screens that know their action build their columns from its declared row model (issue 17): a
field the op renames makes these fail, instead of a column that silently stays blank."""

from __future__ import annotations

import pytest

from dcops.actions import load_actions
from dcops.actions.result_models import JobRow
from dcops.actions.result_rows import Row
from dcops.console.tui.screens.job import FIELDS
from dcops.console.tui.screens.jobs import job_columns
from dcops.console.tui.widgets.tables import row_columns


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

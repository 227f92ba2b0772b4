"""Typed results (issue 17): an action declares the row model of its answer; the table every front
end shows is generated from it, ``--json`` carries the rows as objects, and the JSON schema that
``dcops help ACTION --json`` prints accepts every row the action really yields (run on the demo).

Written to catch drift: an op yielding rows of a model it did not declare, a table column that is
not in the model, a schema that does not describe what is sent."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest
from pydantic import Field, ValidationError, computed_field

from dcops.actions.engine import Engine
from dcops.actions.events import Result
from dcops.actions.request import Request
from dcops.actions.result_rows import Row, hidden, rows_schema
from dcops.actions.sim import SimCluster

from .test_every_action import ALLOW_ALL, SPECS, engine, example_params, submit_through

# Actions that answer with a summary (and data) only, never a table: they need no row model. Every
# other action must declare one; the test below runs these to prove they build no table by hand.
SUMMARY_ONLY = {
    "audit-export",
    "audit-head",
    "audit-migrate",
    "audit-verify",
    "gpu-reset",
    "ping",
    "reset-counters",
    "stop",
}


class _NodeRow(Row):
    TABLE = ("node", "gpus", "jobs")

    node: str
    jobs: list[str] = Field(title="job ids")
    gpus_used: int = hidden(0)
    gpus_total: int = hidden(0)
    history: list[float] = hidden([])

    @computed_field(title="gpus")
    @property
    def gpus(self) -> str:
        return f"{self.gpus_used}/{self.gpus_total}"


def test_the_table_is_generated_from_the_model() -> None:
    r = Result(
        summary="2 nodes",
        rows=[_NodeRow(node="a", jobs=["1", "2"], gpus_used=3, gpus_total=8), _NodeRow(node="b", jobs=[])],
        title="nodes",
    )
    assert r.table is not None
    assert r.table.columns == ["node", "gpus", "job ids"]  # TABLE order, titles, hidden left out
    assert r.table.rows == [["a", "3/8", "1,2"], ["b", "0/0", ""]]
    assert r.table.title == "nodes"
    dumped = r.model_dump(mode="json")
    assert dumped["rows"][0]["jobs"] == ["1", "2"] and dumped["rows"][0]["history"] == []  # typed, hidden kept
    assert "row_model" not in dumped


def test_empty_answers_still_have_columns_and_mixed_rows_are_refused() -> None:
    assert Result(summary="none", rows=[], row_model=_NodeRow).table.columns == ["node", "gpus", "job ids"]
    with pytest.raises((TypeError, ValidationError)):
        Result(summary="none", rows=[])

    class Other(Row):
        x: int

    with pytest.raises((TypeError, ValidationError), match="mix"):
        Result(summary="x", rows=[_NodeRow(node="a", jobs=[]), Other(x=1)])
    with pytest.raises(ValidationError):
        _NodeRow(node="a", jobs=[], typo=1)  # an op's typo is an error


def test_table_naming_an_unknown_column_fails_loudly() -> None:
    class Bad(Row):
        TABLE = ("node", "nope")
        node: str

    with pytest.raises(TypeError, match="nope"):
        Bad.columns()


def test_every_declared_row_model_has_a_schema_and_valid_columns() -> None:
    for spec in SPECS:
        for model in spec.rows:
            assert model.columns(), f"{spec.name}: {model.__name__} shows no column"
        if spec.rows:
            assert rows_schema(spec.rows)["type"] == "array"


def test_every_action_declares_its_rows_or_answers_in_a_summary() -> None:
    untyped = {s.name for s in SPECS if not s.rows}
    assert untyped == SUMMARY_ONLY, f"declare a row model for: {sorted(untyped - SUMMARY_ONLY)}"


async def _result(spec, tmp_path: Path, dry_run: bool) -> Result | None:
    sim = SimCluster(nodes=64, time_scale=1000.0)
    params = await example_params(spec, sim)
    if dry_run:
        params["dry_run"] = True
    eng: Engine = engine(tmp_path, sim, ALLOW_ALL)
    await eng.start()
    try:
        run = await submit_through(
            eng, Request(principal="unix:tester", channel="cli", action=spec.name, params=params)
        )
        await run.wait()
        return run.result
    finally:
        await eng.aclose()


@pytest.mark.parametrize("dry_run", [False, True], ids=["run", "dry-run"])
@pytest.mark.parametrize("spec", SPECS, ids=[s.name for s in SPECS])
async def test_what_an_action_yields_is_what_it_declares(spec, dry_run: bool, tmp_path: Path) -> None:
    if dry_run and not spec.mutating:
        pytest.skip("a read has no dry run")
    res = await _result(spec, tmp_path, dry_run)
    if not spec.rows:  # SUMMARY_ONLY: no table built by hand either
        assert res is None or (res.table is None and res.rows is None), f"{spec.name} builds a table: declare rows"
        return
    assert res is not None
    if res.table is None and res.rows is None:
        return  # a summary-only answer (a dry run's one line)
    assert res.rows is not None, f"{spec.name} declared rows but built a table by hand"
    assert res.row_model in spec.rows
    assert res.table is not None and res.table.columns == [c.title for c in res.row_model.columns()]
    sent = res.model_dump(mode="json")["rows"]  # what --json and the bot carry
    jsonschema.validate(sent, rows_schema(spec.rows))
    assert [res.row_model.model_validate(r) for r in sent] == res.rows  # and it reads back the same

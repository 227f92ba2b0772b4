"""The typed events an action yields, and the engine's own run events.

Front ends render these (TUI progress bars, Slack ``chat.update``, CLI lines or JSON lines); they
never need to know which backend produced them. Every event is a pydantic model with a ``kind``
discriminator so it serialises to JSON for ``--json`` and the bot unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SerializeAsAny, model_validator

from .result_rows import Row, table_of

StepStatus = Literal["pending", "running", "ok", "failed", "skipped", "cancelled"]
Outcome = Literal["ok", "failed", "cancelled", "interrupted", "dry-run"]


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True)


class Progress(_Event):
    kind: Literal["progress"] = "progress"
    done: int
    total: int
    label: str = ""


class Step(_Event):
    """Per-target status; ``keep=True`` asks the engine to write it into the audit log."""

    kind: Literal["step"] = "step"
    target: str
    status: StepStatus
    detail: str = ""
    keep: bool = True
    # the op yields another Step right after this one, from the same backend call (no cluster change
    # between them): the engine writes the run of such steps in one audit transaction, at the last one
    more: bool = False


class Log(_Event):
    kind: Literal["log"] = "log"
    message: str
    level: Literal["debug", "info", "warning", "error"] = "info"


class Table(BaseModel):
    """Tabular data any front end can render (CLI text/CSV, TUI DataTable, Slack table block)."""

    model_config = ConfigDict(frozen=True)

    columns: list[str]
    rows: list[list[Any]]
    title: str = ""


class Link(BaseModel):
    """A link out (a Grafana dashboard for a node): a TUI line, a CLI line, a Slack button."""

    model_config = ConfigDict(frozen=True)

    label: str
    url: str


class Result(_Event):
    """The action's answer. ``ok=False`` marks the run failed (e.g. some nodes failed).

    ``rows`` are the answer's typed rows (instances of ``row_model``, the action's declared
    :class:`~dcops.actions.result_rows.Row`); when they are given, ``table`` is generated from them, so
    every front end shows the same columns the model declares (result_rows)."""

    kind: Literal["result"] = "result"
    summary: str
    ok: bool = True
    severity: Literal["ok", "warning", "bad"] = "ok"  # what the answer says about the cluster (a read
    # that succeeded can find a bad cable): picks the icon
    table: Table | None = None
    rows: Sequence[SerializeAsAny[Row]] | None = None  # a list; Sequence so list[NodeRow] type-checks
    row_model: type[Row] | None = Field(None, exclude=True)  # the rows' model (even with no rows)
    data: Any = None
    links: list[Link] = Field(default_factory=list)
    title: str = Field("", exclude=True)  # the generated table's title (with rows=), not output

    @model_validator(mode="before")
    @classmethod
    def _table_from_rows(cls, values: Any) -> Any:
        if not isinstance(values, dict) or values.get("rows") is None:
            return values
        rows = values["rows"]
        model = values.get("row_model") or (type(rows[0]) if rows and isinstance(rows[0], Row) else None)
        if model is None:
            raise TypeError("Result(rows=[]) needs row_model= (the columns of an empty answer)")
        wrong = next((r for r in rows if not isinstance(r, model)), None)
        if wrong is not None:
            raise TypeError(f"Result rows mix {type(wrong).__name__} into {model.__name__} rows")
        values = {**values, "row_model": model}
        if values.get("table") is None:
            values["table"] = table_of(model, rows, values.get("title") or "")
        return values


class Error(_Event):
    kind: Literal["error"] = "error"
    message: str


class RunStarted(_Event):
    kind: Literal["run-started"] = "run-started"
    run_id: str
    action: str
    targets: list[str]
    dry_run: bool = False


class RunFinished(_Event):
    kind: Literal["run-finished"] = "run-finished"
    run_id: str
    outcome: Outcome
    duration: float
    summary: str = ""
    exit_code: int | None = None  # the DcopsError's code when one ended the run (5 lock busy, 6 unreachable…)
    left_out_of_service: list[str] = Field(default_factory=list)  # a stopped run's drained leftovers
    stopped_by: str | None = None  # who stopped a cancelled run


ActionEvent = Progress | Step | Log | Result | Error
Event = Annotated[Progress | Step | Log | Result | Error | RunStarted | RunFinished, Field(discriminator="kind")]

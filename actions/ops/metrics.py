"""Metric actions: PromQL queries (instant and range)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone

from pydantic import Field

from ..context import ActionContext
from ..events import ActionEvent, Result, Table
from ..registry import Kind, Params, TargetKind, action
from ..timespec import Duration


class QueryParams(Params):
    promql: str = Field(..., min_length=1, description="PromQL expression")
    range: Duration | None = Field(None, description="look back this long (e.g. 3h) for a range query")
    step: Duration = Field(60.0, description="range query resolution (e.g. 1m)")


@action("query", example='query DCGM_FI_DEV_GPU_TEMP', help="run a PromQL query (instant, or --range for a chart)", params=QueryParams, kind=Kind.READ,
        targets=TargetKind.NONE, positional=("promql",), category="metrics")
async def query(ctx: ActionContext, p: QueryParams) -> AsyncIterator[ActionEvent]:
    prom = ctx.backends.require("prometheus")
    if p.range:
        end = datetime.now(timezone.utc)
        series = await prom.query_range(p.promql, end - timedelta(seconds=p.range), end, p.step)
        rows = [[_labels(s.labels), len(s.points), s.points[-1][1] if s.points else None] for s in series]
        yield Result(summary=f"{len(series)} series over {p.range:.0f}s", table=Table(
            columns=["series", "points", "last"], rows=rows),
            data={"series": [{"labels": s.labels, "points": [list(pt) for pt in s.points]} for s in series]})
        return
    samples = await prom.query(p.promql)
    rows = [[_labels(s.labels), s.value] for s in samples]
    yield Result(summary=f"{len(samples)} samples", table=Table(columns=["series", "value"], rows=rows),
                 data={"samples": [{"labels": s.labels, "value": s.value} for s in samples]})


def _labels(labels: dict[str, str]) -> str:
    name = labels.get("__name__", "")
    rest = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()) if k != "__name__")
    return f"{name}{{{rest}}}" if rest else name or "{}"

"""SimPrometheus: the PrometheusPort over the simulated cluster's series, via ``promql``."""

from __future__ import annotations

from datetime import UTC, datetime

from ..backends.models import Sample, Series
from .cluster import SimCluster
from .metrics import SimSource
from .promql import Evaluator, parse


def _ts(when: datetime) -> float:
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()


class SimPrometheus:
    def __init__(self, sim: SimCluster) -> None:
        self.sim = sim
        self.source = SimSource(sim)

    def _evaluator(self) -> Evaluator:
        self.source.horizon = self.sim.advance()
        return Evaluator(self.source)

    async def query(self, promql: str, at: datetime | None = None) -> list[Sample]:
        plan = parse(promql)
        evaluator = self._evaluator()
        t = self.source.horizon if at is None else _ts(at)
        value = evaluator.instant(plan, t)
        if isinstance(value, float):
            return [Sample(labels={}, value=value, timestamp=t)]
        return [Sample(labels=labels, value=v, timestamp=t) for labels, v in value]

    async def query_range(self, promql: str, start: datetime, end: datetime, step: float) -> list[Series]:
        plan = parse(promql)
        series = self._evaluator().range(plan, _ts(start), _ts(end), step)
        return [Series(labels=labels, points=tuple(points)) for labels, points in series]

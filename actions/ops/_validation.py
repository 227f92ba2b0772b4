"""``resume --validate``: validate before returning nodes, and make it mandatory for nodes a health
check drained when ``[validate] mandatory_for_health_drained`` is set. Any node failing refuses the
whole resume (nothing returns), naming the node and the failed check; nodes that pass may be
health-marked and still return — the validation is recorded as the reason."""

from __future__ import annotations

from collections.abc import AsyncIterator

from ..backends.models import NodeInfo
from ..backends.ports import SlurmPort
from ..checks.verdict import NodeVerdict
from ..context import ActionContext
from ..events import ActionEvent, Result
from ..hostlists import collapse
from ._slurm_nodes import _by_name, health_marked, health_prefixes


class Gate:
    def __init__(self, ctx: ActionContext, asked: bool, level: int | None) -> None:
        self.ctx, self.asked = ctx, asked
        self.level = level or ctx.config.validate_.level
        self.refused = False
        self.passed = False
        self.reason = ""
        # the read that found no health-marked node, made just now: the health check's read too
        # (once a validation ran, minutes later, the health check reads again)
        self.fresh: dict[str, NodeInfo] | None = None

    async def _targets(self) -> list[str]:
        if self.asked:
            return list(self.ctx.nodes)
        if not self.ctx.config.validate_.mandatory_for_health_drained:
            return []
        infos = _by_name(await self.ctx.backends.get(SlurmPort).nodes(self.ctx.nodes, jobs=False))
        marked = health_marked(infos, self.ctx.nodes, health_prefixes(self.ctx))
        if not marked:
            self.fresh = infos
        return marked

    async def run(self) -> AsyncIterator[ActionEvent]:
        from .validate import ValidationRow, run_checks, verdict_rows

        nodes = await self._targets()
        if not nodes:
            return
        if self.ctx.dry_run:
            from ..events import Log

            yield Log(message=f"would validate {collapse(nodes)} (dcgmi diag -r {self.level}) before resuming")
            return
        verdicts: list[NodeVerdict] = []
        async for item in run_checks(self.ctx, nodes, self.level):
            if isinstance(item, NodeVerdict):
                verdicts.append(item)
            else:
                yield item
        bad = [v for v in verdicts if not v.passed]
        if bad:
            self.refused = True
            first = bad[0].failed[0]
            yield Result(
                ok=False,
                rows=verdict_rows(verdicts),
                row_model=ValidationRow,
                summary=f"resume refused: validation failed on {collapse(v.node for v in bad)} "
                f"({bad[0].node}: {first.name}: {first.detail}); nothing was resumed",
                data={
                    "validation": [
                        {"node": v.node, "passed": v.passed, "failed": [c.__dict__ for c in v.failed]} for v in verdicts
                    ]
                },
            )
            return
        self.passed = True
        self.reason = f"validation passed (dcgmi diag level {self.level}, GPUs, NVLink, IB)"

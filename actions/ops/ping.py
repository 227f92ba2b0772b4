"""``ping``: proves the whole path (RBAC, audit, engine) works and touches no backend — the cheapest
audited action, used by health checks and by the engine benchmark."""

from __future__ import annotations

from collections.abc import AsyncIterator

from ..context import ActionContext
from ..events import ActionEvent, Result
from ..registry import Kind, Params, TargetKind, action


class PingParams(Params):
    pass


@action(
    "ping",
    example="ping",
    help="check that dcops answers and you may act (touches nothing)",
    params=PingParams,
    kind=Kind.READ,
    targets=TargetKind.NONE,
    category="general",
)
async def ping(ctx: ActionContext, p: PingParams) -> AsyncIterator[ActionEvent]:
    yield Result(summary=f"pong from {ctx.config.cluster.name} for {ctx.principal}")

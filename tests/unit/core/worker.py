"""A separate dcops process for the multi-process tests: `python -m tests.unit.core.worker DB MODE N`.

MODE ping: run N audited `ping` actions. MODE hang: start a slow write action and print its run
id, then wait forever (the test kills it with SIGKILL)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator

from dcops.actions.backends.bundle import Backends
from dcops.actions.config.model import AuditSection, ClusterSection, DcopsConfig, NodeEntry
from dcops.actions.engine import Engine
from dcops.actions.events import ActionEvent, Result, Step
from dcops.actions.inventory import StaticInventory
from dcops.actions.rbac import Policy
from dcops.actions.registry import Kind, MutatingParams, TargetKind, action, registry
from dcops.actions.request import Request
from dcops.actions.store.sqlite import SqliteStore


class HangParams(MutatingParams):
    nodes: str


async def _hang(ctx, p: HangParams) -> AsyncIterator[ActionEvent]:
    yield Step(target=ctx.nodes[0], status="ok", detail="first step done")
    print(ctx.run_id, flush=True)
    await asyncio.sleep(3600)
    yield Result(summary="never")


def engine_for(db: str) -> Engine:
    import dcops.actions.ops  # noqa: F401

    if "test-hang" not in registry:
        action(
            "test-hang",
            help="hangs",
            params=HangParams,
            kind=Kind.WRITE,
            targets=TargetKind.NODES,
            positional=("nodes",),
        )(_hang)
    cfg = DcopsConfig(
        cluster=ClusterSection(name="worker"),
        audit=AuditSection(url=f"sqlite:///{db}"),
        nodes=[NodeEntry(names="n[01-04]", partitions=["gpu"])],
    )
    policy = Policy.from_toml('[roles.all]\nactions = ["*"]\n[[bindings]]\nprincipals = ["unix:*"]\nroles = ["all"]\n')
    return Engine(cfg, Backends(inventory=StaticInventory(cfg.nodes)), SqliteStore(db), policy)


async def main(db: str, mode: str, n: int) -> None:
    eng = engine_for(db)
    closed = await eng.start()
    try:
        if mode == "ping":
            for _ in range(n):
                run = await eng.submit(Request(principal="unix:worker", channel="api", action="ping"))
                await run.wait()
        elif mode == "hang":
            run = await eng.submit(
                Request(principal="unix:worker", channel="api", action="test-hang", params={"nodes": "n01"})
            )
            await run.wait()
        elif mode == "start":
            print("closed:" + ",".join(closed), flush=True)
    finally:
        await eng.aclose()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 0))

"""A separate dcops process sharing a store with others: ``python -m tests.integration.postgres.pg_worker URL MODE [ARGS]``.

Each process builds its own engine on the store at URL (``postgresql://`` or ``sqlite:///``), the way
several consoles and the Slack bot share one deployment. Modes:

- ``ping N [--gate]``: N audited ``ping`` actions; with ``--gate`` print ``ready`` and wait for a line
  on stdin first (so a benchmark times only the actions), then print ``done SECONDS CPU_SECONDS``
  (``DCOPS_BENCH_PROFILE=FILE``: also write a cProfile of the actions to FILE.PID).
- ``drain NODE MARKS``: at the ``go`` line, run ``test-drain`` on NODE; while it holds the node's lock
  it appends ``start``/``end`` lines to the MARKS file and acts until MARKS.release exists; prints
  the outcome.
- ``hang NODE``: run ``test-hang`` on NODE, print its run id once it holds the lock, then wait forever.
- ``request``: ask for ``test-approved`` on n01 as unix:alice, print the approval id, then poll the
  store until someone decides it and print ``seen STATE BY``.
- ``approve ID``: approve ID as unix:bob (which runs the request), print the run's outcome.
- ``act N MARKS``: at the ``go`` line, submit ``test-act`` N times (n01..n04 in turn); the action
  appends ``acted RUN_ID`` to MARKS when (and only when) it runs; one line per attempt: ``ok RUN``,
  ``failed RUN MESSAGE`` or ``refused MESSAGE`` (a database restart test's ledger of what happened).
- ``start``: start an engine (closing runs of dead processes) and print ``closed:RUN,...``.

Env: ``DCOPS_TEST_LEASE`` (lease seconds), ``DCOPS_TEST_LOCK_WAIT`` (guards.lock_wait),
``DCOPS_TEST_HOST`` (pretend to run on that host: what a console on another machine looks like).
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

if os.environ.get("DCOPS_TEST_HOST"):  # before dcops.actions.owner computes the owner string
    _fake = os.environ["DCOPS_TEST_HOST"]
    socket.gethostname = lambda: _fake

from dcops.actions.backends.bundle import Backends
from dcops.actions.config.model import AuditSection, ClusterSection, DcopsConfig, GuardsSection, NodeEntry
from dcops.actions.engine import Engine
from dcops.actions.errors import DcopsError
from dcops.actions.events import ActionEvent, Error, Result, Step
from dcops.actions.inventory import StaticInventory
from dcops.actions.rbac import Policy
from dcops.actions.registry import Kind, MutatingParams, TargetKind, action, registry
from dcops.actions.request import Request
from dcops.actions.store import open_store
from dcops.actions.store.base import Store

POLICY = '[roles.all]\nactions = ["*"]\napprove = ["*"]\n[[bindings]]\nprincipals = ["unix:*"]\nroles = ["all"]\n'


class NodeParams(MutatingParams):
    nodes: str


class DrainParams(NodeParams):
    marks: str


async def _drain(ctx, p: DrainParams) -> AsyncIterator[ActionEvent]:
    # runs only while the engine holds the node lock: the marks show who acted, and when; it keeps
    # acting until the test creates MARKS.release, so the test decides how long the node is held
    with open(p.marks, "a") as f:
        f.write(f"start {os.getpid()} {time.time():.6f} {ctx.run_id}\n")
    deadline = time.monotonic() + 60
    while not os.path.exists(p.marks + ".release") and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    with open(p.marks, "a") as f:
        f.write(f"end {os.getpid()} {time.time():.6f} {ctx.run_id}\n")
    yield Result(summary=f"drained {p.nodes}")


async def _hang(ctx, p: NodeParams) -> AsyncIterator[ActionEvent]:
    yield Step(target=ctx.nodes[0], status="ok", detail="first step done")
    print(ctx.run_id, flush=True)
    await asyncio.sleep(3600)
    yield Result(summary="never")


class ActParams(NodeParams):
    marks: str


async def _act(ctx, p: ActParams) -> AsyncIterator[ActionEvent]:
    with open(p.marks, "a") as f:
        f.write(f"acted {ctx.run_id}\n")
    yield Result(summary=f"acted on {p.nodes}")


async def _approved(ctx, p: NodeParams) -> AsyncIterator[ActionEvent]:
    yield Result(summary=f"did the approved thing on {p.nodes}")


def _register() -> None:
    import dcops.actions.ops  # noqa: F401

    if "test-drain" in registry:
        return
    action(
        "test-drain",
        help="holds a node like a drain",
        params=DrainParams,
        kind=Kind.WRITE,
        targets=TargetKind.NODES,
        positional=("nodes",),
    )(_drain)
    action(
        "test-hang",
        help="hangs holding a node",
        params=NodeParams,
        kind=Kind.WRITE,
        targets=TargetKind.NODES,
        positional=("nodes",),
    )(_hang)
    action(
        "test-act",
        help="records that it acted",
        params=ActParams,
        kind=Kind.WRITE,
        targets=TargetKind.NODES,
        positional=("nodes",),
    )(_act)
    action(
        "test-approved",
        help="needs two people",
        params=NodeParams,
        kind=Kind.WRITE,
        targets=TargetKind.NODES,
        positional=("nodes",),
        approval=True,
    )(_approved)


def make_store(url: str) -> Store:
    if url.startswith("postgresql://"):
        from dcops.actions.store.postgres import PostgresStore

        return PostgresStore(url, lease_seconds=float(os.environ.get("DCOPS_TEST_LEASE", "30")))
    return open_store(url)


def engine_for(url: str) -> Engine:
    _register()
    cfg = DcopsConfig(
        cluster=ClusterSection(name="worker"),
        audit=AuditSection(url=url),
        guards=GuardsSection(lock_wait=float(os.environ.get("DCOPS_TEST_LOCK_WAIT", "0"))),
        nodes=[NodeEntry(names="n[01-04]", partitions=["gpu"])],
    )
    return Engine(cfg, Backends(inventory=StaticInventory(cfg.nodes)), make_store(url), Policy.from_toml(POLICY))


def spawn(url: str, mode: str, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """Start another dcops process on the same store (for the tests and the benchmark)."""
    root = Path(__file__).resolve().parents[3]
    return subprocess.Popen(
        [sys.executable, "-m", "tests.integration.postgres.pg_worker", url, mode, *args],
        cwd=root,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(root), **(env or {})},
    )


def _gate() -> None:
    print("ready", flush=True)
    sys.stdin.readline()


async def _outcome(eng: Engine, req: Request) -> str:
    try:
        run = await eng.submit(req)
    except DcopsError as exc:
        return f"refused {exc}"
    await run.wait()
    fin = run.finished
    return f"{fin.outcome if fin else 'unknown'} {run.run_id} {fin.summary if fin else ''}".strip()


async def main(url: str, mode: str, args: list[str]) -> None:
    eng = engine_for(url)
    closed = await eng.start()
    try:
        if mode == "ping":
            req = Request(principal="unix:worker", channel="api", action="ping")
            if "--gate" in args:
                _gate()
            profile = os.environ.get("DCOPS_BENCH_PROFILE")  # FILE: a cProfile of the actions, as FILE.PID
            prof = None
            if profile:
                import cProfile

                prof = cProfile.Profile()
                prof.enable()
            t0, c0 = time.perf_counter(), time.process_time()
            for _ in range(int(args[0])):
                run = await eng.submit(req)
                await run.wait()
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            if prof is not None:
                prof.disable()
                prof.dump_stats(f"{profile}.{os.getpid()}")
            print(f"done {wall:.6f} {cpu:.6f}", flush=True)  # wall and this process's CPU seconds
        elif mode == "drain":
            node, marks = args[0], args[1]
            _gate()
            print(
                await _outcome(
                    eng,
                    Request(
                        principal="unix:worker",
                        channel="api",
                        action="test-drain",
                        params={"nodes": node, "marks": marks},
                    ),
                ),
                flush=True,
            )
        elif mode == "act":
            _gate()
            for i in range(int(args[0])):
                req = Request(
                    principal="unix:worker",
                    channel="api",
                    action="test-act",
                    params={"nodes": f"n0{i % 4 + 1}", "marks": args[1]},
                )
                print(await _act_once(eng, req), flush=True)
                await asyncio.sleep(0.005)
        elif mode == "hang":
            run = await eng.submit(
                Request(principal="unix:worker", channel="api", action="test-hang", params={"nodes": args[0]})
            )
            await run.wait()
        elif mode == "request":
            await _request(eng)
        elif mode == "approve":
            try:
                run = await eng.approve(args[0], "unix:bob", "slack")
                await run.wait()
                print(f"{run.finished.outcome if run.finished else 'unknown'} {run.run_id}", flush=True)
            except DcopsError as exc:
                print(f"refused {exc}", flush=True)
        elif mode == "start":
            print("closed:" + ",".join(closed), flush=True)
    finally:
        await eng.aclose()


async def _act_once(eng: Engine, req: Request) -> str:
    try:
        run = await eng.submit(req)
    except DcopsError as exc:
        return f"refused {str(exc).splitlines()[0]}"
    await run.wait()
    fin = run.finished
    errors = [e.message for e in run.history if isinstance(e, Error)]
    if fin is not None and fin.outcome == "ok" and not errors:
        return f"ok {run.run_id}"
    return f"failed {run.run_id} {(errors or [fin.summary if fin else 'no outcome'])[-1]}"


async def _request(eng: Engine) -> None:
    from dcops.actions.errors import ApprovalRequired

    try:
        await eng.submit(
            Request(principal="unix:alice", channel="cli", action="test-approved", params={"nodes": "n01"})
        )
        print("no approval asked", flush=True)
        return
    except ApprovalRequired as exc:
        print(exc.approval_id, flush=True)
        approval_id = exc.approval_id
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        appr = await eng.store.get_approval(approval_id)
        if appr is not None and appr.state != "pending":
            print(f"seen {appr.state} {appr.decided_by}", flush=True)
            return
        await asyncio.sleep(0.1)
    print("seen nothing", flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3:]))

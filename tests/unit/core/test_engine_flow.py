"""The engine's flow on test actions registered in a private registry: validation, RBAC, guards,
audit, locks, cancellation, timeouts, crashes, secrets."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from pydantic import Field

from dcops.actions.errors import ApprovalRequired, ConfirmationRequired, DeniedError, UsageError
from dcops.actions.events import ActionEvent, Result, Step
from dcops.actions.registry import Kind, MutatingParams, Params, Registry, TargetKind, action
from dcops.actions.request import Request
from dcops.actions.store.base import AuditQuery

reg = Registry()
GATE: dict[str, asyncio.Event] = {}


class NodeP(MutatingParams):
    nodes: str = Field(...)
    password: str = Field("", description="a secret that must not reach the audit log")


@action(
    "t-touch", help="write", params=NodeP, kind=Kind.WRITE, targets=TargetKind.NODES, positional=("nodes",), into=reg
)
async def touch(ctx, p: NodeP) -> AsyncIterator[ActionEvent]:
    if ctx.dry_run:
        yield Result(summary=f"would touch {len(ctx.nodes)}")
        return
    for n in ctx.nodes:
        yield Step(target=n, status="ok", detail="touched")
    yield Result(summary=f"touched {len(ctx.nodes)}")


@action(
    "t-wipe",
    help="destructive",
    params=NodeP,
    kind=Kind.DESTRUCTIVE,
    targets=TargetKind.NODES,
    positional=("nodes",),
    into=reg,
)
async def wipe(ctx, p: NodeP) -> AsyncIterator[ActionEvent]:
    yield Result(summary="wiped")


@action(
    "t-approve",
    help="needs approval",
    params=NodeP,
    kind=Kind.WRITE,
    targets=TargetKind.NODES,
    positional=("nodes",),
    into=reg,
)
async def approved(ctx, p: NodeP) -> AsyncIterator[ActionEvent]:
    yield Result(summary=f"approved action ran for {ctx.principal}")


@action(
    "t-slow",
    help="waits",
    params=NodeP,
    kind=Kind.WRITE,
    targets=TargetKind.NODES,
    positional=("nodes",),
    timeout=5,
    into=reg,
)
async def slow(ctx, p: NodeP) -> AsyncIterator[ActionEvent]:
    yield Step(target=ctx.nodes[0], status="running", detail="waiting")
    await GATE["g"].wait()
    yield Result(summary="released")


@action(
    "t-hang",
    help="hangs",
    params=NodeP,
    kind=Kind.WRITE,
    targets=TargetKind.NODES,
    positional=("nodes",),
    timeout=0.2,
    into=reg,
)
async def hang(ctx, p: NodeP) -> AsyncIterator[ActionEvent]:
    await asyncio.sleep(30)
    yield Result(summary="never")


@action("t-crash", help="bug", params=NodeP, kind=Kind.WRITE, targets=TargetKind.NODES, positional=("nodes",), into=reg)
async def crash(ctx, p: NodeP) -> AsyncIterator[ActionEvent]:
    raise RuntimeError("boom\nsecond line")
    yield  # pragma: no cover


class ImplyP(NodeP):
    wipe_too: bool = False


@action(
    "t-imply",
    help="also wipes with --wipe-too",
    params=ImplyP,
    kind=Kind.WRITE,
    targets=TargetKind.NODES,
    positional=("nodes",),
    implies=lambda p: ("t-wipe",) if p.wipe_too else (),
    into=reg,
)
async def imply(ctx, p: ImplyP) -> AsyncIterator[ActionEvent]:
    yield Result(summary="done")


class JobsP(MutatingParams):
    jobs: list[str]


@action(
    "t-jobs",
    help="job targets need slurm",
    params=JobsP,
    kind=Kind.WRITE,
    targets=TargetKind.JOBS,
    positional=("jobs",),
    into=reg,
)
async def jobs_action(ctx, p: JobsP) -> AsyncIterator[ActionEvent]:
    yield Result(summary="never")


class ReadP(Params):
    pass


@action("t-read", help="read", params=ReadP, kind=Kind.READ, targets=TargetKind.NONE, into=reg)
async def read(ctx, p: ReadP) -> AsyncIterator[ActionEvent]:
    yield Result(summary="read ok", data={"rows": list(range(100))})


def req(action: str, principal: str = "unix:alice", **params) -> Request:
    return Request(principal=principal, channel="cli", action=action, params=params)


async def events_of(store, run_id):
    return [r.event for r in sorted(await store.query(AuditQuery(run_id=run_id)), key=lambda r: r.seq)]


async def test_allowed_write_is_audited_before_and_after(make_engine) -> None:
    eng = await make_engine(reg)
    run = await eng.submit(req("t-touch", nodes="n[01-03]", password="hunter2"))
    fin = await run.wait()
    assert fin.outcome == "ok" and run.result.summary == "touched 3"
    recs = sorted(await eng.store.query(AuditQuery(run_id=run.run_id)), key=lambda r: r.seq)
    assert [r.event for r in recs] == ["received", "started", "step", "step", "step", "finished"]
    assert recs[1].targets == ["n01", "n02", "n03"] and recs[1].decision == "allow"
    assert all("hunter2" not in r.model_dump_json() for r in recs)
    assert recs[0].params["password"] == "***"
    assert recs[-1].outcome == "ok" and recs[-1].duration is not None


async def test_invalid_params_and_unknown_nodes_are_audited(make_engine) -> None:
    eng = await make_engine(reg)
    with pytest.raises(UsageError, match=r"t-touch: NODES is required"):
        await eng.submit(req("t-touch"))
    with pytest.raises(UsageError, match=r"unknown node n99"):
        await eng.submit(req("t-touch", nodes="n[01,99]"))
    with pytest.raises(UsageError, match=r"unknown action 'nope'"):
        await eng.submit(req("nope"))
    invalid = await eng.store.query(AuditQuery(event="invalid"))
    assert len(invalid) == 3 and {r.action for r in invalid} == {"t-touch", "nope"}


async def test_denied_is_audited_with_reason_and_nothing_runs(make_engine) -> None:
    eng = await make_engine(reg)
    with pytest.raises(DeniedError) as exc:
        await eng.submit(req("t-touch", "unix:carol", nodes="n01,m01"))
    assert "m01" in str(exc.value)
    with pytest.raises(DeniedError):
        await eng.submit(req("t-touch", "unix:viewer", nodes="n01"))
    with pytest.raises(DeniedError):
        await eng.submit(req("t-touch", "unix:mallory", nodes="n01"))
    denied = await eng.store.query(AuditQuery(event="denied"))
    assert len(denied) == 3 and all(r.decision == "deny" and r.detail for r in denied)
    assert not await eng.store.query(AuditQuery(event="started"))


async def test_read_only_mode_refuses_writes_but_not_reads(make_engine) -> None:
    eng = await make_engine(reg, read_only=True)
    with pytest.raises(DeniedError, match="read-only"):
        await eng.submit(req("t-touch", nodes="n01"))
    assert (await (await eng.submit(req("t-read"))).wait()).outcome == "ok"


async def test_destructive_needs_the_echoed_token(make_engine) -> None:
    eng = await make_engine(reg)
    with pytest.raises(ConfirmationRequired) as exc:
        await eng.submit(req("t-wipe", nodes="n[01-04]"))
    assert exc.value.token == "4" and "n[01-04]" in exc.value.alternatives
    with pytest.raises(ConfirmationRequired, match="does not match"):
        await eng.submit(req("t-wipe", nodes="n[01-04]").model_copy(update={"confirm": "3"}))
    run = await eng.submit(req("t-wipe", nodes="n[01-04]").model_copy(update={"confirm": "n[01-04]"}))
    assert (await run.wait()).outcome == "ok"


async def test_dry_run_skips_guards_and_reports_dry_run(make_engine) -> None:
    eng = await make_engine(reg)
    run = await eng.submit(req("t-wipe", nodes="n[01-04]", dry_run=True))
    assert (await run.wait()).outcome == "dry-run"


async def test_two_person_approval(make_engine) -> None:
    eng = await make_engine(reg)
    with pytest.raises(ApprovalRequired) as exc:
        await eng.submit(req("t-approve", nodes="n01"))
    aid = exc.value.approval_id
    with pytest.raises(DeniedError, match="cannot approve"):
        await eng.approve(aid, "unix:alice", "cli")
    with pytest.raises(DeniedError, match="may not approve"):
        await eng.approve(aid, "unix:viewer", "cli")
    run = await eng.approve(aid, "unix:bob", "cli")
    fin = await run.wait()
    assert fin.outcome == "ok" and run.principal == "unix:alice"
    started = await eng.store.query(AuditQuery(run_id=run.run_id, event="started"))
    assert "approved by unix:bob" in started[0].detail
    with pytest.raises(DeniedError, match="already"):
        await eng.approve(aid, "unix:bob", "cli")
    # the used approval cannot be replayed
    with pytest.raises(DeniedError, match="used|not granted"):
        await eng.submit(req("t-approve", nodes="n01").model_copy(update={"approval_id": aid}))
    events = {r.event for r in await eng.store.query(AuditQuery(action="t-approve"))}
    assert {"approval-requested", "approval-granted", "approval-refused", "started", "finished"} <= events


async def test_denied_approval_tells_and_blocks(make_engine) -> None:
    eng = await make_engine(reg)
    with pytest.raises(ApprovalRequired) as exc:
        await eng.submit(req("t-approve", nodes="n02"))
    appr = await eng.deny(exc.value.approval_id, "unix:bob", "cli", "not during the training run")
    assert appr.state == "denied"
    with pytest.raises(DeniedError, match="denied"):
        await eng.submit(req("t-approve", nodes="n02").model_copy(update={"approval_id": appr.id}))


async def test_locks_refuse_a_second_run_on_the_same_node(make_engine) -> None:
    eng = await make_engine(reg)
    GATE["g"] = asyncio.Event()
    first = await eng.submit(req("t-slow", nodes="n01"))
    async for ev in first.events():
        if isinstance(ev, Step):
            break
    second = await eng.submit(req("t-touch", nodes="n[01-02]"))
    fin2 = await second.wait()
    assert fin2.outcome == "failed" and "n01 is locked by run " + first.run_id in fin2.summary
    GATE["g"].set()
    assert (await first.wait()).outcome == "ok"
    assert (await (await eng.submit(req("t-touch", nodes="n01"))).wait()).outcome == "ok"


async def test_cancel_timeout_and_crash_are_recorded(make_engine) -> None:
    eng = await make_engine(reg)
    GATE["g"] = asyncio.Event()
    run = await eng.submit(req("t-slow", nodes="n03"))
    await asyncio.sleep(0.05)
    assert run.cancel()
    assert (await run.wait()).outcome == "cancelled"
    hung = await (await eng.submit(req("t-hang", nodes="n04"))).wait()
    assert hung.outcome == "failed" and "timed out" in hung.summary
    crashed = await eng.submit(req("t-crash", nodes="n05"))
    fin = await crashed.wait()
    assert fin.outcome == "failed" and fin.summary == "internal error in t-crash: RuntimeError: boom"
    outcomes = {r.action: r.outcome for r in await eng.store.query(AuditQuery(event="finished"))}
    assert outcomes == {"t-slow": "cancelled", "t-hang": "failed", "t-crash": "failed"}
    assert (await eng.store.verify()).ok


async def test_options_that_perform_other_actions_need_their_permission(make_engine) -> None:
    eng = await make_engine(reg)
    assert (await (await eng.submit(req("t-imply", "unix:dave", nodes="n01"))).wait()).outcome == "ok"
    with pytest.raises(DeniedError, match="also performs t-wipe"):
        await eng.submit(req("t-imply", "unix:dave", nodes="n01", wipe_too=True))


async def test_backend_failure_before_the_run_is_audited(make_engine) -> None:
    eng = await make_engine(reg)
    with pytest.raises(Exception, match="no slurm backend"):
        await eng.submit(req("t-jobs", jobs=["12"]))
    recs = sorted(await eng.store.query(AuditQuery(action="t-jobs")), key=lambda r: r.seq)
    assert [r.event for r in recs] == ["received", "finished"]
    assert recs[-1].outcome == "failed" and "no slurm backend" in recs[-1].error


async def test_old_runs_drop_their_result_data_but_keep_their_outcome(make_engine) -> None:
    eng = await make_engine(reg)
    runs = []
    for _ in range(40):
        run = await eng.submit(req("t-read"))
        await run.wait()
        runs.append(run)
    assert all(r.result is not None and r.finished is not None for r in runs)
    assert all(r.result.summary == "read ok" for r in runs)
    assert all(r.result.data is None and r.history[-1] is r.finished for r in runs[:20])
    assert runs[-1].result.data == {"rows": list(range(100))}
    assert all(r.run_id in {x.run_id for x in eng.runs()} for r in runs)

"""Approvals are covered by the hash chain: someone with write access to the approvals table
(not to the seal key, not able to rewrite the chain unseen) cannot approve their own request by
editing a row, widen a granted request, or replay a used approval. Each attack is refused by the
engine, audited, and reported by `audit verify`."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pydantic import Field

from dcops.actions.backends.bundle import Backends
from dcops.actions.config.model import AuditSection, ClusterSection, DcopsConfig, NodeEntry
from dcops.actions.engine import Engine
from dcops.actions.errors import ApprovalRequired, DeniedError
from dcops.actions.events import ActionEvent, Result
from dcops.actions.inventory import StaticInventory
from dcops.actions.ops.audit import VerifyParams, audit_verify
from dcops.actions.rbac import Policy
from dcops.actions.registry import Kind, MutatingParams, Registry, TargetKind, action
from dcops.actions.request import Request
from dcops.actions.store.base import AuditEntry, AuditQuery
from dcops.actions.store.sqlite import SqliteStore

reg = Registry()
RAN: list[str] = []


class NodeP(MutatingParams):
    nodes: str = Field(...)


@action(
    "x-approve",
    help="needs approval",
    params=NodeP,
    kind=Kind.WRITE,
    targets=TargetKind.NODES,
    positional=("nodes",),
    into=reg,
)
async def needs_approval(ctx, p: NodeP) -> AsyncIterator[ActionEvent]:
    RAN.append(",".join(ctx.nodes))
    yield Result(summary="ran")


@action("audit-verify", help="verify", params=VerifyParams, kind=Kind.READ, targets=TargetKind.NONE, into=reg)
async def verify_action(ctx, p: VerifyParams) -> AsyncIterator[ActionEvent]:
    async for event in audit_verify(ctx, p):
        yield event


POLICY = """
[roles.ops]
actions = ["*"]
approval = ["x-approve"]
approve = ["x-approve"]
[[bindings]]
principals = ["unix:alice", "unix:bob"]
roles = ["ops"]
"""


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[Engine]:
    cfg = DcopsConfig(
        cluster=ClusterSection(name="t"),
        audit=AuditSection(url=f"sqlite:///{tmp_path / 'a.db'}"),
        nodes=[NodeEntry(names="n[01-08]", partitions=["gpu"])],
    )
    eng = Engine(
        cfg,
        Backends(inventory=StaticInventory(cfg.nodes)),
        SqliteStore(str(tmp_path / "a.db")),
        Policy.from_toml(POLICY),
        registry=reg,
    )
    await eng.start()
    RAN.clear()
    yield eng
    await eng.aclose()


def req(nodes: str, approval: str | None = None) -> Request:
    return Request(
        principal="unix:alice", channel="cli", action="x-approve", params={"nodes": nodes}, approval_id=approval
    )


def edit_row(db: Path, aid: str, **changes) -> None:
    """The attacker's UPDATE of the approvals table (body and state kept consistent)."""
    conn = sqlite3.connect(db)
    body = json.loads(conn.execute("SELECT body FROM approvals WHERE id = ?", (aid,)).fetchone()[0])
    body.update(changes)
    conn.execute("UPDATE approvals SET body = ?, state = ? WHERE id = ?", (json.dumps(body), body["state"], aid))
    conn.commit()
    conn.close()


async def verify(eng: Engine) -> Result:
    run = await eng.submit(Request(principal="unix:bob", channel="cli", action="audit-verify"))
    await run.wait()
    assert run.result is not None
    return run.result


async def refused_and_audited(eng: Engine, request: Request, needle: str) -> None:
    with pytest.raises(DeniedError, match=needle):
        await eng.submit(request)
    denied = await eng.store.query(AuditQuery(event="denied", action="x-approve", limit=1))
    assert denied and needle.split("|")[0] in denied[0].detail
    assert not RAN


async def test_hand_granted_row_is_refused_and_reported(engine: Engine, tmp_path: Path) -> None:
    with pytest.raises(ApprovalRequired) as exc:
        await engine.submit(req("n01"))
    aid = exc.value.approval_id
    edit_row(tmp_path / "a.db", aid, state="granted", decided_by="unix:bob", decided_at="2026-12-04T05:00:00+00:00")
    await refused_and_audited(engine, req("n01", aid), "no grant of it")
    result = await verify(engine)
    assert not result.ok and "approvals table FAILS" in result.summary and aid in result.summary


async def test_widened_grant_is_refused(engine: Engine, tmp_path: Path) -> None:
    with pytest.raises(ApprovalRequired) as exc:
        await engine.submit(req("n01"))
    aid = exc.value.approval_id
    # bob's grant is real; the attacker then widens it before it is used (approve runs it at once,
    # so the widening races a crash of that first run: simulated by granting through the store)
    appr = await engine.store.decide_approval(aid, "granted", "unix:bob", None)
    from dcops.actions.approval_chain import tag

    await engine.store.append(
        [
            AuditEntry(
                ts=appr.decided_at or "",
                run_id=aid,
                event="approval-granted",
                principal="unix:bob",
                channel="cli",
                action="x-approve",
                targets=appr.targets,
                params=appr.params,
                decision="allow",
                detail=f"ok {tag(appr)}",
            )
        ]
    )
    assert (await verify(engine)).ok
    edit_row(tmp_path / "a.db", aid, targets=["n01", "n02", "n03"], params={"nodes": "n[01-03]"})
    await refused_and_audited(engine, req("n[01-03]", aid), "differs from the grant on record")
    assert not (await verify(engine)).ok


async def test_used_approval_set_back_to_granted_is_not_replayed(engine: Engine, tmp_path: Path) -> None:
    with pytest.raises(ApprovalRequired) as exc:
        await engine.submit(req("n04"))
    aid = exc.value.approval_id
    run = await engine.approve(aid, "unix:bob", "cli")
    assert (await run.wait()).outcome == "ok" and RAN == ["n04"]
    assert (await verify(engine)).ok
    RAN.clear()
    edit_row(tmp_path / "a.db", aid, state="granted")
    await refused_and_audited(engine, req("n04", aid), "already used")
    assert not (await verify(engine)).ok


async def test_denied_row_turned_pending_is_reported(engine: Engine, tmp_path: Path) -> None:
    with pytest.raises(ApprovalRequired) as exc:
        await engine.submit(req("n05"))
    aid = exc.value.approval_id
    await engine.deny(aid, "unix:bob", "cli", "no")
    edit_row(tmp_path / "a.db", aid, state="denied", reason="yes, fine")
    result = await verify(engine)
    assert not result.ok and "refusal on record" in result.summary


async def test_a_lost_compare_and_set_is_never_taken_for_a_win(engine: Engine) -> None:
    """Two deciders acting as the same principal (two consoles of one approver, or a retried
    request): the second must not mistake the first one's row for its own success, and one grant
    is used by one run only."""
    from dcops.actions.errors import ApprovalTaken

    with pytest.raises(ApprovalRequired) as exc:
        await engine.submit(req("n01"))
    aid = exc.value.approval_id
    first = await engine.store.decide_approval(aid, "granted", "unix:bob", None)
    assert first.state == "granted"
    with pytest.raises(ApprovalTaken) as lost:
        await engine.store.decide_approval(aid, "granted", "unix:bob", None)
    assert lost.value.current.state == "granted"
    await engine.store.decide_approval(aid, "used", "unix:alice", None, expect="granted")
    with pytest.raises(ApprovalTaken):  # a second run may not use it again
        await engine.store.decide_approval(aid, "used", "unix:alice", None, expect="granted")

"""Attacks on two-person approval: approving or denying one's own request, denying as a nobody,
approving outside one's scope, and finishing someone else's approved run with ``resume``.
Every refusal must be one line and leave an audit record; the approval must stay as it was."""

from __future__ import annotations

import pytest

from dcops.actions.errors import ApprovalRequired, DeniedError
from dcops.actions.request import Request
from tests.unit.security.helpers import records, sim_engine

POLICY = """
[roles.operator]
actions = ["drain", "firmware-update", "ping"]
approval = ["drain"]

[roles.gpu-approver]
actions = ["ping"]
approve = ["drain", "firmware-update"]
scope = { nodes = "gpu[001-016,057-064]" }

[roles.drain-approver-elsewhere]
actions = ["ping"]
approve = ["drain"]
scope = { nodes = "gpu[033-040]" }

[roles.reimage-approver]
actions = ["ping"]
approve = ["reimage"]

[[bindings]]
principals = ["unix:alice", "unix:carol"]
roles = ["operator"]

[[bindings]]
principals = ["unix:bob", "unix:eve"]
roles = ["gpu-approver"]

[[bindings]]
principals = ["unix:olga"]
roles = ["drain-approver-elsewhere"]

[[bindings]]
principals = ["unix:rita"]
roles = ["reimage-approver"]

[[deny]]
name = "eve-no-drain"
principals = ["unix:eve"]
actions = ["drain"]
"""


async def ask(eng, nodes: str = "gpu001", who: str = "unix:alice") -> str:
    with pytest.raises(ApprovalRequired) as exc:
        await eng.submit(Request(principal=who, channel="cli", action="drain", params={"nodes": nodes, "reason": "x"}))
    return exc.value.approval_id


async def refused(eng, call, match: str, aid: str) -> None:
    """``call`` is refused with one line matching ``match``; audited; the approval stays pending."""
    before = len(await records(eng, run_id=aid))
    with pytest.raises(DeniedError) as exc:
        await call
    assert "\n" not in str(exc.value)
    assert match in str(exc.value), str(exc.value)
    recs = await records(eng, run_id=aid)
    assert len(recs) == before + 1 and recs[-1].decision == "deny" and match in recs[-1].detail
    assert (await eng.store.get_approval(aid)).state == "pending"


@pytest.fixture
async def eng(tmp_path):
    engine, _ = await sim_engine(tmp_path, POLICY)
    yield engine
    await engine.aclose()


async def test_the_requester_can_neither_approve_nor_deny(eng) -> None:
    aid = await ask(eng)
    await refused(eng, eng.approve(aid, "unix:alice", "cli"), "unix:alice asked for", aid)
    await refused(eng, eng.deny(aid, "unix:alice", "cli", "never mind"), "cannot deny it", aid)


async def test_a_principal_bound_to_no_role_cannot_deny(eng) -> None:
    aid = await ask(eng)
    await refused(eng, eng.deny(aid, "unix:nobody", "cli"), "unix:nobody is not bound to any role", aid)
    await refused(eng, eng.approve(aid, "unix:nobody", "cli"), "unix:nobody is not bound to any role", aid)


async def test_a_colleague_who_may_run_it_but_not_approve_it_cannot(eng) -> None:
    aid = await ask(eng)
    await refused(eng, eng.approve(aid, "unix:carol", "cli"), "no role of unix:carol may approve drain", aid)
    await refused(eng, eng.deny(aid, "unix:rita", "cli"), "no role of unix:rita may approve drain", aid)


async def test_approving_outside_ones_scope_is_refused(eng) -> None:
    aid = await ask(eng, "gpu020")
    await refused(eng, eng.approve(aid, "unix:bob", "cli"), "gpu020 is outside what unix:bob may approve drain on", aid)
    await refused(eng, eng.deny(aid, "unix:olga", "cli"), "gpu020 is outside what unix:olga may approve drain on", aid)


async def test_a_deny_rule_on_the_action_forbids_approving_it(eng) -> None:
    aid = await ask(eng)
    await refused(eng, eng.approve(aid, "unix:eve", "cli"), "deny rule 'eve-no-drain' forbids drain", aid)


async def test_the_approver_the_policy_names_may_deny_and_approve(eng) -> None:
    aid = await ask(eng)
    appr = await eng.deny(aid, "unix:bob", "cli", "not now")
    assert appr.state == "denied" and appr.decided_by == "unix:bob"
    aid2 = await ask(eng, "gpu002")
    run = await eng.approve(aid2, "unix:bob", "cli")
    assert (await run.wait()).outcome == "ok" and run.principal == "unix:alice"


async def test_withdraw_is_the_requesters_own_and_audited(eng) -> None:
    aid = await ask(eng)
    await refused(eng, eng.withdraw(aid, "unix:bob", "cli"), "only its requester unix:alice may", aid)
    appr = await eng.withdraw(aid, "unix:alice", "cli", "fixed it another way")
    assert appr.state == "withdrawn"
    assert (await records(eng, run_id=aid))[-1].event == "approval-withdrawn"
    assert (await eng.store.verify()).ok  # the chain vouches for the withdrawn row
    with pytest.raises(DeniedError, match="already withdrawn"):
        await eng.approve(aid, "unix:bob", "cli")


async def test_resume_by_another_principal_needs_its_own_approval(tmp_path) -> None:
    eng, _ = await sim_engine(tmp_path, POLICY)
    try:
        with pytest.raises(ApprovalRequired) as exc:  # firmware-update always needs a second person
            await eng.submit(
                Request(
                    principal="unix:alice",
                    channel="cli",
                    action="firmware-update",
                    params={
                        "nodes": "gpu[059-064]",
                        "image": "http://f.example/bios-2.4.1.bin",
                        "component": "BIOS",
                        "max_parallel": 1,
                    },
                )
            )
        run = await eng.approve(exc.value.approval_id, "unix:bob", "cli")
        done = 0
        async for ev in run.events():
            if ev.kind == "step" and ev.status == "ok" and ev.detail.startswith("updated"):
                done += 1
                if done == 2:
                    run.cancel()
        assert run.finished.outcome == "cancelled"
        # carol (an operator too) resumes alice's approved run: a new request, approval included
        with pytest.raises(ApprovalRequired) as again:
            await eng.resume_run(run.run_id, "unix:carol", "cli")
        appr = await eng.store.get_approval(again.value.approval_id)
        assert appr.requester == "unix:carol" and appr.resume_of == run.run_id
        assert [r.event for r in await records(eng, principal="unix:carol")] == ["received", "approval-requested"]
        # carol may not approve it herself; bob may, and the resumed run skips the finished nodes
        with pytest.raises(DeniedError, match="cannot approve"):
            await eng.approve(appr.id, "unix:carol", "cli")
        resumed = await eng.approve(appr.id, "unix:bob", "cli")
        fin = await resumed.wait()
        assert fin.outcome == "ok", fin.summary
        assert (
            sum(
                1
                for e in resumed.history
                if e.kind == "step" and e.status == "ok" and e.detail.startswith("already done")
            )
            == 2
        )
    finally:
        await eng.aclose()


async def test_resume_is_decided_by_rbac_for_the_resumer(tmp_path) -> None:
    eng, _ = await sim_engine(tmp_path, POLICY)
    try:
        with pytest.raises(ApprovalRequired) as exc:
            await eng.submit(
                Request(
                    principal="unix:alice",
                    channel="cli",
                    action="firmware-update",
                    params={
                        "nodes": "gpu[059-060]",
                        "image": "http://f.example/bios-2.4.1.bin",
                        "component": "BIOS",
                        "max_parallel": 1,
                    },
                )
            )
        run = await eng.approve(exc.value.approval_id, "unix:bob", "cli")
        async for ev in run.events():
            if ev.kind == "step":
                run.cancel()
        assert run.finished.outcome == "cancelled"
        with pytest.raises(DeniedError, match="no role of unix:bob allows firmware-update"):
            await eng.resume_run(run.run_id, "unix:bob", "cli")  # bob approves, but may not run it
        assert [r.event for r in await records(eng, principal="unix:bob", action="firmware-update")][-2:] == [
            "received",
            "denied",
        ]
    finally:
        await eng.aclose()

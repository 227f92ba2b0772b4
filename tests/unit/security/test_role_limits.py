"""Attack: combine two roles so one role's looseness lifts the other's limits.

Role A: partition gpu, at most 4 targets, reimage needs approval. Role B: rack r01 (gpu[001-008]),
unlimited, no approval. Through the engine, with the audit trail checked.
"""

from __future__ import annotations

import pytest

from dcops.actions.errors import ApprovalRequired, DeniedError
from dcops.actions.request import Request
from tests.unit.security.helpers import records, sim_engine

POLICY = """
[roles.a]
actions = ["reimage", "drain"]
scope = { partitions = ["gpu"] }
max_targets = 4
approval = ["reimage"]

[roles.b]
actions = ["reimage", "drain"]
scope = { labels = ["rack=r01"] }
allow_yes = true

[roles.approver]
actions = ["ping"]
approve = ["reimage"]

[[bindings]]
principals = ["unix:mallory"]
roles = ["a", "b"]

[[bindings]]
principals = ["unix:bob"]
roles = ["approver"]
"""


def req(action: str, nodes: str, **extra: object) -> Request:
    params = {"nodes": nodes, **({"reason": "x"} if action == "drain" else {})}
    return Request(principal="unix:mallory", channel="cli", action=action, params=params, **extra)


async def test_reimage_outside_the_unlimited_roles_scope_needs_approval(tmp_path) -> None:
    eng, _ = await sim_engine(tmp_path, POLICY)
    try:
        with pytest.raises(ApprovalRequired):  # gpu[017-020]: only role A covers them
            await eng.submit(req("reimage", "gpu[017-020]", confirm="4", yes=True))
        recs = await records(eng, action="reimage")
        assert [r.event for r in recs] == ["received", "approval-requested"]
        assert not [r for r in recs if r.event == "started"]
        # inside rack r01 role B governs: no approval
        spec = eng.registry.get("reimage")
        inside = await eng._resolve(spec, spec.params(nodes="gpu[001-008]"))
        assert eng.decide("unix:mallory", "reimage", inside).approval is False
    finally:
        await eng.aclose()


async def test_drain_past_the_limited_roles_max_targets_is_refused(tmp_path) -> None:
    eng, _ = await sim_engine(tmp_path, POLICY)
    try:
        with pytest.raises(DeniedError) as exc:  # 8 nodes outside r01: A allows 4, B does not cover them
            await eng.submit(req("drain", "gpu[017-024]"))
        assert "8 targets exceed the limit of 4 per request for role a" in str(exc.value)
        assert [r.event for r in await records(eng, action="drain")] == ["received", "denied"]
        # 4 outside r01 (A) plus 8 inside r01 (B) is fine: each target counts against its own role
        run = await eng.submit(
            Request(
                principal="unix:mallory",
                channel="cli",
                action="drain",
                params={"nodes": "gpu[001-008,017-020]", "reason": "x", "dry_run": True},
            )
        )
        assert (await run.wait()).outcome == "dry-run"
        # ... but 5 outside r01 is not
        with pytest.raises(DeniedError, match="5 targets exceed the limit of 4"):
            await eng.submit(
                Request(
                    principal="unix:mallory",
                    channel="cli",
                    action="drain",
                    params={"nodes": "gpu[001-008,017-021]", "reason": "x", "dry_run": True},
                )
            )
    finally:
        await eng.aclose()


async def test_yes_is_allowed_only_where_every_targets_role_allows_it(tmp_path) -> None:
    eng, _ = await sim_engine(tmp_path, POLICY)
    try:
        spec = eng.registry.get("reimage")
        inside = await eng._resolve(spec, spec.params(nodes="gpu[001-002]"))
        mixed = await eng._resolve(spec, spec.params(nodes="gpu[001-002,017]"))
        assert eng.decide("unix:mallory", "reimage", inside).allow_yes is True
        assert eng.decide("unix:mallory", "reimage", mixed).allow_yes is False
    finally:
        await eng.aclose()

"""Attack: reach an action through another action's option. ``drain --cancel-jobs`` must be decided
as a full ``cancel`` of the jobs on the drained nodes, each with every node it runs on: scope, deny
rules, max_targets, approval and typed confirmation, exactly as a direct ``cancel`` would be.

Simulator layout used here: job 48216 runs on gpu[003-006]; jobs 48213 (gpu001), 48214 and 48215
(gpu002) run on one node each.
"""

from __future__ import annotations

import pytest

from dcops.actions.errors import ApprovalRequired, ConfirmationRequired, DeniedError
from dcops.actions.request import Request
from tests.unit.security.helpers import records, running_jobs, sim_engine

DRAIN_EVERYWHERE = """
[roles.drainer]
actions = ["drain"]
"""
BIND = """
[[bindings]]
principals = ["unix:alice"]
roles = ["drainer", "canceller"]
"""


def drain(nodes: str, confirm: str | None = None) -> Request:
    return Request(
        principal="unix:alice",
        channel="cli",
        action="drain",
        confirm=confirm,
        params={"nodes": nodes, "reason": "xid 79", "cancel_jobs": True},
    )


async def test_cancel_scope_is_checked_on_every_node_the_job_runs_on(tmp_path) -> None:
    eng, sim = await sim_engine(
        tmp_path,
        DRAIN_EVERYWHERE
        + """
        [roles.canceller]
        actions = ["cancel", "requeue"]
        scope = { nodes = "gpu[001-004]" }
        """
        + BIND,
    )
    try:
        with pytest.raises(DeniedError) as exc:  # gpu003 is in scope, but the job also runs on gpu[005-006]
            await eng.submit(drain("gpu003", confirm="1"))
        assert "job 48216 (on gpu[003-006]) is outside unix:alice's scope for cancel" in str(exc.value)
        assert "refused as a whole" in str(exc.value) and "\n" not in str(exc.value)
        assert "48216" in await running_jobs(sim)
        assert not (await sim.backends().slurm.nodes(["gpu003"]))[0].drain_flag  # nothing half-done
        recs = await records(eng, action="drain")
        assert [r.event for r in recs] == ["received", "denied"]
        assert recs[1].detail == str(exc.value) and "job 48216 (on gpu[003-006])" in recs[1].detail
        # a direct cancel of that job is refused the same way
        with pytest.raises(DeniedError, match=r"job 48216 \(on gpu\[003-006\]\) is outside"):
            await eng.submit(
                Request(principal="unix:alice", channel="cli", action="cancel", params={"jobs": ["48216"]}, confirm="1")
            )
    finally:
        await eng.aclose()


async def test_a_deny_rule_on_one_of_the_jobs_other_nodes_refuses_the_drain(tmp_path) -> None:
    eng, sim = await sim_engine(
        tmp_path,
        DRAIN_EVERYWHERE
        + """
        [roles.canceller]
        actions = ["cancel"]

        [[deny]]
        name = "hands-off-gpu006"
        principals = ["unix:alice"]
        actions = ["cancel"]
        scope = { nodes = "gpu006" }
        """
        + BIND,
    )
    try:
        with pytest.raises(DeniedError) as exc:
            await eng.submit(drain("gpu003", confirm="1"))
        msg = str(exc.value)
        assert "deny rule 'hands-off-gpu006' forbids cancel on job 48216 (on gpu[003-006])" in msg
        assert "48216" in await running_jobs(sim)
        assert [r.event for r in await records(eng, action="drain")] == ["received", "denied"]
        # drain of a node whose jobs stay clear of gpu006 is fine
        run = await eng.submit(drain("gpu001", confirm="1"))
        assert (await run.wait()).outcome == "ok"
    finally:
        await eng.aclose()


async def test_max_targets_of_cancel_counts_the_jobs(tmp_path) -> None:
    eng, sim = await sim_engine(
        tmp_path,
        DRAIN_EVERYWHERE
        + """
        [roles.canceller]
        actions = ["cancel"]
        max_targets = 2
        """
        + BIND,
    )
    try:
        with pytest.raises(DeniedError, match="3 targets exceed the limit of 2 per request for role canceller"):
            await eng.submit(drain("gpu[001-002]", confirm="3"))  # 48213, 48214, 48215
        assert {"48213", "48214", "48215"} <= await running_jobs(sim)
        assert [r.event for r in await records(eng, action="drain")] == ["received", "denied"]
    finally:
        await eng.aclose()


async def test_approval_of_the_implied_cancel_is_needed_and_checked(tmp_path) -> None:
    eng, sim = await sim_engine(
        tmp_path,
        DRAIN_EVERYWHERE
        + """
        [roles.canceller]
        actions = ["cancel"]
        approval = ["cancel"]

        [roles.drain-approver]
        actions = ["drain"]
        approve = ["drain"]

        [roles.cancel-approver]
        actions = ["drain"]
        approve = ["cancel"]
        scope = { partitions = ["gpu"] }
        """
        + BIND
        + """
        [[bindings]]
        principals = ["unix:dave"]
        roles = ["drain-approver"]

        [[bindings]]
        principals = ["unix:bob"]
        roles = ["cancel-approver"]
        """,
    )
    try:
        # plain drain: no approval; drain --cancel-jobs: the cancel needs it, so the whole request does
        with pytest.raises(ApprovalRequired) as pending:
            await eng.submit(drain("gpu003", confirm="1"))
        assert "48216" in await running_jobs(sim)
        asked = await records(eng, action="drain")
        assert [r.event for r in asked] == ["received", "approval-requested"]
        assert "job 48216 (on gpu[003-006])" in asked[1].detail
        aid = pending.value.approval_id
        # dave may approve drains but not cancels: refused, audited, still pending
        with pytest.raises(DeniedError, match="no role of unix:dave may approve cancel"):
            await eng.approve(aid, "unix:dave", "cli")
        assert (await eng.store.get_approval(aid)).state == "pending"
        run = await eng.approve(aid, "unix:bob", "cli")
        fin = await run.wait()
        assert fin.outcome == "ok"
        assert "48216" not in await running_jobs(sim)
        assert "48216 (on gpu[003-006])" in fin.summary  # every job and every node it ran on
        data = run.result.data.get("slurm", run.result.data)  # the Slurm part (the simulator has Kubernetes too)
        assert data["job_nodes"] == {"48216": ["gpu003", "gpu004", "gpu005", "gpu006"]}
        events = [r.event for r in await records(eng, action="drain")]
        assert "approval-refused" in events and "approval-granted" in events and events[-1] == "finished"
    finally:
        await eng.aclose()


async def test_typed_confirmation_of_the_cancel_applies(tmp_path) -> None:
    eng, sim = await sim_engine(
        tmp_path,
        DRAIN_EVERYWHERE
        + """
        [roles.canceller]
        actions = ["cancel"]
        """
        + BIND,
    )
    try:
        with pytest.raises(ConfirmationRequired) as need:
            await eng.submit(drain("gpu003"))
        assert need.value.token == "1" and "48216 (on gpu[003-006])" in str(need.value)
        with pytest.raises(ConfirmationRequired):  # --yes is not allowed by the canceller role
            await eng.submit(drain("gpu003").model_copy(update={"yes": True}))
        with pytest.raises(ConfirmationRequired, match="does not match"):
            await eng.submit(drain("gpu003", confirm="4"))  # the node count of the job is not the token
        assert "48216" in await running_jobs(sim)
        assert "invalid" in [r.event for r in await records(eng, action="drain")]
        # without --cancel-jobs, drain is not destructive and asks nothing
        plain = await eng.submit(
            Request(principal="unix:alice", channel="cli", action="drain", params={"nodes": "gpu007", "reason": "x"})
        )
        assert (await plain.wait()).outcome == "ok"
    finally:
        await eng.aclose()


async def test_requeue_jobs_is_decided_as_requeue(tmp_path) -> None:
    eng, sim = await sim_engine(
        tmp_path,
        DRAIN_EVERYWHERE
        + """
        [roles.canceller]
        actions = ["cancel"]
        """
        + BIND,
    )
    try:
        with pytest.raises(DeniedError, match="no role of unix:alice allows requeue"):
            await eng.submit(
                Request(
                    principal="unix:alice",
                    channel="cli",
                    action="drain",
                    params={"nodes": "gpu003", "reason": "x", "requeue_jobs": True},
                )
            )
        assert "48216" in await running_jobs(sim)
        assert [r.event for r in await records(eng, action="drain")] == ["received", "denied"]
    finally:
        await eng.aclose()


async def test_a_job_that_was_not_decided_is_never_cancelled(tmp_path, monkeypatch) -> None:
    """A job that starts between the decision and the drain was never decided: left running."""
    eng, sim = await sim_engine(
        tmp_path,
        DRAIN_EVERYWHERE
        + """
        [roles.canceller]
        actions = ["cancel"]
        """
        + BIND,
    )

    async def nothing_seen(spec, params, targets):  # noqa: ANN001 - the decision saw no job on the node
        return [(eng.registry.get("cancel"), [])]

    monkeypatch.setattr(eng, "_implied", nothing_seen)
    try:
        run = await eng.submit(drain("gpu003"))
        fin = await run.wait()
        assert "48216" in await running_jobs(sim)
        step = next(e for e in run.history if e.kind == "step" and e.target == "48216")
        assert step.status == "skipped" and "started after the request was decided" in step.detail
        assert fin.outcome == "ok" and "job(s) cancelled" not in fin.summary
    finally:
        await eng.aclose()


async def test_resume_validate_is_decided_as_validate(tmp_path) -> None:
    """``resume --validate`` runs ``validate`` (dcgmi diag) on the nodes: a principal who may resume
    but not validate is refused, audited, and the node stays drained."""
    eng, sim = await sim_engine(
        tmp_path,
        """
        [roles.resumer]
        actions = ["resume", "drain"]

        [[bindings]]
        principals = ["unix:alice"]
        roles = ["resumer"]
        """,
    )
    try:
        drained = await eng.submit(
            Request(principal="unix:alice", channel="cli", action="drain", params={"nodes": "gpu012", "reason": "x"})
        )
        await drained.wait()
        with pytest.raises(DeniedError, match="no role of unix:alice allows validate"):
            await eng.submit(
                Request(
                    principal="unix:alice", channel="cli", action="resume", params={"nodes": "gpu012", "validate": True}
                )
            )
        assert (await sim.backends().slurm.nodes(["gpu012"]))[0].drain_flag
        assert [r.event for r in await records(eng, action="resume")] == ["received", "denied"]
    finally:
        await eng.aclose()

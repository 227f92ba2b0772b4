"""Approve and Deny in Slack are permissions: a user bound to no role, a viewer, or the requester
clicking Deny is refused with one ephemeral line, the refusal is audited, the request stays pending
and the posted approval message keeps its buttons."""

from __future__ import annotations

from slack_harness import APPROVALS, NOBODY, ONCALL, ONCALL2, VIEWER, Harness
from test_slack_e2e import _ask_requeue

from dcops.bots import blocks


async def test_deny_by_anyone_but_an_approver_is_refused_and_audited(harness: Harness):
    _, approval_id, _ = await _ask_requeue(harness)
    msg_ts = "1700000000.000002"
    for user, needle in (
        (NOBODY, "is not bound to any role"),
        (VIEWER, "may approve requeue"),
        (ONCALL, "cannot deny it"),
    ):
        _, key = await harness.click(blocks.DENY, approval_id, user=user, channel=APPROVALS, message_ts=msg_ts)
        reply = (await harness.responses(key))[0]
        assert needle in reply.args["text"] and reply.args["response_type"] == "ephemeral", reply.args
        assert "\n" not in reply.args["text"].strip()
    assert [a.state for a in await harness.engine.approvals(None) if a.id == approval_id] == ["pending"]
    refused = [r for r in await harness.audit(run_id=approval_id) if r.event == "approval-refused"]
    assert {r.principal for r in refused} == {f"slack:{NOBODY}", f"slack:{VIEWER}", f"slack:{ONCALL}"}
    assert all(r.decision == "deny" for r in refused)
    assert harness.slack.of("chat.update") == []
    # typed, too
    _, _, key = await harness.command(f"deny {approval_id}", user=NOBODY)
    assert "is not bound to any role" in (await harness.responses(key))[0].args["text"]
    # the approver the policy names may deny
    _, key = await harness.click(blocks.DENY, approval_id, user=ONCALL2, channel=APPROVALS, message_ts=msg_ts)
    await harness.slack.wait_for(lambda c: c.method == "chat.update" and c.args["ts"] == msg_ts)
    assert [a.state for a in await harness.engine.approvals(None) if a.id == approval_id] == ["denied"]

"""The Slack bot end to end: signed requests over real HTTP to the served Bolt app, the real
engine and audit log behind it, and every Slack Web API call recorded by a local server."""

from __future__ import annotations

import json
import time

from recording_slack import Call
from slack_harness import ADMIN, APPROVALS, NOBODY, ONCALL, ONCALL2, ONCALL_CHANNEL, OTHER_CHANNEL, VIEWER, Harness

from dcops.bots import blocks


def _text(call: Call) -> str:
    return json.dumps(call.args)


def _buttons(call: Call) -> dict[str, str]:
    return {
        e["action_id"]: e["value"] for b in call.args.get("blocks", []) if b["type"] == "actions" for e in b["elements"]
    }


async def _running_job(h: Harness) -> str:
    from dcops.actions import Request

    run = await h.engine.submit(
        Request(principal=f"slack:{ADMIN}", channel="test", action="jobs", params={"state": "RUNNING"})
    )
    await run.wait()
    assert run.result and run.result.table and run.result.table.rows, "the simulator has no running job"
    return str(run.result.table.rows[0][0])


async def _job_state(h: Harness, job: str) -> str:
    from dcops.actions import Request

    run = await h.engine.submit(Request(principal=f"slack:{ADMIN}", channel="test", action="jobs", params={}))
    await run.wait()
    states = {str(r[0]): r[4] for r in run.result.table.rows}
    return states.get(job, "gone")


# ------------------------------------------------------------------ request verification


async def test_wrong_signature_and_stale_timestamp_are_401_and_nothing_runs(harness: Harness):
    status, _, _ = await harness.command("ping", secret="not-the-secret")
    assert status == 401
    status, _, _ = await harness.command("ping", timestamp=int(time.time()) - 600)
    assert status == 401
    await harness.idle()
    assert harness.slack.calls == []  # no reply, no message, not even auth.test
    assert harness.engine.runs() == []
    assert await harness.audit(action="ping") == []
    status, _, key = await harness.command("ping")  # the same request, signed right, is served
    assert status == 200
    await harness.slack.wait_for(lambda c: c.method == "chat.postMessage")


# ------------------------------------------------------------------ commands and the live message


async def test_run_message_is_posted_then_updated_until_done(harness: Harness):
    t0 = time.monotonic()
    status, body, _ = await harness.command("slow-touch gpu[001-005]")
    acked = time.monotonic()
    assert status == 200 and body == ""
    posted = (await harness.slack.wait_for(lambda c: c.method == "chat.postMessage"))[0]
    assert posted.args["channel"] == ONCALL_CHANNEL and posted.token == "xoxb-test-token"
    assert "running" in posted.args["text"]
    final = (
        await harness.slack.wait_for(lambda c: c.method == "chat.update" and "dcops slow-touch: ok" in c.args["text"])
    )[0]
    updates = harness.slack.of("chat.update")
    ts = (await harness.slack.wait_for(lambda c: c.method == "chat.postMessage"))[0]
    assert acked - t0 < final.at - t0  # the ack came back before the run was done
    assert all(u.args["ts"] == updates[0].args["ts"] for u in updates)
    mid = [u for u in updates if "touching" in _text(u)]
    assert mid, "no update showed the run's progress before it finished"
    body = _text(final)
    run_id = harness.engine.runs()[0].run_id
    assert "gpu[001-005]" in body and "touched 5 node(s)" in body and f"/dcops audit --run {run_id}" in body
    finished = await harness.audit(run_id=run_id, event="finished")
    assert [r.outcome for r in finished] == ["ok"] and finished[0].principal == f"slack:{ONCALL}"
    assert ts.args["channel"] == ONCALL_CHANNEL


async def test_table_results_render_as_a_table_block(harness: Harness):
    await harness.command("jobs --state RUNNING")
    final = (await harness.slack.wait_for(lambda c: c.method == "chat.update" and ": ok" in c.args["text"]))[0]
    tables = [b for b in final.args["blocks"] if b["type"] == "table"]
    assert len(tables) == 1
    assert [c["text"] for c in tables[0]["rows"][0]][:2] == ["job", "partition"]
    assert len(tables[0]["rows"]) > 1


async def test_drain_from_the_shared_grammar_drains_and_reports_per_node(harness: Harness):
    await harness.confirmed_command('drain gpu[001-004] --reason "xid 79"', user=ADMIN)
    final = (await harness.slack.wait_for(lambda c: c.method == "chat.update" and "drain: ok" in c.args["text"]))[0]
    assert "gpu[001-004]" in _text(final)
    steps = await harness.audit(action="drain", event="step")
    nodes = ["gpu001", "gpu002", "gpu003", "gpu004"]
    assert {t for r in steps for t in r.targets} == set(nodes) and all(r.outcome == "ok" for r in steps)
    for node in nodes:  # each node's Slurm drain carries the reason and who asked, via Slack
        assert any(node in r.targets and "xid 79 [slack:U0ADMIN via slack]" in (r.detail or "") for r in steps)


async def test_bad_input_is_one_clear_line_and_never_a_traceback(harness: Harness):
    for text, expect in [
        ("drain gpu[001- --reason x", "hostlist"),
        ("frobnicate gpu001", "unknown action"),
        ('drain gpu001 --reason "unclosed', "cannot parse"),
        ("drain gpu001 --bogus 1", "unknown option"),
    ]:
        status, _, key = await harness.command(text)
        assert status == 200
        reply = (await harness.responses(key))[0]
        assert reply.args["response_type"] == "ephemeral"
        assert expect in reply.args["text"] and "\n" not in reply.args["text"]
        assert "Traceback" not in _text(reply)
    await harness.idle()
    assert harness.slack.of("chat.postMessage") == []


async def test_unmapped_user_is_denied_and_audited(harness: Harness):
    _, _, key = await harness.command("jobs", user=NOBODY)
    reply = (await harness.responses(key))[0]
    assert "denied: slack:U0NOBODY is not bound to any role" in reply.args["text"]
    denied = await harness.audit(principal=f"slack:{NOBODY}", event="denied")
    assert len(denied) == 1 and denied[0].action == "jobs" and denied[0].channel == "slack"
    await harness.idle()
    assert harness.slack.of("chat.postMessage") == []


async def test_help_lists_only_what_the_user_may_run(harness: Harness):
    _, _, key = await harness.command("help", user=VIEWER)
    viewer = (await harness.responses(key))[0]
    _, _, key = await harness.command("help", user=ONCALL)
    oncall = (await harness.responses(key))[0]
    assert "jobs" in viewer.args["text"] and "drain" not in viewer.args["text"]
    assert "drain" in oncall.args["text"] and "cancel" in oncall.args["text"]
    _, _, key = await harness.command("help drain", user=ONCALL)
    usage = (await harness.responses(key))[0]
    assert "usage: drain NODES" in usage.args["text"]
    _, _, key = await harness.command("help drain", user=VIEWER)
    assert "may not run drain" in (await harness.responses(key))[0].args["text"]
    _, _, key = await harness.command("help", user=NOBODY)
    assert "may not run any" in (await harness.responses(key))[0].args["text"]


# ------------------------------------------------------------------ channel rules


async def test_destructive_command_from_a_forbidden_channel_is_refused(harness: Harness):
    job = await _running_job(harness)
    _, _, key = await harness.command(f"cancel {job}", channel=OTHER_CHANNEL)
    reply = (await harness.responses(key))[0]
    assert "may not be run from this channel" in reply.args["text"] and f"<#{ONCALL_CHANNEL}>" in reply.args["text"]
    await harness.idle()
    assert not _buttons(reply) and harness.slack.of("chat.postMessage") == []
    assert await _job_state(harness, job) == "RUNNING"
    records = await harness.audit(action="cancel")  # refused before the engine, still audited
    assert sorted(r.event for r in records) == ["denied", "received"]
    assert "may not be run from this channel" in next(r.detail for r in records if r.event == "denied")


# ------------------------------------------------------------------ confirmation


async def test_destructive_action_needs_the_requesters_confirmation(harness: Harness):
    job = await _running_job(harness)
    _, _, key = await harness.command(f"cancel {job}")
    prompt = (await harness.responses(key))[0]
    assert prompt.args["response_type"] == "ephemeral"
    buttons = _buttons(prompt)
    assert set(buttons) == {blocks.CONFIRM, blocks.CANCEL}
    value = buttons[blocks.CONFIRM]

    # someone else replaying the button is refused, and the prompt stays usable
    _, key = await harness.click(blocks.CONFIRM, value, user=ONCALL2, ephemeral=True)
    other = (await harness.responses(key))[0]
    assert f"only <@{ONCALL}>" in other.args["text"]
    # a forged nonce is refused
    _, key = await harness.click(blocks.CONFIRM, value.split(":")[0] + ":forged", user=ONCALL, ephemeral=True)
    assert "unknown or was already used" in (await harness.responses(key))[0].args["text"]
    assert await _job_state(harness, job) == "RUNNING"

    _, key = await harness.click(blocks.CONFIRM, value, user=ONCALL, ephemeral=True)
    done = (await harness.responses(key))[0]
    assert done.args.get("replace_original") is True and "confirmed" in done.args["text"]
    await harness.slack.wait_for(lambda c: c.method == "chat.update" and "cancel: ok" in c.args["text"])
    assert await _job_state(harness, job) in ("CANCELLED", "gone")
    finished = await harness.audit(action="cancel", event="finished")
    assert [r.outcome for r in finished] == ["ok"]

    _, key = await harness.click(blocks.CONFIRM, value, user=ONCALL, ephemeral=True)  # used once only
    assert "already used" in (await harness.responses(key))[0].args["text"]


async def test_cancel_button_runs_nothing(harness: Harness):
    job = await _running_job(harness)
    _, _, key = await harness.command(f"cancel {job}")
    value = _buttons((await harness.responses(key))[0])[blocks.CANCEL]
    _, key = await harness.click(blocks.CANCEL, value, user=ONCALL, ephemeral=True)
    reply = (await harness.responses(key))[0]
    assert reply.args.get("replace_original") is True and "nothing ran" in reply.args["text"]
    await harness.idle()
    assert await _job_state(harness, job) == "RUNNING"
    assert await harness.audit(action="cancel", event="started") == []


# ------------------------------------------------------------------ approval


async def _ask_requeue(h: Harness) -> tuple[str, str, Call]:
    job = await _running_job(h)
    asked = len(h.slack.of("chat.postMessage", channel=APPROVALS))
    _, _, key = await h.confirmed_command(f"requeue {job}")  # requeue asks first, then needs approval
    told = (await h.responses(key, count=2))[-1]
    posted = (
        await h.slack.wait_for(
            lambda c: c.method == "chat.postMessage" and c.args["channel"] == APPROVALS, count=asked + 1
        )
    )[-1]
    assert "needs a second person's approval" in told.args["text"] and f"<#{APPROVALS}>" in told.args["text"]
    return job, _buttons(posted)[blocks.APPROVE], posted


async def test_approval_self_approval_refused_rbac_checked_then_approved(harness: Harness):
    job, approval_id, posted = await _ask_requeue(harness)
    assert _buttons(posted) == {blocks.APPROVE: approval_id, blocks.DENY: approval_id}
    msg_ts = "1700000000.000001"

    _, key = await harness.click(blocks.APPROVE, approval_id, user=ONCALL, channel=APPROVALS, message_ts=msg_ts)
    refused = (await harness.responses(key))[0]
    assert "cannot approve it" in refused.args["text"] and refused.args["response_type"] == "ephemeral"

    _, key = await harness.click(blocks.APPROVE, approval_id, user=VIEWER, channel=APPROVALS, message_ts=msg_ts)
    assert "may not approve" in (await harness.responses(key))[0].args["text"]
    assert [a.state for a in await harness.engine.approvals(None) if a.id == approval_id] == ["pending"]
    assert harness.slack.of("chat.update") == []

    _, key = await harness.click(blocks.APPROVE, approval_id, user=ONCALL2, channel=APPROVALS, message_ts=msg_ts)
    decided = (await harness.slack.wait_for(lambda c: c.method == "chat.update" and c.args["ts"] == msg_ts))[0]
    assert "Approved* by <@U0ONCALL2>" in _text(decided) and not _buttons(decided)
    thread = (await harness.slack.wait_for(lambda c: c.args.get("thread_ts") == msg_ts))[0]
    assert thread.args["channel"] == APPROVALS and f"approved by <@{ONCALL2}>" in thread.args["text"]
    told = (
        await harness.slack.wait_for(
            lambda c: (
                c.method == "chat.postMessage"
                and c.args["channel"] == ONCALL_CHANNEL
                and "was approved" in c.args["text"]
            )
        )
    )[0]
    assert f"<@{ONCALL}>" in told.args["text"]
    final = (await harness.slack.wait_for(lambda c: c.method == "chat.update" and "requeue: ok" in c.args["text"]))[0]
    assert f"approved by <@{ONCALL2}>" in _text(final)
    granted = await harness.audit(event="approval-granted")
    assert len(granted) == 1 and granted[0].principal == f"slack:{ONCALL2}"
    refused_records = await harness.audit(event="approval-refused")
    assert {r.principal for r in refused_records} == {f"slack:{ONCALL}", f"slack:{VIEWER}"}
    started = [r for r in await harness.audit(action="requeue", event="started") if not r.params.get("dry_run")]
    assert len(started) == 1 and started[0].principal == f"slack:{ONCALL}" and job in started[0].targets

    _, key = await harness.click(blocks.APPROVE, approval_id, user=ONCALL2, channel=APPROVALS, message_ts=msg_ts)
    assert "already" in (await harness.responses(key))[0].args["text"]  # no second run


async def test_deny_tells_the_thread_and_the_requester_and_runs_nothing(harness: Harness):
    job, approval_id, _ = await _ask_requeue(harness)
    msg_ts = "1700000000.000002"
    await harness.click(blocks.DENY, approval_id, user=ONCALL2, channel=APPROVALS, message_ts=msg_ts)
    decided = (await harness.slack.wait_for(lambda c: c.method == "chat.update" and c.args["ts"] == msg_ts))[0]
    assert "Denied* by <@U0ONCALL2>" in _text(decided) and not _buttons(decided)
    thread = (await harness.slack.wait_for(lambda c: c.args.get("thread_ts") == msg_ts))[0]
    assert f"denied by <@{ONCALL2}>" in thread.args["text"]
    told = (
        await harness.slack.wait_for(lambda c: c.method == "chat.postMessage" and c.args["channel"] == ONCALL_CHANNEL)
    )[0]
    assert "was denied" in told.args["text"] and "nothing ran" in told.args["text"]
    await harness.idle()
    assert [r for r in await harness.audit(action="requeue", event="started") if not r.params.get("dry_run")] == []
    assert [a.state for a in await harness.engine.approvals(None) if a.id == approval_id] == ["denied"]
    assert await _job_state(harness, job) == "RUNNING"


async def test_approved_but_then_refused_by_a_guard_tells_everyone(harness: Harness):
    """Between the request and the approval the partition lost nodes: the engine grants the approval,
    then its blast-radius guard refuses the run; the thread and the requester both hear why."""
    from dcops.actions import Request

    _, _, key = await harness.confirmed_command('drain gpu[001-020] --reason "bad batch"')
    await harness.responses(key)
    posted = (
        await harness.slack.wait_for(lambda c: c.method == "chat.postMessage" and c.args["channel"] == APPROVALS)
    )[0]
    approval_id = _buttons(posted)[blocks.APPROVE]
    other = await harness.engine.submit(
        Request(
            principal=f"slack:{ADMIN}",
            channel="test",
            action="drain",
            params={"nodes": "gpu[021-030]", "reason": "other work"},
        )
    )
    assert (await other.wait()).outcome == "ok"
    msg_ts = "1700000000.000003"
    await harness.click(blocks.APPROVE, approval_id, user=ONCALL2, channel=APPROVALS, message_ts=msg_ts)
    thread = (await harness.slack.wait_for(lambda c: c.args.get("thread_ts") == msg_ts))[0]
    assert "approved by" in thread.args["text"] and "engine refused to run it" in thread.args["text"]
    assert "partition gpu" in thread.args["text"]
    told = (
        await harness.slack.wait_for(lambda c: c.method == "chat.postMessage" and c.args["channel"] == ONCALL_CHANNEL)
    )[0]
    assert f"<@{ONCALL}>" in told.args["text"] and "refused" in told.args["text"]
    await harness.idle()
    assert [
        r
        for r in await harness.audit(action="drain", event="started")
        if "gpu001" in r.targets and not r.params.get("dry_run")
    ] == []  # only the approvers' plan ran


async def test_where_the_bot_cannot_post_the_result_goes_to_the_requester(harness: Harness):
    harness.slack.fail["chat.postMessage"] = "channel_not_found"  # e.g. a DM the bot is not part of
    _, _, key = await harness.command("ping", channel="D0DIRECT")
    reply = (await harness.responses(key))[0]
    assert "ping: ok" in reply.args["text"] and reply.args["response_type"] == "ephemeral"
    assert harness.slack.of("chat.update") == []


async def test_rate_limited_updates_are_retried_and_the_final_state_lands(harness: Harness):
    harness.slack.rate_limit["chat.update"] = 1
    await harness.command("ping")
    limited, final = await harness.slack.wait_for(
        lambda c: c.method == "chat.update" and "ping: ok" in c.args["text"], count=2
    )  # a 429, then the retry
    assert final.at - limited.at >= 0.9  # it waited for Retry-After
    assert final.args["ts"] == limited.args["ts"] and final.args["blocks"] == limited.args["blocks"]


async def test_approve_and_deny_by_command_update_the_posted_approval_message(harness: Harness):
    _, approval_id, _ = await _ask_requeue(harness)
    _, _, key = await harness.command(f"approve {approval_id}", user=ONCALL)  # self-approval, typed
    assert "cannot approve it" in (await harness.responses(key))[0].args["text"]
    _, _, key = await harness.command(f"approve {approval_id}", user=ONCALL2, channel=OTHER_CHANNEL)
    reply = (await harness.responses(key))[0]
    assert reply.args["text"].startswith(f"approved `{approval_id}`; run `r")
    updated = (await harness.slack.wait_for(lambda c: c.method == "chat.update" and c.args["channel"] == APPROVALS))[0]
    assert not _buttons(updated) and "Approved* by <@U0ONCALL2>" in _text(updated)
    await harness.slack.wait_for(lambda c: c.args.get("thread_ts") == updated.args["ts"])
    await harness.slack.wait_for(lambda c: c.method == "chat.update" and "requeue: ok" in c.args["text"])

    _, second, _ = await _ask_requeue(harness)
    _, _, key = await harness.command(f"deny {second} wrong job, check the array id", user=ONCALL2)
    assert (await harness.responses(key))[0].args["text"] == f"denied `{second}`; nothing ran"
    refused = [r for r in await harness.audit(event="approval-refused") if r.run_id == second]
    assert len(refused) == 1 and "wrong job, check the array id" in (refused[0].detail or "")
    _, _, key = await harness.command("deny", user=ONCALL2)
    assert "usage: /dcops deny APPROVAL_ID" in (await harness.responses(key))[0].args["text"]


async def test_metric_range_query_attaches_a_chart(harness: Harness):
    # typed with Slack's typographic quotes and its &lt;/&gt; escaping, as Slack delivers it
    await harness.command('query ‘DCGM_FI_DEV_GPU_TEMP{Hostname="gpu017", gpu=~"0|1"} &gt; 0’ --range 1h --step 5m')
    final = (await harness.slack.wait_for(lambda c: c.method == "chat.update" and "query: " in c.args["text"]))[0]
    assert "query: ok" in final.args["text"], final.args["text"]
    charts = [b["text"]["text"] for b in final.args["blocks"] if b["type"] == "section" and "```" in b["text"]["text"]]
    assert len(charts) == 1
    lines = charts[0].strip("`\n").splitlines()
    assert len(lines) == 2 and all("min " in ln and " last " in ln for ln in lines)
    assert any(ch in charts[0] for ch in "▁▂▃▄▅▆▇█")


async def test_only_the_requester_or_a_stop_permission_can_stop_a_running_run(harness: Harness):
    await harness.command("slow-touch gpu[001-005]")
    update = (
        await harness.slack.wait_for(  # one node done, the rest to go
            lambda c: c.method == "chat.update" and blocks.STOP in _text(c) and "1/5" in _text(c)
        )
    )[0]
    run_id = _buttons(update)[blocks.STOP]
    _, key = await harness.click(blocks.STOP, run_id, user=VIEWER, message_ts=update.args["ts"])
    refusal = (await harness.responses(key))[0].args
    assert f"only <@{ONCALL}>" in refusal["text"]
    assert f"only <@{ONCALL}>" in json.dumps(refusal["blocks"])  # the mention renders, not &lt;@…&gt;
    assert [r.principal for r in await harness.audit(action="stop", event="denied")] == [f"slack:{VIEWER}"]
    _, key = await harness.click(blocks.STOP, run_id, user=ONCALL, message_ts=update.args["ts"])
    assert "stopping run" in (await harness.responses(key))[0].args["text"]
    final = (
        await harness.slack.wait_for(lambda c: c.method == "chat.update" and "slow-touch: cancelled" in c.args["text"])
    )[0]
    assert blocks.STOP not in _text(final)
    finished = await harness.audit(run_id=run_id, event="finished")
    assert [r.outcome for r in finished] == ["cancelled"]
    steps = await harness.audit(run_id=run_id, event="step")
    done = [r for r in steps if r.outcome == "ok"]
    assert 0 < len(done) < 5  # stopped part-way: some nodes done, not all
    assert {r.targets[0] for r in steps} == {f"gpu00{i}" for i in range(1, 6)}  # the rest: a final state each


async def test_approval_after_a_bot_restart_tells_the_requester_by_dm(harness: Harness):
    job, approval_id, _ = await _ask_requeue(harness)
    harness.bot.approvals.clear()  # what a restarted bot remembers: nothing
    await harness.click(blocks.APPROVE, approval_id, user=ONCALL2, channel=APPROVALS, message_ts="1700000000.000009")
    told = (await harness.slack.wait_for(lambda c: c.method == "chat.postMessage" and c.args["channel"] == ONCALL))[0]
    assert f"your `/dcops requeue --jobs {job}` was approved by <@{ONCALL2}>" in told.args["text"]
    final = (await harness.slack.wait_for(lambda c: c.method == "chat.update" and "requeue: ok" in c.args["text"]))[0]
    assert final.args["channel"] == ONCALL


async def test_the_last_update_is_the_final_state_even_when_an_update_is_in_flight(harness: Harness):
    harness.slack.rate_limit["chat.update"] = 1  # the first update waits 1 s in flight (Retry-After)
    await harness.command("slow-touch gpu[001-002]")
    await harness.slack.wait_for(lambda c: c.method == "chat.update" and "slow-touch: ok" in c.args["text"])
    await harness.idle()
    updates = harness.slack.of("chat.update")
    assert "slow-touch: ok" in updates[-1].args["text"]  # what Slack applied last is the end state


async def test_a_failing_run_ends_failed_with_its_error_in_one_line(harness: Harness):
    await harness.command("query 'rate(foo[5m'")
    final = (await harness.slack.wait_for(lambda c: c.method == "chat.update" and "query: failed" in c.args["text"]))[0]
    errors = [
        b["text"]["text"] for b in final.args["blocks"] if b["type"] == "section" and ":warning:" in b["text"]["text"]
    ]
    assert len(errors) == 1 and "bad_data" in errors[0] and "\n" not in errors[0] and "Traceback" not in _text(final)
    run_id = harness.engine.runs()[0].run_id
    assert [r.outcome for r in await harness.audit(run_id=run_id, event="finished")] == ["failed"]

"""Issue 18 on Slack, with signed requests over real HTTP: a replayed request is refused and
audited; a Stop leaves a card that says where every target ended, with a Resume button for the
nodes left drained; error lines render mentions."""

from __future__ import annotations

import asyncio
import json
import time

from slack_harness import ADMIN, ONCALL, ONCALL_CHANNEL, Harness
from slack_requests import button_body, post_signed, slash_body

from dcops.bots import blocks


def _text(call) -> str:  # noqa: ANN001
    return json.dumps(call.args)


def _buttons(call) -> dict[str, str]:  # noqa: ANN001
    return {
        e["action_id"]: e["value"] for b in call.args.get("blocks", []) if b["type"] == "actions" for e in b["elements"]
    }


async def test_a_replayed_signed_command_is_refused_and_audited(harness: Harness):
    _, url = harness.new_response_url()
    body = slash_body("resume gpu003", user=ADMIN, channel=ONCALL_CHANNEL, response_url=url)
    ts = int(time.time())
    first, _ = await post_signed(harness.session, harness.server.url, body, timestamp=ts)
    again, text = await post_signed(harness.session, harness.server.url, body, timestamp=ts)  # byte for byte
    assert first == 200 and again == 401 and "replayed" in text
    await harness.idle()
    runs = [r for r in await harness.audit(action="resume") if r.event == "started"]
    assert len(runs) == 1  # it ran once, not twice
    refused = await harness.audit(event="denied")
    assert [(r.principal, r.action) for r in refused] == [(f"slack:{ADMIN}", "resume")]
    assert "replayed Slack request refused" in refused[0].detail
    status, _, _ = await harness.command("resume gpu004", user=ADMIN)  # a fresh request is served
    assert status == 200


async def test_drain_and_requeue_ask_the_same_typed_confirmation_on_slack(harness: Harness):
    """The same guard as the TUI's fleet `d` and the CLI on a terminal: the engine's token."""
    _, _, key = await harness.command('drain gpu[001-016] --reason "xid 79"', user=ADMIN)
    prompt = (await harness.responses(key))[0]
    assert "press Confirm to act on 16 node(s) gpu[001-016]" in prompt.args["text"]  # a button: no typing
    assert "typing" not in prompt.args["text"] and blocks.CONFIRM in _buttons(prompt)
    await harness.idle()
    assert [r for r in await harness.audit(action="drain") if r.event == "started"] == []


async def test_a_replayed_button_click_is_refused(harness: Harness):
    await harness.command("slow-touch gpu[001-005]")
    update = (
        await harness.slack.wait_for(
            lambda c: c.method == "chat.update" and blocks.STOP in _text(c) and "1/5" in _text(c)
        )
    )[0]
    _, url = harness.new_response_url()
    body = button_body(
        action_id=blocks.STOP,
        value=_buttons(update)[blocks.STOP],
        user=ONCALL,
        channel=ONCALL_CHANNEL,
        response_url=url,
        message_ts=update.args["ts"],
    )
    ts = int(time.time())
    assert (await post_signed(harness.session, harness.server.url, body, timestamp=ts))[0] == 200
    assert (await post_signed(harness.session, harness.server.url, body, timestamp=ts))[0] == 401
    refused = await harness.audit(event="denied")
    assert refused and refused[-1].action == f"button:{blocks.STOP}"


async def test_stop_card_lists_final_states_and_resume_button_returns_leftovers(harness: Harness):
    """A run stopped by its requester: the card gives every target its final state (the slow test
    action drains nothing, so nothing is left drained: the button's presence for leftovers is the
    rendering test below, the leftovers themselves tests/unit/core/test_stop_settle.py). Then the
    Resume button, clicked, resumes the nodes through the engine as the clicker."""
    await harness.command("slow-touch gpu[001-005]")
    update = (
        await harness.slack.wait_for(
            lambda c: c.method == "chat.update" and blocks.STOP in _text(c) and "1/5" in _text(c)
        )
    )[0]
    run_id = _buttons(update)[blocks.STOP]
    _, key = await harness.click(blocks.STOP, run_id, user=ONCALL, message_ts=update.args["ts"])
    assert "stopping run" in (await harness.responses(key))[0].args["text"]
    final = (
        await harness.slack.wait_for(lambda c: c.method == "chat.update" and "slow-touch: cancelled" in c.args["text"])
    )[0]
    card = _text(final)
    assert (
        f"stopped by slack:{ONCALL}" in card
        and "not started" in card
        and "running" not in card.lower().replace("keep running", "")
    )
    for _ in range(100):  # the stop action confirms once the run's finished record is in
        stop_recs = await harness.audit(action="stop", event="finished")
        if stop_recs:
            break
        await asyncio.sleep(0.1)
    assert [r.outcome for r in stop_recs] == ["ok"] and stop_recs[0].principal == f"slack:{ONCALL}"
    # the Resume button: resume the nodes, through the engine, as the clicker
    await harness.confirmed_command('drain gpu[010-011] --reason "left by a stop"', user=ADMIN)
    await harness.idle()
    _, key = await harness.click(blocks.RESUME_LEFT, "gpu[010-011]", user=ADMIN, message_ts=final.args["ts"])
    await harness.idle()
    resumed = [r for r in await harness.audit(action="resume") if r.event == "finished"]
    assert resumed and resumed[-1].outcome == "ok" and resumed[-1].targets == ["gpu010", "gpu011"]


def test_resume_button_only_on_a_card_with_leftovers():
    from dcops.actions import events
    from dcops.bots.run_view import RunView

    view = RunView(action="firmware-update", command_text="firmware-update gpu[059-064] ...", requester=ONCALL)
    view.apply(events.RunStarted(run_id="r1", action="firmware-update", targets=["gpu059", "gpu060"]))
    view.apply(
        events.RunFinished(
            run_id="r1",
            outcome="cancelled",
            duration=3,
            summary="stopped",
            left_out_of_service=["gpu059", "gpu060"],
            stopped_by=f"slack:{ONCALL}",
        )
    )
    _, bl = blocks.run_message(view)
    buttons = [e for b in bl if b["type"] == "actions" for e in b["elements"]]
    assert [(b["action_id"], b["value"], b["text"]["text"]) for b in buttons] == [
        (blocks.RESUME_LEFT, "gpu[059-060]", "Resume gpu[059-060]")
    ]
    view.finished = events.RunFinished(run_id="r1", outcome="cancelled", duration=3, summary="stopped")
    _, bl = blocks.run_message(view)
    assert not [b for b in bl if b["type"] == "actions"]


def test_error_lines_render_mentions_and_channel_links_but_not_broadcasts():
    _, bl = blocks.error_line(
        "only <@U0ONCALL>, who started run r1, can stop it; see <#C0APPROVALS> <!channel> <http://x|y>"
    )
    text = bl[0]["text"]["text"]
    assert "<@U0ONCALL>" in text and "<#C0APPROVALS>" in text
    assert "&lt;!channel&gt;" in text and "&lt;http://x|y&gt;" in text


async def test_dcops_slack_port_and_api_base_url_for_local_testing(slack, tmp_path):
    """`dcops --demo slack --port 0 --api-base-url URL` serves on a free port and talks to the
    given Web API (here the recording server: its auth.test call is the proof)."""
    import os
    import re
    import signal
    import sys
    from pathlib import Path

    env = dict(
        os.environ,
        SLACK_BOT_TOKEN="xoxb-test",
        SLACK_SIGNING_SECRET="s3cret",
        XDG_DATA_HOME=str(tmp_path),
        XDG_STATE_HOME=str(tmp_path),
    )
    env.pop("SLACK_APP_TOKEN", None)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "dcops.console.cli",
        "--demo",
        "slack",
        "--port",
        "0",
        "--api-base-url",
        slack.base_url,
        cwd=str(Path(__file__).resolve().parents[3]),
        env=env,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        line = (await asyncio.wait_for(proc.stderr.readline(), 60)).decode()
        assert re.match(r"dcops slack: listening on http://127\.0\.0\.1:(\d+)/slack/events", line), line
        assert int(line.rsplit(":", 1)[1].split("/")[0]) != 3000
        assert any(c.method == "auth.test" for c in slack.calls)
    finally:
        proc.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(proc.wait(), 30) == 0


def test_verdict_icon_follows_severity_never_a_tick_for_a_bad_cable():
    from dcops.actions import events
    from dcops.bots.run_view import RunView

    def icon_line(severity: str) -> str:
        view = RunView(action="triage-cable", command_text="triage-cable gpu023", requester=ONCALL)
        view.apply(events.Result(summary="gpu023:mlx5_0:1 <-> ibsw: bad cable", ok=True, severity=severity))
        view.apply(events.RunFinished(run_id="r1", outcome="ok", duration=1))
        _, bl = blocks.run_message(view)
        return next(b["text"]["text"] for b in bl if b["type"] == "section" and "bad cable" in b["text"]["text"])

    assert icon_line("bad").startswith(":red_circle:") and ":white_check_mark:" not in icon_line("bad")
    assert icon_line("warning").startswith(":warning:")
    assert icon_line("ok").startswith(":white_check_mark:")


async def test_triage_of_the_demo_bad_cable_is_marked_bad(harness: Harness):
    from dcops.actions import Request

    run = await harness.engine.submit(
        Request(principal=f"slack:{ADMIN}", channel="test", action="triage-cable", params={"auto": True})
    )
    await run.wait()
    assert run.result is not None and run.result.severity in ("bad", "warning"), run.result.summary


async def test_dry_run_message_shows_the_plan_and_no_target_running(harness: Harness):
    await harness.command("drain gpu[001-003] --reason x --dry-run", user=ADMIN)  # a dry run asks nothing
    final = (await harness.slack.wait_for(lambda c: c.method == "chat.update" and "drain: dry-run" in c.args["text"]))[
        0
    ]
    card = _text(final)
    assert "would drain 3 node(s)" in card and "48213" in card
    assert "running (" not in card and ":memo: would drain" in card  # a plan, not a green tick


async def test_approval_card_shows_the_plan_and_approve_asks_once_more(harness: Harness):
    _, _, key = await harness.confirmed_command('drain gpu[001-002] --reason "psu swap"')  # oncall: needs approval
    posted = (
        await harness.slack.wait_for(lambda c: c.method == "chat.postMessage" and c.args["channel"] == "C0APPROVALS")
    )[0]
    card = _text(posted)
    assert "Plan:" in card and "would drain 2 node(s) gpu[001-002]" in card and "48213" in card  # the affected jobs
    approve = [
        e
        for b in posted.args["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == blocks.APPROVE
    ][0]
    assert approve["confirm"]["confirm"]["text"] == "Approve and run"
    started = [r for r in await harness.audit(action="drain", event="started") if not r.params.get("dry_run")]
    assert started == []  # the plan changed nothing


async def test_three_am_bad_cable_to_drain_in_three_messages(harness: Harness):
    """3 a.m. scenario 2 on Slack: /dcops triage-cable --auto, the card's "Run: drain gpu023 ..."
    button, Confirm on the prompt. Three things the on-call person sends; the drain is audited."""
    sent = 0
    await harness.command("triage-cable --auto", user=ADMIN)
    sent += 1
    final = (
        await harness.slack.wait_for(
            lambda c: c.method == "chat.update" and "triage-cable: ok" in c.args["text"], timeout=30
        )
    )[0]
    assert ":red_circle:" in _text(final)  # a bad cable is never a green tick
    followups = {k: v for k, v in _buttons(final).items() if k.startswith(blocks.FOLLOWUP)}
    drain = next(v for v in followups.values() if v.startswith("drain gpu023"))
    _, key = await harness.click(next(k for k, v in followups.items() if v == drain), drain, user=ADMIN)
    sent += 1
    prompt = (await harness.responses(key))[0]
    _, key = await harness.click(blocks.CONFIRM, _buttons(prompt)[blocks.CONFIRM], user=ADMIN, ephemeral=True)
    sent += 1
    await harness.slack.wait_for(lambda c: c.method == "chat.update" and "drain: ok" in c.args["text"], timeout=30)
    finished = await harness.audit(action="drain", event="finished", node="gpu023")
    assert [r.outcome for r in finished] == ["ok"] and finished[0].principal == f"slack:{ADMIN}"
    assert sent == 3


async def test_every_triage_follow_up_is_one_button_through_the_engine(harness: Harness):
    """Not only the first: the last suggested follow-up (reset the counters of the second bad link)
    is one button too, decided, confirmed and audited like a typed command."""
    await harness.command("triage-cable --auto", user=ADMIN)
    final = (
        await harness.slack.wait_for(
            lambda c: c.method == "chat.update" and "triage-cable: ok" in c.args["text"], timeout=30
        )
    )[0]
    followups = {k: v for k, v in _buttons(final).items() if k.startswith(blocks.FOLLOWUP)}
    assert len(followups) == 4 and sum(v.startswith("reset-counters") for v in followups.values()) == 2, followups
    action_id, last = list(followups.items())[-1]
    assert last.startswith("reset-counters gpu031"), last
    _, key = await harness.click(action_id, last, user=ADMIN)
    prompt = (await harness.responses(key))[0]  # destructive: the Confirm prompt first
    _, key = await harness.click(blocks.CONFIRM, _buttons(prompt)[blocks.CONFIRM], user=ADMIN, ephemeral=True)
    await harness.slack.wait_for(
        lambda c: c.method == "chat.update" and "reset-counters: ok" in c.args["text"], timeout=30
    )
    done = await harness.audit(action="reset-counters", event="finished")
    assert [(r.outcome, r.principal, r.targets) for r in done] == [("ok", f"slack:{ADMIN}", ["gpu031"])], done


async def test_three_am_xid_79_to_drain_in_two_messages(harness: Harness):
    await harness.command("gpu-health gpu017", user=ADMIN)
    health = (
        await harness.slack.wait_for(
            lambda c: c.method == "chat.update" and "gpu-health" in c.args["text"] and "79" in _text(c), timeout=30
        )
    )[0]
    assert "79" in _text(health)
    _, _, key = await harness.confirmed_command('drain gpu017 --reason "xid 79"', user=ADMIN)  # command + Confirm
    await harness.slack.wait_for(lambda c: c.method == "chat.update" and "drain: ok" in c.args["text"], timeout=30)
    assert [r.outcome for r in await harness.audit(action="drain", event="finished", node="gpu017")] == ["ok"]


async def test_a_large_read_keeps_the_channel_short_and_puts_the_table_in_the_thread(harness: Harness):
    await harness.command("nodes", user=ADMIN)
    final = (await harness.slack.wait_for(lambda c: c.method == "chat.update" and "nodes: ok" in c.args["text"]))[0]
    table = [b for b in final.args["blocks"] if b["type"] == "table"][0]
    assert len(table["rows"]) == 1 + 10 and "full table is in the thread" in _text(final)
    thread = (
        await harness.slack.wait_for(
            lambda c: c.method == "chat.postMessage" and c.args.get("thread_ts") == final.args["ts"]
        )
    )[0]
    rows = [b for b in thread.args["blocks"] if b["type"] == "table"][0]["rows"]
    assert len(rows) > 11 and len(json.dumps(final.args)) < len(json.dumps(thread.args))

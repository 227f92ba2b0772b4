"""Alert messages in Slack on the simulated cluster (the lab e2e is tests/integration/alerts): the
message carries evidence and buttons; a destructive suggestion asks for the Confirm button and the
confirmed run still carries the alert's fingerprint and updates the alert message; a viewer's click
is refused and audited; a forged button value runs nothing; an unknown node gets no buttons."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import aiohttp
import pytest
from recording_slack import RecordingSlack
from slack_harness import ADMIN, APPROVALS, ONCALL_CHANNEL, VIEWER, Harness
from slack_requests import SECRET

from dcops.actions import Engine
from dcops.actions.alerts import AlertInbox
from dcops.actions.store.base import AuditQuery
from dcops.bots import blocks
from dcops.bots.alert_slack import ALERT_ACTION, register, render
from dcops.bots.app import build_app
from dcops.bots.server import serve_http
from dcops.bots.settings import SlackSettings


@pytest.fixture
async def alert_harness(engine: Engine, slack: RecordingSlack) -> AsyncIterator[tuple[Harness, AlertInbox]]:
    settings = SlackSettings(
        bot_token="xoxb-test-token",
        signing_secret=SECRET,
        api_base_url=slack.base_url,
        approvals_channel=APPROVALS,
        channel_rules={"destructive": [ONCALL_CHANNEL]},
        update_interval=0.05,
        confirm_ttl=60,
    )
    async with aiohttp.ClientSession() as bot_session, aiohttp.ClientSession() as session:
        app, bot = build_app(engine, settings, session=bot_session)
        inbox = AlertInbox(engine)
        register(app, bot, inbox, ONCALL_CHANNEL)
        server = await serve_http(app, "127.0.0.1", 0)
        yield Harness(server=server, slack=slack, engine=engine, bot=bot, session=session), inbox
        await bot.drain(timeout=10)
        await server.stop()


def _payload(node: str, fp: str, name: str = "GpuXidMemory", gpu: str = "2") -> dict:
    return {
        "version": "4",
        "status": "firing",
        "receiver": "dcops",
        "alerts": [
            {
                "status": "firing",
                "labels": {"alertname": name, "node": node, "gpu": gpu, "severity": "critical"},
                "annotations": {"summary": f"{node} GPU {gpu}: XID 48"},
                "startsAt": "2026-12-04T03:00:00Z",
                "fingerprint": fp,
            }
        ],
    }


async def _idle_node(h: Harness) -> str:
    sim = h.engine.backends.slurm.sim
    return next(n.name for n in sim.nodes.values() if not n.alloc and not n.drain and not n.down)


async def test_confirmed_gpu_reset_from_an_alert_keeps_the_fingerprint(
    alert_harness: tuple[Harness, AlertInbox],
) -> None:
    h, inbox = alert_harness
    node = await _idle_node(h)
    await inbox.receive(_payload(node, "ab12"))
    posted = (await h.slack.wait_for(lambda c: c.method == "chat.postMessage" and "GpuXidMemory" in c.args["text"]))[0]
    btns = {e["text"]["text"]: e for b in posted.args["blocks"] if b["type"] == "actions" for e in b["elements"]}
    assert list(btns) == ["Drain", "Reset GPU", "Validate"]
    assert "Evidence" in json.dumps(posted.args["blocks"])

    # a viewer may look but not act: refused, audited, nothing ran
    status, key = await h.click(btns["Reset GPU"]["action_id"], btns["Reset GPU"]["value"], user=VIEWER)
    assert status == 200
    refusal = json.dumps((await h.responses(key))[0].args)
    assert "no role" in refusal or "denied" in refusal, refusal
    denied = await h.engine.store.query(AuditQuery(action="gpu-reset", event="denied"))
    assert denied and denied[0].principal == f"slack:{VIEWER}"

    status, key = await h.click(btns["Reset GPU"]["action_id"], btns["Reset GPU"]["value"], user=ADMIN)
    prompt = (await h.responses(key))[0]
    confirm = next(
        e
        for b in prompt.args["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == blocks.CONFIRM
    )
    status, key2 = await h.click(blocks.CONFIRM, confirm["value"], user=ADMIN, ephemeral=True)
    await h.slack.wait_for(
        lambda c: c.method == "chat.update" and f"gpu-reset {node} --gpu 2`: ok" in json.dumps(c.args.get("blocks", []))
    )
    started = list(await h.engine.store.query(AuditQuery(action="gpu-reset", event="started")))
    assert started and started[0].principal == f"slack:{ADMIN}" and "from alert ab12" in started[0].detail

    # a forged value naming another alert or another suggestion runs nothing
    status, key = await h.click(f"{ALERT_ACTION}_0", "ffff:0", user=ADMIN)
    assert "is not one dcops received" in json.dumps((await h.responses(key))[0].args)
    await h.idle()


def test_unknown_node_and_resolved_alerts_get_no_buttons() -> None:
    from dcops.actions.alerts import Alert, load_mapping

    labels = {"alertname": "NodeDown", "node": "ghost1", "severity": "critical"}
    alert = Alert(fingerprint="aa", status="firing", labels=labels, known_node=False)
    pb = load_mapping().for_alert(labels, node="ghost1")
    _, bl = render(alert, pb, [], [])
    assert not [b for b in bl if b["type"] == "actions"] and "not a node dcops knows" in json.dumps(bl)
    resolved = Alert(fingerprint="aa", status="resolved", labels={**labels, "node": "gpu001"}, known_node=True)
    text, bl = render(resolved, pb, [], ["done"])
    assert "(resolved)" in text and not [b for b in bl if b["type"] == "actions"]


async def test_an_approved_drain_from_an_alert_keeps_the_fingerprint(alert_harness: tuple[Harness, AlertInbox]) -> None:
    from slack_harness import ONCALL, ONCALL2

    h, inbox = alert_harness
    node = await _idle_node(h)
    await inbox.receive(_payload(node, "cd34"))
    posted = (await h.slack.wait_for(lambda c: c.method == "chat.postMessage" and "GpuXidMemory" in c.args["text"]))[0]
    drain = next(
        e
        for b in posted.args["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["text"]["text"] == "Drain"
    )
    _, key = await h.click(drain["action_id"], drain["value"], user=ONCALL)  # drain asks the typed confirmation
    prompt = (await h.responses(key))[0]
    confirm = next(
        e
        for b in prompt.args["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == blocks.CONFIRM
    )
    await h.click(blocks.CONFIRM, confirm["value"], user=ONCALL, ephemeral=True)  # then wants a second person
    ask = (await h.slack.wait_for(lambda c: c.method == "chat.postMessage" and c.args.get("channel") == APPROVALS))[0]
    approve = next(
        e
        for b in ask.args["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == blocks.APPROVE
    )
    await h.click(blocks.APPROVE, approve["value"], user=ONCALL2, channel=APPROVALS)
    await h.slack.wait_for(
        lambda c: (
            c.method == "chat.update"
            and f"drain {node}" in json.dumps(c.args.get("blocks", []))
            and "`: ok" in json.dumps(c.args.get("blocks", []))
        )
    )
    started = [
        r
        for r in await h.engine.store.query(AuditQuery(action="drain", event="started", node=node))
        if not r.params.get("dry_run")
    ]  # not the plan the approvers were shown
    assert started[0].principal == f"slack:{ONCALL}" and "approved by slack:" + ONCALL2 in started[0].detail
    assert started[0].detail.endswith("; from alert cd34")
    await h.idle()

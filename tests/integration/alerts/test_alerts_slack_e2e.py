"""The whole loop on the lab, through Slack's signed path: a rule fires in real Prometheus, real
Alertmanager posts it to dcops' webhook mounted in the Slack bot's own HTTP server, the bot posts
the alert with its evidence and buttons (recording Slack Web API), one signed click drains the node
on real Slurm with a silence on real Alertmanager, a second click validates it over real SSH, and
`/dcops resume --validate` returns it and expires the silence. Clicks are counted."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "slack"))  # the Slack suite's fakes

from recording_slack import Call, RecordingSlack
from slack_requests import SECRET, button_body, post_signed, slash_body

from dcops.actions.engine import Engine
from dcops.actions.store.base import AuditQuery
from dcops.bots import blocks
from dcops.bots.alert_slack import ALERT_ACTION, attach
from dcops.bots.app import build_app
from dcops.bots.server import serve_http
from dcops.bots.settings import SlackSettings
from tests.lab import alertmanager as lab_am
from tests.lab.metrics.lab import MetricsLab

ALERTS_CHANNEL = "C0ALERTS"
ADMIN = "U0ADMIN"  # the demo policy's Slack admin
NODE = "gpu004"


def buttons(call: Call) -> list[dict]:
    return [
        e
        for b in call.args.get("blocks", [])
        if isinstance(b, dict) and b.get("type") == "actions"
        for e in b["elements"]
    ]


async def test_alert_to_audited_drain_in_slack_then_validate_and_resume(
    lab_engine: Engine, am_lab: lab_am.AlertmanagerLab, clean_metrics: MetricsLab, webhook_token: str
) -> None:
    lab_engine.config = lab_engine.config.model_copy(
        update={"alerts": lab_engine.config.alerts.model_copy(update={"slack_channel": ALERTS_CHANNEL})}
    )
    slack = await RecordingSlack().start()
    settings = SlackSettings(
        bot_token="xoxb-test", signing_secret=SECRET, api_base_url=slack.base_url, update_interval=0.05, confirm_ttl=60
    )
    clicks = 0
    async with aiohttp.ClientSession() as bot_session, aiohttp.ClientSession() as session:
        app, bot = build_app(lab_engine, settings, session=bot_session)
        wiring = await attach(app, bot)
        assert wiring is not None
        server = await serve_http(app, "127.0.0.1", 0, wiring.routes)
        base = server.url.rsplit("/slack/events", 1)[0]
        am_lab.route_to_webhook(base + lab_engine.config.alerts.path, token=webhook_token)
        try:
            # 1. the fault: GPU 1 of gpu004 falls off the bus (XID 79) in the DCGM exporter
            t0 = time.monotonic()
            clean_metrics.set_gpus(NODE, {1: {"xid": 79}})
            posted = (
                await slack.wait_for(
                    lambda c: (
                        c.method == "chat.postMessage"
                        and c.args.get("channel") == ALERTS_CHANNEL
                        and "GpuXidFellOffBus on gpu004" in c.args.get("text", "")
                    ),
                    timeout=60,
                )
            )[0]
            arrival = time.monotonic() - t0
            text = json.dumps(posted.args["blocks"])
            assert "gpu-health gpu004" in text and "jobs --node gpu004" in text  # the evidence is shown
            evidence = text.split("*Evidence*")[1].split('"type": "actions"')[0]
            assert evidence.count(":white_check_mark:") == 2, evidence  # both read, as alert:<name>
            btns = buttons(posted)
            assert [b["text"]["text"] for b in btns] == ["Drain + requeue", "Power cycle", "Validate"]
            fingerprint = btns[0]["value"].split(":")[0]

            # 2. one click on "Drain + requeue", signed as the on-call admin
            clicks += 1
            ts = "1733280000.000100"
            status, _ = await post_signed(
                session,
                server.url,
                button_body(
                    action_id=btns[0]["action_id"],
                    value=btns[0]["value"],
                    user=ADMIN,
                    channel=ALERTS_CHANNEL,
                    response_url=slack.response_url("c1"),
                    message_ts=ts,
                ),
            )
            assert status == 200
            # drain (with its implied requeue) asks the same typed confirmation on every path: the Confirm button
            prompt = (
                await slack.wait_for(
                    lambda c: c.method == "response_url" and c.path.endswith("/c1") and "Confirm" in json.dumps(c.args),
                    timeout=30,
                )
            )[0]
            confirm = next(
                e
                for b in prompt.args.get("blocks", [])
                if b["type"] == "actions"
                for e in b["elements"]
                if e["action_id"] == blocks.CONFIRM
            )
            clicks += 1
            status, _ = await post_signed(
                session,
                server.url,
                button_body(
                    action_id=blocks.CONFIRM,
                    value=confirm["value"],
                    user=ADMIN,
                    channel=ALERTS_CHANNEL,
                    response_url=slack.response_url("c1b"),
                    ephemeral=True,
                ),
            )
            assert status == 200
            await slack.wait_for(
                lambda c: (
                    c.method == "chat.update"
                    and "--requeue-jobs --silence`: ok" in json.dumps(c.args.get("blocks", []))
                ),
                timeout=30,
            )
            info = (await lab_engine.backends.slurm.nodes([NODE]))[0]
            assert info.drain_flag and "alert GpuXidFellOffBus GPU 1" in info.reason and "slack:U0ADMIN" in info.reason
            started = [
                r
                for r in await lab_engine.store.query(AuditQuery(action="drain", event="started"))
                if r.targets == [NODE]
            ]
            assert (
                started
                and started[0].principal == f"slack:{ADMIN}"
                and f"from alert {fingerprint}" in started[0].detail
            )
            (silence,) = am_lab.active_silences(NODE)
            assert silence["createdBy"] == f"slack:{ADMIN}" and started[0].run_id in silence["comment"]
            drained_after = time.monotonic() - t0

            # 3. second click: Validate (the node's GPUs answer healthy over SSH)
            status, _ = await post_signed(
                session,
                server.url,
                button_body(
                    action_id=btns[2]["action_id"],
                    value=btns[2]["value"],
                    user=ADMIN,
                    channel=ALERTS_CHANNEL,
                    response_url=slack.response_url("c2"),
                    message_ts=ts,
                ),
            )
            assert status == 200
            await slack.wait_for(
                lambda c: (
                    c.method == "chat.update"
                    and "validate gpu004 --level 1`: ok" in json.dumps(c.args.get("blocks", []))
                ),
                timeout=60,
            )

            # 4. /dcops resume --validate returns the node and expires the maintenance silence
            status, _ = await post_signed(
                session,
                server.url,
                slash_body(
                    f"resume {NODE} --validate",
                    user=ADMIN,
                    channel=ALERTS_CHANNEL,
                    response_url=slack.response_url("c3"),
                ),
            )
            assert status == 200
            deadline = time.monotonic() + 60
            while (await lab_engine.backends.slurm.nodes([NODE]))[0].drain_flag and time.monotonic() < deadline:
                await __import__("asyncio").sleep(0.3)
            assert not (await lab_engine.backends.slurm.nodes([NODE]))[0].drain_flag
            assert am_lab.active_silences(NODE) == []

            # forged click: a value naming an action dcops never offered is refused, nothing runs
            status, _ = await post_signed(
                session,
                server.url,
                button_body(
                    action_id=f"{ALERT_ACTION}_9",
                    value=f"{fingerprint}:9",
                    user=ADMIN,
                    channel=ALERTS_CHANNEL,
                    response_url=slack.response_url("c4"),
                ),
            )
            refused = await slack.wait_for(lambda c: c.method == "response_url" and c.path.endswith("/c4"), timeout=10)
            assert "has no suggested action" in json.dumps(refused[0].args)
            print(
                f"\nalert -> Slack message {arrival:.1f} s; -> audited drain {drained_after:.1f} s; "
                f"Slack clicks from alert to audited drain: {clicks}"
            )
            assert clicks <= 2
        finally:
            am_lab.route_to_webhook(None)
            await bot.drain(timeout=20)
            await server.stop()
            await slack.stop()

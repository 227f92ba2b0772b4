"""``dcops slack`` as it is started: ``dcops.bots.app.serve`` over HTTP in its own process, and
``run_bot`` in Socket Mode against the local Slack's websocket."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import aiohttp
import pytest
from recording_slack import RecordingSlack
from slack_requests import SECRET, post_signed, slash_body

from dcops.actions.config import demo_config
from dcops.actions.config.model import SlackSection
from dcops.bots.app import run_bot, serve
from dcops.bots.settings import SlackSettings

ROOT = Path(__file__).resolve().parents[3]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_serve_in_its_own_process_answers_signed_commands_and_stops_on_sigterm(
    tmp_path: Path, slack: RecordingSlack
):
    port = _free_port()
    cfg = tmp_path / "dcops.toml"
    cfg.write_text(
        textwrap.dedent(f"""
        [cluster]
        name = "slack-serve-test"
        demo = true
        [audit]
        url = "sqlite:///{tmp_path / "audit.db"}"
        [slack]
        api_base_url = "{slack.base_url}"
        port = {port}
        signing_secret_env = "TEST_SLACK_SECRET"
    """)
    )
    env = {**os.environ, "SLACK_BOT_TOKEN": "xoxb-proc", "TEST_SLACK_SECRET": SECRET, "PYTHONPATH": str(ROOT)}
    code = (
        "import sys; from dcops.actions.config import load_config; from dcops.bots.app import serve; "
        "sys.exit(serve(load_config(sys.argv[1])))"
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", code, str(cfg), env=env, cwd=str(tmp_path), stderr=subprocess.PIPE
    )
    try:
        line = await asyncio.wait_for(proc.stderr.readline(), 30)
        assert line.decode().startswith(f"dcops slack: listening on http://127.0.0.1:{port}/slack/events"), line
        async with aiohttp.ClientSession() as session:
            status, _ = await post_signed(
                session,
                f"http://127.0.0.1:{port}/slack/events",
                slash_body("ping", user="U0ADMIN", channel="C0X", response_url=slack.response_url("p")),
            )
        assert status == 200
        final = (await slack.wait_for(lambda c: c.method == "chat.update" and "ping: ok" in c.args["text"]))[0]
        assert "pong" in final.args["text"] and final.token == "xoxb-proc"
    finally:
        proc.send_signal(signal.SIGTERM)
        rc = await asyncio.wait_for(proc.wait(), 20)
    assert rc == 0


def test_serve_without_secrets_says_so_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
):
    for var in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    assert serve(demo_config(tmp_path), demo=True) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "SLACK_BOT_TOKEN" in err


async def test_socket_mode_receives_a_slash_command_and_acks_its_envelope(tmp_path: Path, slack: RecordingSlack):
    cfg = demo_config(tmp_path).model_copy(update={"slack": SlackSection(api_base_url=slack.base_url)})
    settings = SlackSettings.from_config(cfg.slack, {"SLACK_BOT_TOKEN": "xoxb-sock", "SLACK_APP_TOKEN": "xapp-sock"})
    assert settings.socket_mode
    stop = asyncio.Event()
    bot = asyncio.create_task(run_bot(cfg, settings, stop))
    try:
        await slack.wait_for(lambda c: c.method == "socket_connected")
        opened = slack.of("apps.connections.open")
        assert opened and opened[0].token == "xapp-sock"
        await slack.send_envelope(
            "slash_commands",
            {
                "token": "x",
                "team_id": "T0TEST",
                "channel_id": "C0SOCK",
                "user_id": "U0ADMIN",
                "user_name": "admin",
                "command": "/dcops",
                "text": "ping",
                "api_app_id": "A0DCOPS",
                "response_url": slack.response_url("s"),
                "trigger_id": "t",
            },
            envelope_id="env-1",
        )
        ack = (await slack.wait_for(lambda c: c.method == "socket_ack"))[0]
        assert ack.args["envelope_id"] == "env-1"
        final = (await slack.wait_for(lambda c: c.method == "chat.update" and "ping: ok" in c.args["text"]))[0]
        assert final.args["channel"] == "C0SOCK" and final.token == "xoxb-sock"
    finally:
        stop.set()
        await asyncio.wait_for(bot, 20)


async def test_a_bot_token_slack_refuses_stops_the_bot_at_start_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
):
    from dcops.bots.app import serve_async

    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-revoked")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SECRET)
    api = await RecordingSlack(fail={"auth.test": "invalid_auth"}).start()
    try:
        cfg = demo_config(tmp_path).model_copy(
            update={"slack": SlackSection(api_base_url=api.base_url, port=_free_port())}
        )
        rc = await serve_async(cfg)
    finally:
        await api.stop()
    err = capsys.readouterr().err.strip()
    assert rc == 2 and err == "dcops slack: the bot token (auth.test) refused by Slack: invalid_auth (check the tokens)"

"""Read-only mode honoured through Slack: mutating commands refused (and audited), help shows reads."""

from __future__ import annotations

import pytest
from slack_harness import ONCALL, Harness


@pytest.fixture
def read_only() -> bool:
    return True


async def test_read_only_refuses_mutations_and_help_lists_only_reads(harness: Harness):
    _, _, key = await harness.command('drain gpu001 --reason "xid 79"')
    reply = (await harness.responses(key))[0]
    assert "read-only mode" in reply.args["text"]
    denied = await harness.audit(action="drain", event="denied")
    assert len(denied) == 1 and denied[0].principal == f"slack:{ONCALL}"
    _, _, key = await harness.command("help")
    help_text = (await harness.responses(key))[0].args["text"]
    assert "jobs" in help_text and "drain" not in help_text
    await harness.idle()
    assert harness.slack.of("chat.postMessage") == []

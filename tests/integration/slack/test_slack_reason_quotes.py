"""``/dcops drain`` with a reason Slurm would show otherwise than typed (a leading double quote):
the one line every front end gives, as an ephemeral reply; audited as invalid, nothing started,
nothing posted to the channel. A quote later in the reason is served and reaches Slurm as typed."""

from __future__ import annotations

from slack_harness import ADMIN, Harness

from dcops.actions.validation import SLURM_LEADING_QUOTE


async def test_a_leading_quote_in_a_reason_is_one_ephemeral_line_and_audited_invalid(harness: Harness) -> None:
    status, _, key = await harness.command("drain gpu001 --reason '\"xid 79\" on GPU 3'", user=ADMIN)
    assert status == 200
    reply = (await harness.responses(key))[0]
    assert reply.args["response_type"] == "ephemeral"
    assert reply.args["text"].endswith(f"drain: --reason: {SLURM_LEADING_QUOTE}"), reply.args["text"]
    assert "\n" not in reply.args["text"] and "Traceback" not in str(reply.args)
    await harness.idle()
    records = await harness.audit(action="drain")
    assert [r.event for r in records] == ["received", "invalid"] and records[0].channel == "slack"
    assert harness.slack.of("chat.postMessage") == []
    assert harness.engine.runs() == []


async def test_a_quote_after_the_first_character_reaches_slurm_as_typed(harness: Harness) -> None:
    await harness.confirmed_command("drain gpu002 --reason 'xid 79 on \"GPU 3\"'", user=ADMIN)
    await harness.slack.wait_for(lambda c: c.method == "chat.update" and "drain: ok" in c.args["text"])
    [node] = await harness.engine.backends.slurm.nodes(["gpu002"])
    assert node.reason == f'xid 79 on "GPU 3" [slack:{ADMIN} via slack]'

"""Unit tests of the bot's own rendering logic: run messages, tables, charts, prompts, help."""

from __future__ import annotations

import json
from types import SimpleNamespace

from dcops.actions import events
from dcops.bots import blocks
from dcops.bots.chart import chart_for, sparkline
from dcops.bots.run_view import MAX_LOG_LINES, RunView


def _view() -> RunView:
    return RunView(action="drain", command_text='drain gpu[001-004] --reason "xid 79"', requester="U0ONCALL")


def _all_text(bl: list[dict]) -> str:
    return json.dumps(bl)


def test_run_view_folds_events_and_ignores_debug_logs():
    v = _view()
    assert v.apply(events.RunStarted(run_id="r1", action="drain", targets=["gpu001", "gpu002"]))
    assert v.apply(events.Step(target="gpu001", status="running"))
    assert v.apply(events.Step(target="gpu001", status="ok"))
    assert not v.apply(events.Log(message="noise", level="debug"))
    for i in range(MAX_LOG_LINES + 3):
        v.apply(events.Log(message=f"line {i}"))
    assert v.run_id == "r1" and v.steps["gpu001"].status == "ok"
    assert [log.message for log in v.logs][0] == "line 3" and len(v.logs) == MAX_LOG_LINES
    assert not v.done
    v.apply(events.RunFinished(run_id="r1", outcome="ok", duration=1.5, summary="drained 2"))
    assert v.done


def test_run_message_groups_steps_collapses_hostlists_and_names_the_audit_record():
    v = _view()
    v.apply(events.RunStarted(run_id="r-abc", action="drain", targets=[]))
    for n in range(1, 61):
        v.apply(events.Step(target=f"gpu{n:03d}", status="ok"))
    v.apply(events.Step(target="gpu061", status="failed", detail="slurmctld said <no>"))
    v.apply(events.Progress(done=61, total=64, label="draining"))
    text, bl = blocks.run_message(v)
    body = _all_text(bl)
    assert "gpu[001-060]" in body and "ok (60)" in body
    assert "`gpu061` failed" in body and "&lt;no&gt;" in body  # user text is escaped
    assert "61/64" in body and "running" in text
    v.apply(events.Result(summary="drained 60 of 61", ok=False))
    v.apply(events.RunFinished(run_id="r-abc", outcome="failed", duration=2.0, summary="drained 60 of 61"))
    text, bl = blocks.run_message(v)
    body = _all_text(bl)
    assert text.startswith("dcops drain: failed") and "drained 60 of 61" in text
    assert "/dcops audit --run r-abc" in body and "61/64" not in body  # progress bar gone once done


def test_table_results_render_as_a_table_block_and_say_when_cut():
    table = events.Table(columns=["node", "state"], rows=[[f"gpu{i:03d}", None] for i in range(150)], title="nodes")
    tb, note = blocks.table_block(table)
    rendered = [b.to_dict() for b in tb]
    tables = [b for b in rendered if b["type"] == "table"]
    assert len(tables) == 1 and len(tables[0]["rows"]) == blocks.TABLE_MAX_ROWS
    assert tables[0]["rows"][0][0] == {"type": "raw_text", "text": "node"}
    assert note and "99 of 150 rows" in note


def test_chart_for_range_query_data_and_none_for_other_data():
    data = {
        "series": [
            {"labels": {"__name__": "temp", "Hostname": "gpu017"}, "points": [[i, float(i)] for i in range(100)]}
        ]
    }
    chart = chart_for(data)
    assert chart is not None and "temp" in chart and "last 99" in chart  # one series: named by metric
    two = chart_for(
        {
            "series": [
                {
                    "labels": {"__name__": "t", "Hostname": "gpu017", "gpu": str(g), "UUID": f"u{g}"},
                    "points": [[0, 1.0], [1, 2.0]],
                }
                for g in (0, 1)
            ]
        }
    )
    assert two is not None and "UUID=u0,gpu=0" in two and "Hostname" not in two  # shared labels left out
    assert chart_for({"samples": [{"labels": {}, "value": 1.0}]}) is None
    assert chart_for(None) is None
    assert sparkline([1, 1, 1]) == "▁▁▁"
    line = sparkline([0, 10])
    assert line[0] == "▁" and line[-1] == "█"
    assert len(sparkline(list(range(1000)), width=40)) == 40


def test_confirm_and_approval_prompts_carry_the_binding_values():
    _, bl = blocks.confirm_prompt(command_text="cancel 12", message="type 1", value="id:nonce")
    buttons = [e for b in bl if b["type"] == "actions" for e in b["elements"]]
    assert {(b["action_id"], b["value"]) for b in buttons} == {
        (blocks.CONFIRM, "id:nonce"),
        (blocks.CANCEL, "id:nonce"),
    }
    _, bl = blocks.approval_request(approval_id="a-1", requester="U1", command_text="requeue 5", message="m")
    buttons = [e for b in bl if b["type"] == "actions" for e in b["elements"]]
    assert {b["action_id"] for b in buttons} == {blocks.APPROVE, blocks.DENY}
    _, bl = blocks.approval_decided(
        approval_id="a-1", requester="U1", command_text="requeue 5", verdict="denied", decider="U2"
    )
    assert not [b for b in bl if b["type"] == "actions"] and "<@U2>" in _all_text(bl)


def test_help_lists_given_specs_only_and_error_line_is_one_line():
    specs = [
        SimpleNamespace(name="jobs", help="list jobs", positional=(), kind="read", category="jobs"),
        SimpleNamespace(name="drain", help="drain nodes", positional=("nodes",), kind="write", category="nodes"),
    ]
    text, bl = blocks.help_message(specs, read_only=False)
    assert "jobs, drain" in text and "`drain &lt;nodes&gt;`" in _all_text(bl)
    text, _ = blocks.help_message([], read_only=False)
    assert "may not run any" in text
    text, bl = blocks.error_line("bad\n  thing")
    assert text == "bad thing" and "\n" not in bl[0]["text"]["text"]


def test_user_text_cannot_ping_channels_in_any_fallback_text():
    evil = 'drain gpu001 --reason "<!channel> see <http://x|here>"'
    texts = [
        blocks.approval_request(approval_id="a-1", requester="U1", command_text=evil, message="m")[0],
        blocks.approval_decided(approval_id="a-1", requester="U1", command_text=evil, verdict="approved", decider="U2")[
            0
        ],
        blocks.confirm_prompt(command_text=evil, message="m", value="v")[0],
    ]
    v = RunView(action="drain", command_text=evil, requester="U1")
    v.apply(events.Result(summary="<!here> done"))
    v.apply(events.RunFinished(run_id="r", outcome="ok", duration=0.1))
    texts.append(blocks.run_message(v)[0])
    texts.append(json.dumps(blocks.run_message(v)[1]))
    for t in texts:
        assert "<!channel>" not in t and "<!here>" not in t and "<http" not in t


def test_slack_escaping_and_smart_quotes_are_undone_before_parsing():
    from dcops.bots.command_text import normalise

    assert normalise("query 'rate(x[5m]) &gt; 0 &amp;&amp; y &lt; 1'") == "query 'rate(x[5m]) > 0 && y < 1'"
    assert normalise("drain gpu001 --reason “xid 79”") == 'drain gpu001 --reason "xid 79"'
    assert normalise("x &amp;lt;") == "x &lt;"
    assert normalise(None) == ""


def test_a_huge_run_still_fits_slacks_message_limits():
    """64 failed nodes with long details, a 500-row 30-column table, 40 errors: slack_sdk's own
    validation (run by to_dict) must pass and the message must stay within 50 blocks."""
    v = RunView(action="firmware-update", command_text="firmware-update gpu[001-064] " + "x" * 4000, requester="U1")
    v.apply(events.RunStarted(run_id="r-big", action="firmware-update", targets=[]))
    for n in range(1, 65):
        v.apply(events.Step(target=f"gpu{n:03d}", status="failed", detail="BMC said: " + "e" * 600))
    for i in range(40):
        v.apply(events.Error(message=f"error {i} " + "z" * 3500))
    v.apply(
        events.Result(
            summary="s" * 5000,
            ok=False,
            table=events.Table(
                columns=[f"c{i}" for i in range(30)], rows=[[str(r)] * 30 for r in range(500)], title="t" * 4000
            ),
        )
    )
    v.apply(events.RunFinished(run_id="r-big", outcome="failed", duration=3.0))
    text, bl = blocks.run_message(v)
    assert len(bl) <= 50 and len(text) <= 3000
    assert bl[0]["type"] == "header" and len(bl[0]["text"]["text"]) <= 150
    for b in bl:
        if b["type"] == "section":
            assert len(b["text"]["text"]) <= 3000
    assert "and 54 more failed: `gpu[011-064]`" in json.dumps(bl)


async def test_live_message_falls_back_to_a_plain_line_when_rendering_fails(monkeypatch):
    from dcops.bots import live_message

    def broken(view):
        raise ValueError("bug")

    monkeypatch.setattr(live_message, "run_message", broken)
    v = _view()
    v.apply(events.RunFinished(run_id="r9", outcome="failed", duration=1.0))
    msg = live_message.LiveMessage(client=None, channel="C1", view=v)  # type: ignore[arg-type]
    text, bl = msg._render()
    assert text == "dcops drain: failed (run r9; rendering failed, see the bot log)"
    assert bl[0]["text"]["text"] == text


def _triage_view(followups: list[str]) -> RunView:
    v = RunView(action="triage-cable", command_text="triage-cable --auto", requester="U0ONCALL")
    v.apply(events.RunStarted(run_id="r-t", action="triage-cable", targets=[]))
    v.apply(events.Result(summary="2 bad links", severity="bad", data={"followups": followups}))
    v.apply(events.RunFinished(run_id="r-t", outcome="ok", duration=0.1, summary="2 bad links"))
    return v


def test_every_follow_up_gets_its_own_button():
    """triage-cable --auto on two bad links suggests four follow-ups: all four are buttons (three were)."""
    followups = [
        'drain gpu023 --reason "bad cable"',
        "reset-counters gpu023 --device mlx5_0 --port 1",
        'drain gpu031 --reason "flapping"',
        "reset-counters gpu031 --device mlx5_0 --port 1",
    ]
    _, bl = blocks.run_message(_triage_view(followups))
    buttons = [
        e for b in bl if b["type"] == "actions" for e in b["elements"] if e["action_id"].startswith(blocks.FOLLOWUP)
    ]
    assert [e["value"] for e in buttons] == followups
    assert len({e["action_id"] for e in buttons}) == 4


def test_many_follow_ups_fit_slacks_limits_and_say_what_was_left_out():
    followups = [f"reset-counters gpu{n:03d} --device mlx5_0 --port 1" for n in range(blocks.MAX_FOLLOWUPS + 3)]
    _, bl = blocks.run_message(_triage_view(followups))
    rows = [b for b in bl if b["type"] == "actions" and b["elements"][0]["action_id"].startswith(blocks.FOLLOWUP)]
    assert all(len(r["elements"]) <= 25 for r in rows) and len(bl) <= 50
    assert sum(len(r["elements"]) for r in rows) == blocks.MAX_FOLLOWUPS
    assert "3 more follow-up(s) not shown" in _all_text(bl)

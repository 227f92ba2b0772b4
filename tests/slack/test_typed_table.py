"""The Slack table is generated from the action's row model (issue 17): its headings are the model's
titles, a list field is one readable cell, and the columns the model types as numbers are
right-aligned -- decided by the model, not by guessing from display strings."""

from __future__ import annotations

from dcops.actions.events import Result
from dcops.actions.result_models import JobRow
from dcops.bots.blocks import table_block


def test_slack_table_columns_come_from_the_row_model() -> None:
    row = JobRow(
        job="48213",
        partition="gpu",
        name="llm",
        user="alice",
        state="RUNNING",
        node_count=2,
        nodelist=["gpu001", "gpu002"],
        reason="None",
    )
    res = Result(summary="1 jobs", rows=[row])
    block = table_block(res.table, res.row_model)[0][-1].to_dict()
    header = [c["text"] for c in block["rows"][0]]
    assert header == [c.title for c in JobRow.columns()]
    assert block["rows"][1][header.index("nodelist")]["text"] == "gpu001,gpu002"  # not "['gpu001', 'gpu002']"
    aligned = [header[i] for i, s in enumerate(block["column_settings"]) if s]
    assert aligned == ["nodes"]  # node_count, an int
    assert "column_settings" not in table_block(res.table)[0][-1].to_dict()  # no model: Slack's default

"""Finished runs beyond the newest few keep their outcome and summary but not their answer: a
console refreshing a 10,000-node fleet every 30 s would otherwise hold every refresh's rows, table
and data (the TUI's resident-memory budget, issue 16)."""

from __future__ import annotations

from pathlib import Path

from dcops.actions import open_engine
from dcops.actions.config import demo_config
from dcops.actions.request import Request


async def test_old_runs_drop_rows_table_and_data_but_keep_their_summary(tmp_path: Path) -> None:
    eng = await open_engine(demo_config(tmp_path))
    try:
        runs = []
        for _ in range(14):
            run = await eng.submit(Request(action="nodes", params={}, principal="unix:alice", channel="cli"))
            await run.wait()
            runs.append(run)
        newest, oldest = runs[-1].result, runs[0].result
        assert newest is not None and newest.rows and newest.table is not None
        assert oldest is not None and oldest.summary == newest.summary
        assert oldest.rows is None and oldest.table is None and oldest.data is None
    finally:
        await eng.aclose()

"""Fleet cells: words as well as colours (a monochrome terminal still tells states apart), the
columns follow the data, and every column is one something fills (no column waits for data no
action delivers)."""

from __future__ import annotations

from dcops.actions import Request, open_engine
from dcops.actions.config import demo_config
from dcops.actions.rbac import Policy
from dcops.console.tui.screens.fleet import FLEET_COLUMNS, fleet_columns
from dcops.console.tui.widgets import cells


def test_cells_carry_words_and_tones() -> None:
    assert cells.state_cell("drained", {}) == ("drained", "bad")
    assert cells.xid_cell(79, {}) == ("XID 79", "bad") and cells.xid_cell(0, {}) == ("", None)
    assert cells.ib_errors_cell(0.0, {}) == ("ok", "ok") and cells.ib_errors_cell(12.0, {}) == ("12/s", "bad")
    assert cells.util_cell(50.0, {"util_history": [0, 50, 100]}) == (" 50% ▁▅█", "primary")
    assert cells.temp_cell(88.0, {}) == (" 88C ", "bad")
    assert cells.bar(0.5, 10) == "█████░░░░░"


def test_fleet_columns_follow_the_data() -> None:
    today = {"node": "gpu001", "state": "idle", "gpu_util": 1.0}
    assert [c.key for c in fleet_columns(today)] == ["node", "state", "gpu_util"]
    later = dict(today, ib_errors=0.0, flags="DRAIN")
    assert [c.key for c in fleet_columns(later)] == ["node", "state", "flags", "gpu_util", "ib_errors"]


async def test_every_fleet_column_is_filled_by_the_fleet_action_or_the_alerts_overlay(tmp_path) -> None:
    engine = await open_engine(demo_config(tmp_path), policy=Policy.demo())
    try:
        run = await engine.submit(Request(principal="unix:alice", channel="tui", action="fleet", params={}))
        await run.wait()
    finally:
        await engine.aclose()
    filled = set(type(run.result.rows[0]).model_fields) | {"alerts"}  # typed rows; the screen adds firing alerts
    assert {c.key for c in FLEET_COLUMNS} <= filled, {c.key for c in FLEET_COLUMNS} - filled

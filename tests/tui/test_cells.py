"""Fleet cells: words as well as colours (a monochrome terminal still tells states apart), and the
columns the fleet action does not deliver yet appear as soon as it does."""

from __future__ import annotations

from console.tui.screens.fleet import fleet_columns
from console.tui.widgets import cells


def test_cells_carry_words_and_tones() -> None:
    assert cells.state_cell("drained", {}) == ("drained", "bad")
    assert cells.xid_cell(79, {}) == ("XID 79", "bad") and cells.xid_cell(0, {}) == ("", None)
    assert cells.ib_errors_cell(0.0, {}) == ("ok", "ok") and cells.ib_errors_cell(12.0, {}) == ("12/s", "bad")
    assert cells.util_cell(50.0, {"util_history": [0, 50, 100]}) == (" 50% ▁▅█", "primary")
    assert cells.temp_cell(88.0, {}) == (" 88C ", "bad")
    assert cells.power_cell("Off", {}) == ("Off", "bad")
    assert cells.drift_cell(["BIOS", "BMC"], {}) == ("drift BIOS,BMC", "warn")
    assert cells.bar(0.5, 10) == "█████░░░░░"


def test_fleet_columns_follow_the_data() -> None:
    today = {"node": "gpu001", "state": "idle", "gpu_util": 1.0}
    assert [c.key for c in fleet_columns(today)] == ["node", "state", "gpu_util"]
    later = dict(today, power="On", firmware_drift=["BIOS"], flags="DRAIN")
    assert [c.key for c in fleet_columns(later)] == ["node", "state", "flags", "power", "gpu_util", "firmware_drift"]

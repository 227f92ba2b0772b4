"""Columns fit the terminal: at 100x30 every screen shows its important columns first and needs no
sideways scrolling; the columns it hides are still searched by ``/`` and shown by Enter."""

from __future__ import annotations

import pytest

from dcops.console.tui.app import DcopsApp
from dcops.console.tui.widgets.vtable import FLEX_MIN, Column, VirtualTable, fit_columns

from .conftest import screen_text, wait_for

NARROW = (100, 30)

COLS = [
    Column("node", "NODE", 12),
    Column("k8s", "K8S", 9),
    Column("state", "STATE", 10),
    Column("ops", "OPERATORS", 16),
    Column("reason", "REASON", 30),
]


def _keys(cols: list[Column]) -> list[str]:
    return [c.key for c in cols]


def test_fit_shrinks_the_flex_column_then_hides_in_the_given_order_then_fills() -> None:
    wide = fit_columns(COLS, 200, drop_first=("ops", "k8s"), flex="reason")
    assert _keys(wide) == _keys(COLS) and wide[-1].width == 30 + 200 - sum(c.width + 1 for c in COLS)
    shrunk = fit_columns(COLS, 75, drop_first=("ops", "k8s"), flex="reason")
    assert _keys(shrunk) == _keys(COLS) and shrunk[-1].width == 75 - (13 + 10 + 11 + 17) - 1
    dropped = fit_columns(COLS, 50, drop_first=("ops", "k8s"), flex="reason")
    assert _keys(dropped) == ["node", "k8s", "state", "reason"]  # ops first, k8s kept: it fits
    assert sum(c.width + 1 for c in dropped) == 50  # the reason takes the rest
    tight = fit_columns(COLS, 30, drop_first=("ops", "k8s"), flex="reason")
    assert _keys(tight) == ["node", "state", "reason"] and tight[-1].width == FLEX_MIN
    # columns nobody named are never hidden: the table scrolls sideways instead
    assert _keys(fit_columns(COLS, 10, drop_first=(), flex=None)) == _keys(COLS)


def test_flex_star_is_the_widest_text_column() -> None:
    cols = [Column("a", "A", 5), Column("b", "B", 40), Column("n", "N", 60, align="right")]
    assert fit_columns(cols, 60, flex="*")[1].width == FLEX_MIN
    assert fit_columns(cols, 200, flex="*")[1].width == 40  # picked for its width: shrinks, never grows


# screen key -> (mode key, table id, columns that must show at 100 columns)
SCREENS = {
    "fleet": ("1", "#fleet-table", ["node", "state", "jobs", "xid", "ib_errors", "reason"]),
    "jobs": ("2", "#jobs-table", ["job", "name", "user", "state", "nodelist"]),
    "operations": ("3", "#runs-table", ["run_id", "action", "targets", "state", "progress"]),
    "audit": ("4", "#audit-table", ["time", "event", "principal", "action", "detail"]),
    "approvals": ("5", "#approvals-table", ["id", "requester", "action", "targets", "params"]),
    "alerts": ("7", "#alerts-table", ["severity", "alertname", "node", "summary"]),
}


@pytest.mark.parametrize("screen", list(SCREENS))
async def test_every_screen_fits_100_columns_important_first(screen: str, config) -> None:
    key, selector, important = SCREENS[screen]
    app = DcopsApp(config(), principal="unix:alice")
    async with app.run_test(size=NARROW) as pilot:
        await wait_for(pilot, lambda: app.engine is not None, what="the engine")
        await pilot.press(key)
        await wait_for(pilot, lambda: app.screen.query(selector), what=screen)
        table = app.screen.query_one(selector, VirtualTable)
        await wait_for(pilot, lambda: table.size.width > 0, what="the layout")
        await pilot.pause(0.3)
        shown = _keys(table.shown_columns)
        assert all(k in shown for k in important), (screen, shown)
        assert table.virtual_size.width <= table.size.width, (screen, table.virtual_size, table.size)  # no sideways
        header = next(line for line in screen_text(app).splitlines() if table.shown_columns[0].label in line)
        for col in table.shown_columns:
            assert col.label.split()[0] in header, (col.label, header)  # every shown header readable
        assert len(shown) < len(table.columns) or screen in ("operations",), "nothing hidden: is 100 columns wide?"


async def test_hidden_columns_are_still_searched(config) -> None:
    app = DcopsApp(config(), principal="unix:alice")
    async with app.run_test(size=NARROW) as pilot:
        await wait_for(
            pilot,
            lambda: (
                app.screen.query("#fleet-table")
                and app.screen.query_one("#fleet-table").total_count == 64
                and "loading" not in str(app.screen.query_one("#fleet-summary").render())
            ),
            what="the fleet",
            timeout=30,
        )
        table = app.screen.query_one("#fleet-table", VirtualTable)
        assert "operators" in _keys(table.hidden_columns)
        table.set_filter("notReady")  # only in the hidden OPERATORS column
        assert 0 < table.row_count < table.total_count


async def test_wide_terminal_hides_nothing_that_fits(config) -> None:
    app = DcopsApp(config(), principal="unix:alice")
    async with app.run_test(size=(200, 50)) as pilot:
        await wait_for(pilot, lambda: app.engine is not None, what="the engine")
        await pilot.press("2")
        await wait_for(pilot, lambda: app.screen.query("#jobs-table"), what="jobs")
        table = app.screen.query_one("#jobs-table", VirtualTable)
        await pilot.pause(0.3)
        assert table.hidden_columns == []


def test_a_summary_keeps_half_its_width_before_a_timestamp_column_is_kept() -> None:
    from dcops.console.tui.screens.alerts import ALERT_COLUMNS

    fitted = fit_columns(ALERT_COLUMNS, 96, drop_first=("fingerprint", "since", "status"), flex="summary")
    assert "since" not in _keys(fitted)
    assert next(c.width for c in fitted if c.key == "summary") >= 25

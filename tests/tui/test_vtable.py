"""The virtualised table on its own: filter, inverse, anchors, natural sort, selection, and that
only the visible lines are rendered."""

from __future__ import annotations

from textual.app import App, ComposeResult

from dcops.console.tui.widgets.vtable import Column, VirtualTable

ROWS = [
    {"node": f"gpu{i}", "state": "drained" if i % 10 == 0 else "idle", "util": float(i % 7)} for i in range(1, 1001)
]


class TableApp(App):
    def compose(self) -> ComposeResult:
        yield VirtualTable(
            [Column("node", "NODE", 8), Column("state", "STATE", 8), Column("util", "UTIL", 5)],
            key="node",
            multi_select=True,
        )


async def test_filter_inverse_anchors_and_errors() -> None:
    app = TableApp()
    async with app.run_test(size=(60, 20)):
        t = app.query_one(VirtualTable)
        t.set_rows(ROWS)
        assert t.set_filter("drained") is None and t.row_count == 100
        assert t.set_filter("!drained") is None and t.row_count == 900
        assert t.set_filter("^gpu1$") is None and [r["node"] for r in t.visible_rows] == ["gpu1"]
        assert t.set_filter("GPU99") is None and {r["node"] for r in t.visible_rows} == {
            "gpu99",
            *(f"gpu99{i}" for i in range(10)),
        }
        assert t.set_filter("GPU99$") is None and [r["node"] for r in t.visible_rows] == ["gpu99"]  # case-insensitive
        error = t.set_filter("gpu(")
        assert error is not None and error.startswith("bad filter pattern 'gpu('")
        assert t.filter_text == "GPU99$" and t.row_count == 1
        t.set_filter("")
        assert t.row_count == 1000


async def test_natural_sort_reverse_and_cursor_follows_its_row() -> None:
    app = TableApp()
    async with app.run_test(size=(60, 20)):
        t = app.query_one(VirtualTable)
        t.set_rows(reversed(ROWS))
        t.sort_by("node")
        assert [r["node"] for r in t.visible_rows[:3]] == ["gpu1", "gpu2", "gpu3"]  # not gpu1, gpu10, gpu100
        t.move_to_key("gpu500")
        t.sort_by("node")  # same column: reverse
        assert t.visible_rows[0]["node"] == "gpu1000" and t.cursor_row["node"] == "gpu500"
        t.set_rows([dict(r, state="down") if r["node"] == "gpu500" else r for r in ROWS])
        assert t.cursor_row == {"node": "gpu500", "state": "down", "util": 3.0}  # survives a reload


async def test_selection_targets_and_reload() -> None:
    app = TableApp()
    async with app.run_test(size=(60, 20)) as pilot:
        t = app.query_one(VirtualTable)
        t.set_rows(ROWS)
        t.focus()
        assert t.target_keys() == ["gpu1"]  # nothing selected: the cursor row
        await pilot.press("space", "space", "down", "space")  # select gpu1, gpu2, skip gpu3, select gpu4
        assert t.target_keys() == ["gpu1", "gpu2", "gpu4"]
        t.set_rows([r for r in ROWS if r["node"] != "gpu2"])  # a node that vanished is deselected
        assert t.target_keys() == ["gpu1", "gpu4"]
        t.set_filter("drained")
        await pilot.press("ctrl+a")
        assert len(t.selected) == 102
        await pilot.press("ctrl+u")
        assert t.selected == set()


async def test_only_visible_lines_are_rendered(monkeypatch) -> None:
    app = TableApp()
    async with app.run_test(size=(60, 20)) as pilot:
        t = app.query_one(VirtualTable)
        rendered: list[str] = []
        original = VirtualTable._cells

        def spy(self, row, base, marker):  # noqa: ANN001, ANN202
            rendered.append(row["node"])
            return original(self, row, base, marker)

        monkeypatch.setattr(VirtualTable, "_cells", spy)
        t.set_rows(ROWS * 10)  # 10,000 rows
        await pilot.pause()
        assert 0 < len(set(rendered)) <= 20  # one screenful, not 10,000
        t.focus()
        await pilot.press("end")
        await pilot.pause()
        assert "gpu1000" in rendered and len(set(rendered)) <= 40

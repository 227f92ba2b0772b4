"""The fleet table's work stays bounded at 10,000 rows, proved by counting, never by timing:

- a filter keystroke renders only the lines on screen and renders no row's search text;
- a refresh renders the search text of the rows that changed, not of every row;
- the one-pass filter finds exactly the rows a per-row search finds, whatever the pattern
  (anchors, newlines, empty matches, look-around, matches running into the next row);
- the fleet screen prepares its rows off the event loop and swaps them in with one call.
"""

from __future__ import annotations

import random
import re
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from textual.app import App, ComposeResult

from dcops.console.tui.app import DcopsApp
from dcops.console.tui.screens.fleet import FleetScreen
from dcops.console.tui.widgets.vtable import (
    _DENSE,
    _FLAGS,
    _FOLD,
    Column,
    PreparedRows,
    VirtualTable,
    _rows_matching,
)

from .conftest import SIZE, wait_for

N = 10_000


def fleet_rows(n: int = N, bump: frozenset[int] = frozenset()) -> list[dict]:
    return [
        {
            "node": f"gpu{i:05d}",
            "state": "drained" if i % 10 == 0 else "idle",
            "util": float((i + (1 if i in bump else 0)) % 100),
        }
        for i in range(1, n + 1)
    ]


class Counting:
    """Counts calls of a column's render function (search text and line rendering both use it)."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, value, row):  # noqa: ANN001, ANN204
        self.calls += 1
        return ("" if value is None else str(value), None)


class TableApp(App):
    def __init__(self, counter: Counting) -> None:
        super().__init__()
        self.counter = counter

    def compose(self) -> ComposeResult:
        yield VirtualTable(
            [Column("node", "NODE", 9), Column("state", "STATE", 8), Column("util", "UTIL", 5, self.counter)],
            key="node",
        )


async def test_a_filter_keystroke_renders_one_screenful_and_no_search_text(monkeypatch) -> None:
    counter = Counting()
    app = TableApp(counter)
    async with app.run_test(size=(60, 20)) as pilot:
        t = app.query_one(VirtualTable)
        t.set_rows(fleet_rows())
        await pilot.pause()
        lines: list[int] = []
        original = VirtualTable._cells

        def spy(self, row, base, marker):  # noqa: ANN001, ANN202
            lines.append(1)
            return original(self, row, base, marker)

        monkeypatch.setattr(VirtualTable, "_cells", spy)
        for pattern in ["g", "gp", "gpu0", "gpu00", "gpu001", "gpu0012", "gpu001", "!drained", "drained", ""]:
            before_render, before_lines = counter.calls, len(lines)
            assert t.set_filter(pattern) is None
            await pilot.pause()
            # each visible line renders its cells once (the util column among them); no search text
            assert len(lines) - before_lines <= 20, pattern
            assert counter.calls - before_render == len(lines) - before_lines, pattern
        assert t.set_filter("gpu0012") is None and t.row_count == 10  # gpu00120..gpu00129


async def test_a_refresh_renders_the_search_text_of_changed_rows_only() -> None:
    counter = Counting()
    app = TableApp(counter)
    async with app.run_test(size=(60, 20)) as pilot:
        t = app.query_one(VirtualTable)
        first = t.prepare(fleet_rows())
        assert first.rendered == N
        t.install(first)
        await pilot.pause()
        same = t.prepare(fleet_rows())  # equal rows, new objects: what a refresh of a quiet fleet brings
        assert same.rendered == 0 and same.search == first.search
        changed = t.prepare(fleet_rows(bump=frozenset({7, 70, 7000})))
        assert changed.rendered == 3
        t.install(changed)
        assert t.set_filter("^8\\.0$") is None  # gpu00007's util moved from 7 to 8: its search text too
        assert "gpu00007" in {r["node"] for r in t.visible_rows} and t.row_count == 101
        # other columns: everything is rendered again (the memo belongs to the columns)
        other = t.prepare(fleet_rows(), columns=[Column("node", "NODE", 9)])
        assert other.rendered == N


async def test_install_keeps_the_cursor_on_its_row_and_drops_vanished_selection() -> None:
    app = TableApp(Counting())
    async with app.run_test(size=(60, 20)):
        t = app.query_one(VirtualTable)
        t.set_rows(fleet_rows())
        t.multi_select = True
        t.sort_by("node")
        assert t.move_to_key("gpu05000")
        t.selected |= {"gpu05000", "gpu09999"}
        t.install(t.prepare([r for r in fleet_rows() if r["node"] != "gpu09999"]))
        assert t.cursor_row is not None and t.cursor_row["node"] == "gpu05000"
        assert t.selected == {"gpu05000"}
        assert not t.move_to_key("gpu09999") and not t.move_to_key("no-such-node")


# ------------------------------------------------------------------ the one-pass filter
cells = st.text(alphabet="ab1\n \t.-éAİıſsKk", max_size=6)
rows_strategy = st.lists(st.tuples(cells, cells), min_size=0, max_size=12)
patterns = st.sampled_from(
    [
        "a",
        "^a",
        "a$",
        "^$",
        "b\\nb",
        "a\\s+b",
        "[^x]{3}",
        "",
        "a*",
        "\\A1",
        "1\\Z",
        "(?<=b)a",
        "(?<!\\n)a",
        "a(?=\\n)",
        "a(?!b)",
        "\\ba\\b",
        "é.",
        "(a|b)\\1",
        "1$\\n^a",
        ".",
        "\\n",
        "a\\nn1",  # runs from the end of one row into the next row's node name
        "b\\s+n",
        "1\\n*n\\d",
        # plain characters (the str.find path over the case-folded text)
        "A",
        "ab",
        "b-1",
        "s",
        "S",
        "i",
        "I",
        "k",
        "n1",
        "a b",
    ]
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=rows_strategy, pattern=patterns)
def test_the_one_pass_filter_matches_exactly_what_a_per_row_search_matches(rows, pattern) -> None:
    data = [{"node": f"n{i}", "x": a, "y": b} for i, (a, b) in enumerate(rows)]
    table = VirtualTable([Column("node", "N", 4), Column("x", "X", 4), Column("y", "Y", 4)], key="node")
    prepared: PreparedRows = table.prepare(data)
    rx = re.compile(pattern, _FLAGS)
    assert _rows_matching(prepared, rx) == [rx.search(s) is not None for s in prepared.search]


@pytest.mark.parametrize("seed", range(6))
def test_many_matching_rows_hand_over_to_a_per_row_search_with_the_same_answer(seed: int) -> None:
    """Past _DENSE matching rows the scan searches the rest row by row: same rows either way,
    for plain and regex patterns, dense, sparse and in between (hits land before, at and after
    the hand-over)."""
    rnd = random.Random(seed)
    words = ["idle", "drained", "ALLOC", "mix", "İdle", "ſtate", "a\nb", "", "xid 79", "gpu-1"]
    data = [
        {"node": f"gpu{i:05d}", "state": rnd.choice(words), "note": rnd.choice(words)}
        for i in range(rnd.randint(_DENSE - 3, 5 * _DENSE))
    ]
    table = VirtualTable([Column("node", "N", 9), Column("state", "S", 8), Column("note", "T", 8)], key="node")
    prepared = table.prepare(data)
    for pattern in [
        "g",
        "gpu",
        "i",
        "idle",
        "s",
        "STATE",
        "alloc",
        "d$",
        "^gpu0000",
        "b\\ngpu",
        "xid 7",
        "[0-4]$",
        "zz",
    ]:
        rx = re.compile(pattern, _FLAGS)
        assert _rows_matching(prepared, rx) == [rx.search(s) is not None for s in prepared.search], pattern


class CountingPattern:
    """A compiled pattern that counts its searches (the filter's Python-level steps)."""

    def __init__(self, pattern: str) -> None:
        self.rx = re.compile(pattern, _FLAGS)
        self.pattern = self.rx.pattern
        self.searches = 0

    def search(self, text: str, pos: int = 0):  # noqa: ANN201
        self.searches += 1
        return self.rx.search(text, pos)


@pytest.mark.parametrize(
    ("pattern", "hits", "most"),
    [
        ("gpu0001", 10, 0),  # plain: str.find over the folded text, no regex search at all
        ("GPU0999", 10, 0),
        ("drained", N // 10, 0),  # plain, 1 row in 10: still str.find
        ("gpu", N, None),  # plain and dense: per-row searches past _DENSE
        ("gpu0001\\d", 10, 11),  # a regex, sparse: one search per matching row, plus the miss
        ("^gpu0[0-9]*7$", N // 10, N // 10 + 1),  # 1 row in 10: one search per matching row
        ("zzz", 0, 1),
    ],
)
def test_a_filter_keystroke_searches_once_per_matching_row_not_per_row(pattern: str, hits: int, most) -> None:  # noqa: ANN001
    """Counted, not timed: a sparse filter over 10,000 rows costs a search per matching row (none
    for plain characters); a dense one (over 1 row in 3) hands over to a per-row search after _DENSE
    matching rows."""
    table = VirtualTable([Column("node", "NODE", 9), Column("state", "STATE", 8)], key="node")
    prepared = table.prepare(fleet_rows())
    counting = CountingPattern(pattern)
    hit = _rows_matching(prepared, counting)  # type: ignore[arg-type]
    assert hit == [counting.rx.search(s) is not None for s in prepared.search]
    assert sum(hit) == hits
    if most is not None:
        assert counting.searches <= most
    else:
        assert counting.searches <= N - _DENSE + 1 and counting.searches >= N // 2  # handed over, once


def test_case_folding_for_plain_patterns_is_the_regex_engines_for_every_character() -> None:
    """The plain-pattern path folds the rows' text with ``_FOLD`` + ``lower``; for every character
    that IGNORECASE makes equal to an ASCII letter or digit, folding yields that letter, and for
    no other character (so ``str.find`` finds what the regex finds)."""
    ascii_alnum = re.compile("[a-z0-9]", re.IGNORECASE)
    wrong = []
    for cp in range(0x110000):
        ch = chr(cp)
        if 0xD800 <= cp <= 0xDFFF:
            continue
        folded = ch.translate(_FOLD).lower()
        equal_to_ascii = ascii_alnum.fullmatch(ch) is not None
        folds_to_ascii = len(folded) == 1 and folded.isascii() and folded.isalnum()
        same = equal_to_ascii == folds_to_ascii and (not equal_to_ascii or re.fullmatch(folded, ch, re.IGNORECASE))
        if not same:
            wrong.append(hex(cp))
    assert wrong == []


# ------------------------------------------------------------------ the fleet screen
async def test_the_fleet_screen_prepares_rows_off_the_event_loop(config, monkeypatch) -> None:
    threads: list[int] = []
    installs: list[int] = []
    prepare, install = VirtualTable.prepare, VirtualTable.install

    def spy_prepare(self, rows, columns=None):  # noqa: ANN001, ANN202
        threads.append(threading.get_ident())
        return prepare(self, rows, columns)

    def spy_install(self, prepared):  # noqa: ANN001, ANN202
        installs.append(threading.get_ident())
        return install(self, prepared)

    monkeypatch.setattr(VirtualTable, "prepare", spy_prepare)
    monkeypatch.setattr(VirtualTable, "install", spy_install)
    app = DcopsApp(config(), principal="unix:alice")
    async with app.run_test(size=SIZE) as pilot:
        loop_thread = threading.get_ident()
        await wait_for(
            pilot,
            lambda: (
                isinstance(app.screen, FleetScreen)
                and app.screen.query_one("#fleet-table", VirtualTable).total_count == 64
                and "loading" not in str(app.screen.query_one("#fleet-summary").render())
            ),
            what="the fleet to load",
        )
        fleet_prepares = [t for t in threads if t != loop_thread]
        assert len(fleet_prepares) >= 1  # the fleet's rows: on a worker thread
        assert installs and set(installs) == {loop_thread}  # swapped in on the event loop


async def test_a_large_load_runs_without_the_collector_and_gives_it_back(config, monkeypatch) -> None:
    """The fleet's full collections stalled typing for ~200 ms each; a large load runs without the
    collector, and gets it back (after one collection, at a pause in typing) when it is done."""
    import gc

    from dcops.console.tui.screens import fleet as fleet_screen

    monkeypatch.setattr(fleet_screen, "FREEZE_FROM", 1)  # the 64-node lab fleet counts as large
    monkeypatch.setattr(fleet_screen, "GC_IDLE", 0.2)
    collector_on: list[bool] = []
    prepare = VirtualTable.prepare

    def spy(self, rows, columns=None):  # noqa: ANN001, ANN202
        collector_on.append(gc.isenabled())
        return prepare(self, rows, columns)

    monkeypatch.setattr(VirtualTable, "prepare", spy)
    app = DcopsApp(config(), principal="unix:alice")
    try:
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(
                pilot,
                lambda: (
                    isinstance(app.screen, FleetScreen)
                    and "loading" not in str(app.screen.query_one("#fleet-summary").render())
                ),
                what="the fleet to load",
            )
            assert collector_on and not any(collector_on)
            await wait_for(pilot, gc.isenabled, what="the collector to be given back")
            assert app.screen._gc_due is None
    finally:
        gc.enable()
        gc.unfreeze()


async def test_typing_through_refreshes_does_not_put_the_collection_off_forever(config, monkeypatch) -> None:
    """A collection waiting for a pause in typing keeps the deadline of the first load it waits
    for: a refresh that starts and ends meanwhile does not push it back, and the collector comes
    back by that deadline even with no pause at all."""
    import gc

    from dcops.console.tui.screens import fleet as fleet_screen

    monkeypatch.setattr(fleet_screen, "FREEZE_FROM", 1)
    monkeypatch.setattr(FleetScreen, "_last_key", float("inf"))  # the operator never stops typing
    monkeypatch.setattr(fleet_screen, "GC_MAX_DEFER", 4.0)
    app = DcopsApp(config(), principal="unix:alice")
    try:
        async with app.run_test(size=SIZE) as pilot:
            screen = app.screen
            assert isinstance(screen, FleetScreen)

            def loaded() -> bool:
                return screen._gc_due is not None and not screen._loading

            await wait_for(pilot, loaded, what="the first load to end with a collection waiting")
            first_due = screen._gc_due
            assert not gc.isenabled()
            loads: list[float | None] = []
            original = FleetScreen.load

            async def load(self) -> None:  # noqa: ANN001
                await original(self)
                loads.append(self._gc_due)

            monkeypatch.setattr(FleetScreen, "load", load)
            screen.reload()
            await wait_for(pilot, lambda: bool(loads), what="the refresh to end")
            assert loads[0] is None or loads[0] == first_due  # kept (or already collected), never later
            await wait_for(pilot, gc.isenabled, what="the collector back by the first deadline")
            assert screen._gc_due is None
    finally:
        gc.enable()
        gc.unfreeze()

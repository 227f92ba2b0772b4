"""A virtualised table on Textual's line API: only the rows on screen are ever rendered.

Why not the stock DataTable: with 10,000 rows it needs ~1 s to mount and ~1 s to re-filter
(measured, see docs/lab.md, Textual), almost all of it measuring every cell. Here columns have fixed widths,
filtering is one regex pass over a precomputed search string per row, and ``render_line`` draws
just the visible lines (with a small cache), so a keystroke costs a few milliseconds whatever the
fleet size. The same widget serves every table in the console (fleet, jobs, runs, audit,
approvals), which is what makes ``/`` filtering, sorting and multi-select behave the same
everywhere.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from itertools import accumulate
from typing import Any, ClassVar

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import BindingType
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from dcops.actions.safe_text import printable

from ..bindings import table_bindings

Row = Mapping[str, Any]
# Cells are searched as lines of one string: ^ and $ anchor at each cell, case is ignored.
_FLAGS = re.IGNORECASE | re.MULTILINE
# A cell renders to its text and a tone name ("ok", "warn", "bad", "muted", "accent" or None).
Cell = tuple[str, str | None]


def _plain(value: Any, row: Row) -> Cell:
    return ("" if value is None else str(value), None)


def _natural_key(value: Any) -> tuple:
    """Sort None last, numbers as numbers, and node names naturally (gpu2 before gpu10)."""
    if value is None or value == "":
        return (2, ())
    if isinstance(value, (int, float)):
        return (0, (float(value),))
    if isinstance(value, (list, tuple)):
        return (1, (str(value),))
    parts = re.split(r"(\d+)", str(value).lower())
    return (1, tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts))


@dataclass(frozen=True)
class Column:
    """One column: the row key it shows, a header, a fixed width, and how to render and sort it."""

    key: str
    label: str
    width: int
    render: Callable[[Any, Row], Cell] = _plain
    align: str = "left"
    sort_key: Callable[[Any], Any] = _natural_key
    searchable: bool = True


FLEX_MIN = 10  # a flexible column (reason, summary, detail) shrinks to this before columns are hidden


def fit_columns(
    columns: Sequence[Column], width: int, drop_first: Sequence[str] = (), flex: str | None = None
) -> list[Column]:
    """The columns to show in ``width`` cells, important ones first: the ``flex`` column gives up
    half its width first, then columns named in ``drop_first`` are hidden in that order until the
    rest fit, then the flex column shrinks to FLEX_MIN if it must; whatever width is left goes to
    the flex column (a summary stays readable before a timestamp column is kept). Columns not named
    are never hidden (the table scrolls sideways if even they do not fit). ``flex="*"``: the widest
    left-aligned column (tables of any read action, whose columns are not known in advance)."""
    cols = list(columns)
    grow = flex != "*"  # a column picked for being wide only shrinks: it did not ask for room
    if flex == "*":
        text = [c for c in cols if c.align == "left"]
        flex = max(text, key=lambda c: c.width).key if text else None

    def total() -> int:
        return sum(c.width + 1 for c in cols)

    def resize_flex(new_width: int) -> None:
        for i, c in enumerate(cols):
            if c.key == flex:
                cols[i] = replace(c, width=new_width)

    flexible = next((c for c in cols if c.key == flex), None)
    if flexible is not None and total() > width:
        floor = max(min(FLEX_MIN, flexible.width), flexible.width // 2)
        resize_flex(max(floor, flexible.width - (total() - width)))
    for key in drop_first:
        if total() <= width:
            break
        cols = [c for c in cols if c.key != key]
    flexible = next((c for c in cols if c.key == flex), None)
    if flexible is not None and total() > width:
        resize_flex(max(min(FLEX_MIN, flexible.width), flexible.width - (total() - width)))
        flexible = next(c for c in cols if c.key == flex)
    if flexible is not None and grow and total() < width:
        resize_flex(flexible.width + width - total())
    return cols


# Patterns whose meaning depends on what lies outside the match (string edges, look-around) are
# tested row by row; every other pattern scans all rows' text at once (see _rows_matching).
_CONTEXTUAL = re.compile(r"\\[AZ]|\(\?<?[=!]")
# A pattern of plain characters only (no regex syntax: what an operator types most, a node name, a
# state, a word) is found with ``str.find`` in the rows' case-folded text: a substring search in C
# instead of the regex engine's case-blind scan, which tries every position (~10 ms over 10,000
# fleet rows, per keystroke).
_LITERAL = re.compile(r"[A-Za-z0-9 _\-:,;/=@%#!~'\"<>&]+")
# Case-folding as the regex engine's IGNORECASE does it for ASCII letters: ``str.lower`` plus the
# three characters it treats as equal to an ASCII letter that ``lower`` does not map to one
# (dotted/dotless i, long s); U+0130's full lowercase is two characters, its simple one is "i".
_FOLD = str.maketrans({"\u0130": "i", "\u0131": "i", "\u017f": "s"})
# After this many matching rows, if over 1 in 3 rows matched, the scan stops jumping row by row
# through the text (one Python step per matching row) and searches the remaining rows one by one in
# C (``map``): a pattern that matches most rows ("g", "^gpu") costs ~1.3 ms instead of 5-9 ms at
# 10,000 fleet rows; below that density the jumps are the cheaper way.
_DENSE = 64


def _folded(text: str) -> str | None:
    """``text`` case-folded for the literal search, or None when folding would change its length
    (the rows' start offsets would no longer apply)."""
    folded = text.translate(_FOLD).lower()
    return folded if len(folded) == len(text) else None


@dataclass(frozen=True)
class PreparedRows:
    """Rows made ready for the table, by :meth:`VirtualTable.prepare` (which may run on a worker
    thread) for :meth:`VirtualTable.install` (on the event loop, in one call). Everything that
    costs a pass over every row is here: the search text (reused for rows that did not change),
    the sort order and the text the filter scans."""

    rows: list[Row]
    search: list[str]
    columns: tuple[Column, ...]  # the columns the search text was rendered with
    sort: tuple[str | None, bool]
    order: list[int]  # row indices in that sort order
    text: str  # every row's search text, one after another, "\n" between rows
    starts: list[int]  # where each row's search text starts in ``text``
    folded: str | None  # ``text`` case-folded (same offsets) for patterns of plain characters
    memo: dict[Any, tuple[Row, str]] = field(repr=False)  # row key -> (row, its search text)
    rendered: int = 0  # rows whose search text was rendered (not reused)


def _rows_matching(prepared: PreparedRows, pattern: re.Pattern[str]) -> list[bool]:
    """Which rows ``pattern`` finds in: one scan over all rows' text instead of a search per row
    (10,000 Python calls per keystroke). A match that runs over into the next row is checked on its
    own row's text alone, and the scan goes on from the next row's start, so the answer is exactly
    the per-row search's; patterns that look outside their match (``\\A``, ``\\Z``, look-around) are
    searched row by row. Plain characters are found with ``str.find`` in the case-folded text (a
    plain pattern cannot span rows: it has no newline). Once ``_DENSE`` rows matched, and over 1 in
    3 of those scanned, the rest are searched row by row in C."""
    search, n = prepared.search, len(prepared.search)
    if n == 0:
        return []
    if _CONTEXTUAL.search(pattern.pattern):
        return [m is not None for m in map(pattern.search, search)]
    hit = [False] * n
    starts, find = prepared.starts, pattern.search
    literal = prepared.folded is not None and _LITERAL.fullmatch(pattern.pattern) is not None
    text = prepared.folded if literal and prepared.folded is not None else prepared.text
    needle = pattern.pattern.lower()
    pos, found = 0, 0
    while pos <= len(text):
        if literal:
            at = text.find(needle, pos)
            if at < 0:
                break
            row = bisect_right(starts, at) - 1
            hit[row] = True
        else:
            m = find(text, pos)
            if m is None:
                break
            row = bisect_right(starts, m.start()) - 1
            hit[row] = m.end() <= starts[row] + len(search[row]) or find(search[row]) is not None
        if row + 1 >= n:
            break
        found += 1
        if found >= _DENSE and found * 3 > row:  # dense: over 1 in 3 rows so far matched
            hit[row + 1 :] = [m is not None for m in map(find, search[row + 1 :])]
            break
        pos = starts[row + 1]
    return hit


class VirtualTable(ScrollView, can_focus=True):
    """Rows of dicts, a fixed header, a cursor, multi-select, regex filter and sort."""

    BINDINGS: ClassVar[list[BindingType]] = table_bindings()

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "vtable--header",
        "vtable--cursor",
        "vtable--selected",
        "vtable--row",
    }

    DEFAULT_CSS = """
    VirtualTable { background: $surface; height: 1fr; }
    VirtualTable > .vtable--header { text-style: bold; background: $panel; color: $foreground; }
    VirtualTable > .vtable--row { color: $foreground; }
    VirtualTable > .vtable--cursor { background: $primary 40%; }
    VirtualTable:focus > .vtable--cursor { background: $primary 70%; text-style: bold; }
    VirtualTable > .vtable--selected { background: $secondary 35%; }
    """

    cursor = reactive(0, always_update=True, init=False)

    class Highlighted(Message):
        def __init__(self, table: VirtualTable, row: Row | None) -> None:
            super().__init__()
            self.table, self.row = table, row

        @property
        def control(self) -> VirtualTable:
            return self.table

    class Activated(Message):
        """Enter (or a double click) on a row."""

        def __init__(self, table: VirtualTable, row: Row) -> None:
            super().__init__()
            self.table, self.row = table, row

        @property
        def control(self) -> VirtualTable:
            return self.table

    class SelectionChanged(Message):
        def __init__(self, table: VirtualTable, count: int) -> None:
            super().__init__()
            self.table, self.count = table, count

        @property
        def control(self) -> VirtualTable:
            return self.table

    def __init__(
        self,
        columns: Sequence[Column],
        *,
        key: str,
        multi_select: bool = False,
        drop_first: Sequence[str] = (),
        flex: str | None = None,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        """``drop_first``/``flex``: how the columns fit a narrow terminal (:func:`fit_columns`);
        hidden columns are still searched by ``/`` and shown by the row's detail view."""
        super().__init__(name=name, id=id, classes=classes)
        self.columns = list(columns)
        self.drop_first, self.flex = tuple(drop_first), flex
        self.shown_columns = list(columns)
        self.row_key = key
        self.multi_select = multi_select
        self._rows: list[Row] = []
        self._search: list[str] = []
        self._prepared: PreparedRows | None = None
        self._keys: dict[Any, int] = {}  # row key -> row index
        self._order: list[int] = []  # row indices in sort order
        self._view: list[int] = []  # sorted and filtered
        self._filter_text = ""
        self.selected: set[str] = set()
        self.sort_column: str | None = None
        self.sort_reverse = False
        self._strip_cache: LRUCache[tuple, Strip] = LRUCache(2048)
        self._tones: dict[str, Style] = {}
        self._width = sum(c.width + 1 for c in self.columns) + 2
        self._room = 0  # cells the columns may use; 0 until the first resize

    # ------------------------------------------------------------------ fitting the terminal
    @property
    def hidden_columns(self) -> list[Column]:
        shown = {c.key for c in self.shown_columns}
        return [c for c in self.columns if c.key not in shown]

    def _refit(self) -> None:
        self.shown_columns = (
            fit_columns(self.columns, self._room, self.drop_first, self.flex) if self._room > 0 else list(self.columns)
        )
        self._width = sum(c.width + 1 for c in self.shown_columns) + 2
        self._strip_cache.clear()

    def on_resize(self, event: events.Resize) -> None:
        room = event.size.width - 2 - self.styles.scrollbar_size_vertical  # the marker, the scrollbar
        if room != self._room:
            self._room = room
            self._refit()
            self._resize_virtual(Size(self._width, len(self._view) + 1))
            self.refresh()

    # ------------------------------------------------------------------ data
    @property
    def row_count(self) -> int:
        """Rows shown (after the filter)."""
        return len(self._view)

    @property
    def total_count(self) -> int:
        return len(self._rows)

    @property
    def all_rows(self) -> list[Row]:
        """Every row, whatever the filter."""
        return list(self._rows)

    @property
    def visible_rows(self) -> list[Row]:
        return [self._rows[i] for i in self._view]

    @property
    def cursor_row(self) -> Row | None:
        if 0 <= self.cursor < len(self._view):
            return self._rows[self._view[self.cursor]]
        return None

    @property
    def filter_text(self) -> str:
        return self._filter_text

    def set_columns(self, columns: Sequence[Column]) -> None:
        self.columns = list(columns)
        self._refit()
        self.set_rows(self._rows)

    def set_rows(self, rows: Iterable[Row]) -> None:
        """Replace the data, keeping sort, filter, selection and the cursor's row where possible."""
        self.install(self.prepare(rows))

    def prepare(self, rows: Iterable[Row], columns: Sequence[Column] | None = None) -> PreparedRows:
        """The pass over every row that a reload costs, without touching the widget: safe on a
        worker thread (it reads the columns, the sort and the last rows, and replaces nothing), so
        a 10,000-row reload does not hold the event loop. A row equal to the one shown under its key
        keeps its search text (a refresh re-renders only the rows that changed). ``columns``: the
        columns to show them with (:meth:`install` switches to them), by default the current ones."""
        rows = list(rows)
        columns = tuple(self.columns if columns is None else columns)
        sort = (self.sort_column, self.sort_reverse)
        last = self._prepared
        old = last.memo if last is not None and last.columns == columns else {}
        searchable = [c for c in columns if c.searchable]
        search: list[str] = []
        memo: dict[Any, tuple[Row, str]] = {}
        rendered = 0
        key = self.row_key
        for r in rows:
            k = r[key]
            seen = old.get(k)
            if seen is not None and seen[0] == r:
                text = seen[1]
            else:
                text = "\n".join(c.render(r.get(c.key), r)[0] for c in searchable)
                rendered += 1
            search.append(text)
            memo[k] = (r, text)
        starts = [0, *accumulate(len(t) + 1 for t in search)][: len(search)]
        text = "\n".join(search)
        return PreparedRows(
            rows=rows,
            search=search,
            columns=columns,
            sort=sort,
            order=self._sorted(rows, columns, *sort),
            text=text,
            starts=starts,
            folded=_folded(text),
            memo=memo,
            rendered=rendered,
        )

    def install(self, prepared: PreparedRows) -> None:
        """Show rows made by :meth:`prepare`, in one step on the event loop: no pass over the rows
        here but the filter's scan (and the sort, if it changed since)."""
        if prepared.columns != tuple(self.columns):
            self.columns = list(prepared.columns)
            self._refit()
        with self._cursor_kept():
            self._prepared = prepared
            self._rows, self._search = prepared.rows, prepared.search
            self._keys = {r[self.row_key]: i for i, r in enumerate(self._rows)} if self._rows else {}
            self.selected.intersection_update(self._keys)
            self._strip_cache.clear()
            if prepared.sort == (self.sort_column, self.sort_reverse):
                self._order = prepared.order
            else:
                self._apply_sort()
            self._apply_filter()

    @contextmanager
    def _cursor_kept(self) -> Iterator[None]:
        """Keep the cursor on its row (not its position) across a reload, re-sort or re-filter."""
        current = self.cursor_row
        yield
        if current is not None and not self.move_to_key(current[self.row_key]):
            self.cursor = min(self.cursor, max(len(self._view) - 1, 0))

    def move_to_key(self, key: Any) -> bool:
        idx = self._keys.get(key)
        if idx is None:
            return False
        try:
            self.cursor = self._view.index(idx)  # a scan in C, not 10,000 Python steps per keystroke
        except ValueError:
            return False
        return True

    def sort_by(self, column: str, reverse: bool | None = None) -> None:
        if column not in {c.key for c in self.columns}:
            return
        if reverse is None:
            reverse = (not self.sort_reverse) if column == self.sort_column else False
        self.sort_column, self.sort_reverse = column, reverse
        with self._cursor_kept():
            self._apply_sort()
            self._apply_filter()

    def cycle_sort(self) -> None:
        keys = [c.key for c in self.shown_columns]
        nxt = keys[(keys.index(self.sort_column) + 1) % len(keys)] if self.sort_column in keys else keys[0]
        self.sort_by(nxt, reverse=False)

    def set_filter(self, text: str) -> str | None:
        """Filter rows by regex (case-insensitive, ``^``/``$`` anchor at cell edges); a leading
        ``!`` keeps the rows that do NOT match. Returns a one-line error for a bad pattern (and keeps the previous filter)."""
        pattern = text[1:] if text.startswith("!") else text
        try:
            re.compile(pattern, _FLAGS)
        except re.error as exc:
            return f"bad filter pattern {pattern!r}: {exc}"
        self._filter_text = text
        with self._cursor_kept():
            self._apply_filter()
        return None

    def _apply_sort(self) -> None:
        self._order = self._sorted(self._rows, self.columns, self.sort_column, self.sort_reverse)

    @staticmethod
    def _sorted(rows: Sequence[Row], columns: Sequence[Column], column: str | None, reverse: bool) -> list[int]:
        order = list(range(len(rows)))
        col = next((c for c in columns if c.key == column), None)
        if col is not None:
            key = col.sort_key
            keys = [key(r.get(col.key)) for r in rows]
            order.sort(key=keys.__getitem__, reverse=reverse)
        return order

    def _apply_filter(self) -> None:
        text = self._filter_text
        invert = text.startswith("!")
        pattern = text[1:] if invert else text
        if not pattern:
            self._view = list(self._order)
        elif self._prepared is None:
            self._view = []
        else:
            hit = _rows_matching(self._prepared, re.compile(pattern, _FLAGS))
            self._view = [i for i in self._order if hit[i] is not invert]
        # the line cache stays: a line's text depends on its row, cursor and selection, not on the filter
        self._resize_virtual(Size(self._width, len(self._view) + 1))
        self.cursor = min(self.cursor, max(len(self._view) - 1, 0))
        self.refresh()

    def _resize_virtual(self, size: Size) -> None:
        """Set the virtual size, without a layout pass over the whole screen when the scrollbars
        stay as they are. ``virtual_size`` is a layout reactive: assigning it re-arranges and
        repaints every widget of the screen, which at a keystroke per filter change is most of the
        cost of a repaint; only the scrollbars really depend on it."""
        old = self.virtual_size
        if size == old:
            return
        height = self.container_size.height
        bars_stay = old.width == size.width and (old.height > height) == (size.height > height)
        if bars_stay and self.is_mounted and height:
            self.set_reactive(VirtualTable.virtual_size, size)
            self._scroll_update(size)
            self.refresh()
        else:
            self.virtual_size = size

    # ------------------------------------------------------------------ selection
    def toggle_selected(self) -> None:
        row = self.cursor_row
        if row is None or not self.multi_select:
            return
        key = row[self.row_key]
        self.selected.symmetric_difference_update({key})
        self._strip_cache.clear()
        self.refresh()
        self.post_message(self.SelectionChanged(self, len(self.selected)))

    def select_all_visible(self) -> None:
        if not self.multi_select:
            return
        self.selected |= {self._rows[i][self.row_key] for i in self._view}
        self._strip_cache.clear()
        self.refresh()
        self.post_message(self.SelectionChanged(self, len(self.selected)))

    def clear_selection(self) -> None:
        self.selected.clear()
        self._strip_cache.clear()
        self.refresh()
        self.post_message(self.SelectionChanged(self, 0))

    def target_keys(self) -> list[Any]:
        """What an action applies to: the selected rows, else the row under the cursor."""
        if self.selected:
            return [r[self.row_key] for r in self._rows if r[self.row_key] in self.selected]
        row = self.cursor_row
        return [row[self.row_key]] if row is not None else []

    # ------------------------------------------------------------------ cursor and keys
    def watch_cursor(self, old: int, new: int) -> None:
        self._scroll_cursor_into_view()
        self.refresh()
        self.post_message(self.Highlighted(self, self.cursor_row))

    def _scroll_cursor_into_view(self) -> None:
        body = max(self.scrollable_content_region.height - 1, 1)
        y = self.scroll_offset.y
        if self.cursor < y:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif self.cursor > y + body - 1:
            self.scroll_to(y=self.cursor - body + 1, animate=False, immediate=True)

    def _move(self, delta: int) -> None:
        if self._view:
            self.cursor = max(0, min(len(self._view) - 1, self.cursor + delta))

    def action_cursor_down(self) -> None:
        self._move(1)

    def action_cursor_up(self) -> None:
        self._move(-1)

    def action_page_down(self) -> None:
        self._move(max(self.scrollable_content_region.height - 2, 1))

    def action_page_up(self) -> None:
        self._move(-max(self.scrollable_content_region.height - 2, 1))

    def action_first(self) -> None:
        self.cursor = 0

    def action_last(self) -> None:
        self.cursor = max(len(self._view) - 1, 0)

    def action_toggle_select(self) -> None:
        self.toggle_selected()
        self._move(1)

    def action_select_all(self) -> None:
        self.select_all_visible()

    def action_clear_selection(self) -> None:
        self.clear_selection()

    def action_activate(self) -> None:
        row = self.cursor_row
        if row is not None:
            self.post_message(self.Activated(self, row))

    def action_cycle_sort(self) -> None:
        self.cycle_sort()

    def action_reverse_sort(self) -> None:
        if self.sort_column:
            self.sort_by(self.sort_column, reverse=not self.sort_reverse)

    async def _on_click(self, event: events.Click) -> None:
        x = event.x + self.scroll_offset.x - 2
        if event.y == 0:
            pos = 0
            for col in self.shown_columns:
                if pos <= x < pos + col.width + 1:
                    self.sort_by(col.key)
                    return
                pos += col.width + 1
            return
        row = self.scroll_offset.y + event.y - 1
        if 0 <= row < len(self._view):
            self.cursor = row
            if event.chain == 2:
                self.action_activate()

    # ------------------------------------------------------------------ rendering
    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._tones.clear()
        self._strip_cache.clear()

    def _tone(self, tone: str | None) -> Style:
        if tone is None:
            return Style()
        style = self._tones.get(tone)
        if style is None:
            variables = self.app.theme_variables
            color = {
                "ok": "success",
                "warn": "warning",
                "bad": "error",
                "accent": "accent",
                "primary": "primary",
                "muted": "muted",
            }.get(tone, "foreground")
            bold = tone in ("bad",)
            style = Style(color=variables.get(color, variables.get("foreground")), bold=bold)
            self._tones[tone] = style
        return style

    def _cells(self, row: Row, base: Style, marker: str) -> list[Segment]:
        segs = [Segment(marker + " ", base)]
        for col in self.shown_columns:
            text, tone = col.render(row.get(col.key), row)
            text = printable(text)  # user text never drives the terminal or splits a row
            w = col.width
            if len(text) > w:
                text = text[: max(w - 1, 0)] + "…"
            text = text.rjust(w) if col.align == "right" else text.ljust(w)
            segs.append(Segment(text + " ", base + self._tone(tone) if tone else base))
        return segs

    def _header_segments(self, base: Style) -> list[Segment]:
        segs = [Segment("  ", base)]
        for col in self.shown_columns:
            label = col.label
            if col.key == self.sort_column:
                label += " ▼" if self.sort_reverse else " ▲"
            label = label[: col.width]
            segs.append(
                Segment((label.rjust(col.width) if col.align == "right" else label.ljust(col.width)) + " ", base)
            )
        return segs

    def _fit(self, segments: list[Segment], base: Style, sx: int, width: int) -> Strip:
        """One Strip of exactly ``width`` cells from ``sx``. Built once with its length given:
        every Strip construction allocates caches, and this runs for every visible line."""
        total = self._width
        if total < sx + width:
            segments.append(Segment(" " * (sx + width - total), base))
            total = sx + width
        strip = Strip(segments, total)
        return strip if sx == 0 and total == width else strip.crop(sx, sx + width)

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        sx = self.scroll_offset.x
        if y == 0:
            base = self.get_component_rich_style("vtable--header")
            return self._fit(self._header_segments(base), base, sx, width)
        pos = self.scroll_offset.y + y - 1
        if pos >= len(self._view):
            return Strip.blank(width, self.rich_style)
        idx = self._view[pos]
        row = self._rows[idx]
        is_cursor = pos == self.cursor
        is_selected = row[self.row_key] in self.selected
        cache_key = (idx, is_cursor, is_selected, self.has_focus, sx, width)
        strip = self._strip_cache.get(cache_key)
        if strip is None:
            base = self.get_component_rich_style("vtable--row")
            if is_selected:
                base += self.get_component_rich_style("vtable--selected")
            if is_cursor:
                base += self.get_component_rich_style("vtable--cursor")
            marker = "●" if is_selected else " "
            strip = self._fit(self._cells(row, base, marker), base, sx, width)
            self._strip_cache[cache_key] = strip
        return strip

    def _on_focus(self, event: events.Focus) -> None:
        self._strip_cache.clear()
        self.refresh()

    def _on_blur(self, event: events.Blur) -> None:
        self._strip_cache.clear()
        self.refresh()

"""Tables as HTML for Jupyter's ``_repr_html_`` — escaped, capped, no pandas.

pandas would give ``DataFrame._repr_html_`` for free but is a 60 MB dependency for one method;
a table here is columns + rows of plain values, which ``html.escape`` renders safely (a node name
or a reason typed by someone else can never inject markup into the notebook)."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

MAX_ROWS = 500


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return escape(str(value))


def table(columns: Sequence[str], rows: Sequence[Sequence[Any]], *, caption: str = "") -> str:
    shown = rows[:MAX_ROWS]
    head = "".join(f"<th>{escape(str(c))}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{_cell(v)}</td>" for v in row) + "</tr>" for row in shown)
    more = (
        f"<tr><td colspan='{len(columns)}'><i>… {len(rows) - MAX_ROWS} more rows (use .rows)</i></td></tr>"
        if len(rows) > MAX_ROWS
        else ""
    )
    cap = f"<caption style='text-align:left'>{escape(caption)}</caption>" if caption else ""
    return f"<table class='dcops'>{cap}<thead><tr>{head}</tr></thead><tbody>{body}{more}</tbody></table>"


def line(text: str, *, ok: bool = True) -> str:
    colour = "" if ok else " style='color:#c62828'"
    return f"<p class='dcops'{colour}>{escape(text)}</p>"
